// The command encoder: parts to wire segments and to redacted trace text.
#include "protocol/command.hpp"

#include "protocol/quote.hpp"

#include <stdexcept>

namespace oimap::protocol {

namespace {

bool has_line_break_or_nul(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

void require_clean(std::string_view s, const char* what) {
  if (has_line_break_or_nul(s))
    throw std::invalid_argument(std::string(what) + " must not contain CR, LF or NUL");
}

} // namespace

command::command(std::string_view name) : name_(name) {
  require_clean(name, "command name");
}

command& command::add_string(std::string_view s, bool allow_atom, bool sensitive,
                             std::string_view label) {
  part p;
  p.sensitive = sensitive;
  p.label = std::string(label);
  switch (choose_form(s, allow_atom)) {
  case string_form::atom:
    p.bytes = std::string(s);
    break;
  case string_form::quoted:
    p.bytes = quote(s);
    break;
  case string_form::literal:
    p.type = part::kind::literal;
    p.bytes = std::string(s);
    break;
  }
  parts_.push_back(std::move(p));
  return *this;
}

command& command::atom(std::string_view s) {
  if (is_atom(s)) {
    parts_.push_back({part::kind::text, std::string(s), false, {}});
    return *this;
  }
  return add_string(s, false, false, {});
}

command& command::astring(std::string_view s) {
  return add_string(s, true, false, {});
}
command& command::string(std::string_view s) {
  return add_string(s, false, false, {});
}

command& command::literal(std::string_view s) {
  parts_.push_back({part::kind::literal, std::string(s), false, {}});
  return *this;
}

command& command::number(std::uint64_t n) {
  parts_.push_back({part::kind::text, std::to_string(n), false, {}});
  return *this;
}

command& command::raw(std::string_view s) {
  require_clean(s, "raw command text");
  parts_.push_back({part::kind::text, std::string(s), false, {}});
  return *this;
}

// flag = "\Answered" / "\Flagged" / "\Deleted" / "\Seen" / "\Draft" /
//        flag-keyword / flag-extension
// flag-keyword = atom;  flag-extension = "\" atom
command& command::flag(std::string_view s) {
  const auto body = (!s.empty() && s[0] == '\\') ? s.substr(1) : s;
  if (!is_atom(body))
    throw std::invalid_argument("not an IMAP flag: " + std::string(s));
  parts_.push_back({part::kind::text, std::string(s), false, {}});
  return *this;
}

command& command::begin_list() {
  parts_.push_back({part::kind::open, "(", false, {}});
  return *this;
}

command& command::end_list() {
  parts_.push_back({part::kind::close, ")", false, {}});
  return *this;
}

command& command::secret(std::string_view s, std::string_view label) {
  return add_string(s, true, true, label);
}

command& command::secret_raw(std::string_view s, std::string_view label) {
  require_clean(s, "raw command text");
  parts_.push_back({part::kind::text, std::string(s), true, std::string(label)});
  return *this;
}

command& command::continuation(std::string_view line, bool sensitive, std::string_view label) {
  require_clean(line, "continuation line");
  parts_.push_back({part::kind::continuation, std::string(line), sensitive, std::string(label)});
  return *this;
}

encoded_command command::encode(std::string_view tag, literal_support lit) const {
  require_clean(tag, "tag");
  encoded_command out;
  out.tag = std::string(tag);
  std::string seg = out.tag + ' ' + name_;
  bool after_open = false;
  for (const auto& p : parts_) {
    if (p.type == part::kind::continuation) {
      seg += "\r\n";
      out.segments.push_back(std::move(seg));
      seg = p.bytes;
      after_open = false;
      continue;
    }
    if (!after_open && p.type != part::kind::close)
      seg += ' ';
    after_open = p.type == part::kind::open;
    if (p.type != part::kind::literal) {
      seg += p.bytes;
      continue;
    }
    // literal = "{" number64 ["+"] "}" CRLF *CHAR8   (RFC 7888 adds the "+")
    const auto n = static_cast<std::uint64_t>(p.bytes.size());
    const bool non_sync = lit.literal_plus || (lit.literal_minus && n <= literal_minus_max);
    seg += '{';
    seg += std::to_string(n);
    seg += non_sync ? "+}\r\n" : "}\r\n";
    if (!non_sync) {
      // The server must say "+" before it reads the literal's bytes.
      out.segments.push_back(std::move(seg));
      seg.clear();
    }
    seg += p.bytes;
  }
  seg += "\r\n";
  out.segments.push_back(std::move(seg));
  return out;
}

std::string command::redacted_text(std::string_view tag) const {
  std::string out = std::string(tag) + ' ' + name_;
  bool after_open = false;
  for (const auto& p : parts_) {
    if (p.type == part::kind::continuation) {
      out += "\r\n";
      out += p.sensitive ? p.label : p.bytes;
      after_open = false;
      continue;
    }
    if (!after_open && p.type != part::kind::close)
      out += ' ';
    after_open = p.type == part::kind::open;
    if (p.sensitive) {
      // The label alone: a literal's size would tell the password's length.
      out += p.label;
    } else if (p.type == part::kind::literal) {
      out += '{' + std::to_string(p.bytes.size()) + " bytes}";
    } else {
      out += p.bytes;
    }
  }
  return out;
}

command command::login(std::string_view user, std::string_view password) {
  command c("LOGIN");
  c.astring(user).secret(password);
  return c;
}

// authenticate = "AUTHENTICATE" SP auth-type [SP initial-resp] *(CRLF base64)
// initial-resp = (base64 / "=")                        (RFC 4959)
command command::authenticate(std::string_view mechanism, std::string_view client_response,
                              bool sasl_ir) {
  command c("AUTHENTICATE");
  c.atom(mechanism);
  // An empty response is "=" on the command line, an empty line after "+".
  const auto b64 = base64_encode(client_response);
  if (sasl_ir)
    c.secret_raw(b64.empty() ? "=" : b64);
  else
    c.continuation(b64);
  return c;
}

// message = [authzid] UTF8NUL authcid UTF8NUL passwd   (RFC 4616)
command command::authenticate_plain(std::string_view user, std::string_view password, bool sasl_ir,
                                    std::string_view authzid) {
  std::string msg;
  msg.reserve(authzid.size() + user.size() + password.size() + 2);
  msg += authzid;
  msg += '\0';
  msg += user;
  msg += '\0';
  msg += password;
  return authenticate("PLAIN", msg, sasl_ir);
}

tag_generator::tag_generator(std::string prefix) : prefix_(std::move(prefix)) {
  // tag = 1*<any ASTRING-CHAR except "+">; digits follow, so any atom works.
  if (!is_atom(prefix_) || prefix_.find('+') != std::string::npos)
    throw std::invalid_argument("invalid IMAP tag prefix: " + prefix_);
}

std::string tag_generator::next() {
  return prefix_ + std::to_string(++counter_);
}

std::string base64_encode(std::string_view bytes) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16)
                            | (static_cast<unsigned char>(bytes[i + 1]) << 8)
                            | static_cast<unsigned char>(bytes[i + 2]);
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2)
      v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += rest == 2 ? alphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

} // namespace oimap::protocol
