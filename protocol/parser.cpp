// The incremental IMAP response parser: a line/literal state machine.
//
// Bytes are cut into segments at LF. A segment is parsed once, when its LF
// arrives, so the work is linear in the input however it is split; bytes
// before that LF are only appended and scanned for LF once. A segment ending
// in a literal header ({n}) switches to literal mode, which copies (or
// streams) exactly n raw bytes without looking at them; the next segment then
// continues the same response where the previous one stopped. The state kept
// across segments is the response being built and the stack of open lists.
#include "protocol/parser.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

namespace oimap::protocol {

namespace {

bool is_ctl(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'a' && c <= 'z')
      c = static_cast<char>(c - 'a' + 'A');
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z')
      x = static_cast<char>(x - 'a' + 'A');
    if (y >= 'a' && y <= 'z')
      y = static_cast<char>(y - 'a' + 'A');
    if (x != y)
      return false;
  }
  return true;
}

// number64 = 1*DIGIT, fitting in 64 bits; false on overflow or non-digits.
bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty())
    return false;
  std::uint64_t n = 0;
  for (char c : s) {
    if (!is_digit(c))
      return false;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (n > (UINT64_MAX - d) / 10)
      return false;
    n = n * 10 + d;
  }
  out = n;
  return true;
}

// A short printable excerpt of the input at an error, so the message shows
// what the server sent without dumping a whole line into the log.
std::string excerpt(std::string_view s, std::size_t pos) {
  std::string out;
  const std::size_t end = std::min(s.size(), pos + 24);
  for (std::size_t i = std::min(pos, s.size()); i < end; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7f) {
      static const char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

bool is_status_word(std::string_view s) {
  return s == "OK" || s == "NO" || s == "BAD" || s == "BYE" || s == "PREAUTH";
}

} // namespace

struct response_parser::impl {
  enum class mode { line, literal, failed };

  // What parse_values stopped at.
  enum class scan { line_end, code_end, literal, error };

  struct literal_header {
    std::size_t start = 0; // offset of "{" or "~{" in the segment
    std::uint64_t size = 0;
  };

  parser_limits limits;
  literal_sink* sink = nullptr;
  std::uint64_t threshold = 0;

  mode state = mode::line;
  std::string line;              // bytes of the current segment, up to its LF
  std::size_t line_bytes = 0;    // non-literal bytes of this response before `line`
  std::uint64_t resp_offset = 0; // all bytes of this response before `line`
  bool in_data = false;          // a literal interrupted the data section
  response cur;
  std::vector<std::vector<value>*> stack; // open lists; [0] is cur.data

  std::uint64_t lit_size = 0;
  std::uint64_t lit_remaining = 0;
  literal_sink* lit_sink = nullptr; // sink of the literal in progress, or null
  std::string lit_buf;

  std::deque<response> ready;
  std::string error;

  explicit impl(parser_limits l) : limits(l) {}

  void clear_response() {
    cur = response{};
    stack.clear();
    in_data = false;
    line_bytes = 0;
    resp_offset = 0;
  }

  void complete() {
    ready.push_back(std::move(cur));
    clear_response();
  }

  // Records the first error; `pos` is an offset into the current segment.
  void fail(std::string_view seg, std::size_t pos, std::string_view what) {
    if (state == mode::failed)
      return;
    state = mode::failed;
    error =
        std::string(what) + " at byte " + std::to_string(resp_offset + pos) + " of the response";
    if (pos < seg.size())
      error += " near '" + excerpt(seg, pos) + "'";
  }

  status feed(std::string_view bytes, std::size_t& consumed, bool stop_after_one) {
    std::size_t i = 0;
    const std::size_t ready_before = ready.size();
    while (i < bytes.size() && state != mode::failed) {
      if (state == mode::literal) {
        const auto n =
            static_cast<std::size_t>(std::min<std::uint64_t>(lit_remaining, bytes.size() - i));
        const auto chunk = bytes.substr(i, n);
        if (lit_sink)
          lit_sink->data(chunk);
        else
          lit_buf.append(chunk);
        lit_remaining -= n;
        resp_offset += n;
        i += n;
        if (lit_remaining == 0)
          finish_literal();
        continue;
      }
      const void* lf = std::memchr(bytes.data() + i, '\n', bytes.size() - i);
      const std::size_t end =
          lf ? static_cast<std::size_t>(static_cast<const char*>(lf) - bytes.data()) + 1
             : bytes.size();
      // Checked before appending, so a server that never sends LF cannot
      // make the buffer grow past max_line.
      if (line_bytes + line.size() + (end - i) > limits.max_line) {
        // Reported at the first byte past the limit, wherever the feed split.
        fail({}, limits.max_line - line_bytes,
             "response longer than max_line (" + std::to_string(limits.max_line) + " bytes)");
        break;
      }
      line.append(bytes.substr(i, end - i));
      i = end;
      if (lf) {
        process_segment();
        if (stop_after_one && ready.size() > ready_before)
          break;
      }
    }
    consumed = state == mode::failed ? bytes.size() : i;
    return state == mode::failed ? status::error : status::ok;
  }

  void process_segment() {
    std::string_view seg = line;
    seg.remove_suffix(1); // LF
    // CRLF ends a response; a bare LF is tolerated.
    if (!seg.empty() && seg.back() == '\r')
      seg.remove_suffix(1);
    if (in_data)
      continue_data(seg, 0);
    else
      parse_start(seg);
    if (state == mode::failed)
      return;
    // The segment is consumed either way: complete() reset the offsets, or
    // the response continues after a literal.
    if (in_data) {
      resp_offset += line.size();
      line_bytes += line.size();
    }
    line.clear();
    if (line.capacity() > (1u << 20))
      line.shrink_to_fit(); // one huge line must not pin its buffer for the connection's life
    if (state == mode::literal && lit_remaining == 0)
      finish_literal(); // {0}: nothing to wait for
  }

  // response      = *(continue-req / response-data) response-done
  // continue-req  = "+" SP (resp-text / base64) CRLF
  // response-data = "*" SP (resp-cond-state / resp-cond-bye /
  //                 mailbox-data / message-data / capability-data) CRLF
  // response-tagged = tag SP resp-cond-state CRLF
  void parse_start(std::string_view seg) {
    if (seg.empty())
      return fail(seg, 0, "empty response line");
    if (seg[0] == '+') {
      cur.type = response::kind::continuation;
      auto rest = seg.substr(1);
      // "+" alone is common for AUTHENTICATE and literals; "+text" without
      // the SP is tolerated too.
      if (!rest.empty() && rest[0] == ' ')
        rest.remove_prefix(1);
      if (!parse_resp_text(seg, seg.size() - rest.size()))
        return;
      return complete();
    }

    std::size_t sp = seg.find(' ');
    const auto first = seg.substr(0, sp);
    if (first == "*") {
      cur.type = response::kind::untagged;
      return parse_untagged(seg, sp);
    }

    // tag = 1*<any ASTRING-CHAR except "+">
    for (std::size_t k = 0; k < first.size(); ++k) {
      const auto c = static_cast<unsigned char>(first[k]);
      if (is_ctl(c) || c >= 0x80 || std::strchr("(){%*\"\\", c))
        return fail(seg, k, "invalid character in tag");
    }
    cur.type = response::kind::tagged;
    cur.tag = std::string(first);
    if (sp == std::string_view::npos)
      return fail(seg, seg.size(), "expected SP after tag");
    const std::size_t word_start = sp + 1;
    const std::size_t word_end = std::min(seg.find(' ', word_start), seg.size());
    cur.status = upper(seg.substr(word_start, word_end - word_start));
    // resp-cond-state = ("OK" / "NO" / "BAD") SP resp-text
    if (cur.status != "OK" && cur.status != "NO" && cur.status != "BAD")
      return fail(seg, word_start, "tagged response must be OK, NO or BAD");
    if (!parse_status_text(seg, word_end))
      return;
    complete();
  }

  // After the status word: [SP resp-text]. The text is optional because
  // servers do send a bare "A1 OK".
  bool parse_status_text(std::string_view seg, std::size_t pos) {
    if (pos < seg.size())
      ++pos; // the SP
    return parse_resp_text(seg, pos);
  }

  // message-data = nz-number SP ("EXPUNGE" / ("FETCH" SP msg-att))
  // mailbox-data = "FLAGS" SP flag-list / "LIST" SP mailbox-list /
  //                "SEARCH" *(SP nz-number) / "STATUS" SP mailbox SP "(" ... ")" /
  //                number SP "EXISTS" / number SP "RECENT" / ...
  // resp-cond-bye = "BYE" SP resp-text
  void parse_untagged(std::string_view seg, std::size_t sp) {
    if (sp == std::string_view::npos)
      return fail(seg, seg.size(), "expected SP after '*'");
    std::size_t pos = sp + 1;
    std::size_t end = std::min(seg.find(' ', pos), seg.size());
    auto word = seg.substr(pos, end - pos);
    if (word.empty())
      return fail(seg, pos, "expected a number or a keyword after '* '");
    if (is_digit(word[0])) {
      if (!parse_u64(word, cur.number))
        return fail(seg, pos, "invalid number");
      cur.has_number = true;
      if (end >= seg.size())
        return fail(seg, end, "expected a keyword after the number");
      pos = end + 1;
      end = std::min(seg.find(' ', pos), seg.size());
      word = seg.substr(pos, end - pos);
    }
    if (word.empty())
      return fail(seg, pos, "expected a keyword");
    for (std::size_t k = 0; k < word.size(); ++k) {
      const auto c = static_cast<unsigned char>(word[k]);
      if (is_ctl(c) || c >= 0x80 || std::strchr("(){\"[]\\%*", c))
        return fail(seg, pos + k, "invalid character in keyword");
    }
    const auto keyword = upper(word);
    if (!cur.has_number && is_status_word(keyword)) {
      cur.status = keyword;
      if (!parse_status_text(seg, end))
        return;
      return complete();
    }
    cur.keyword = keyword;
    if (end >= seg.size())
      return complete(); // e.g. "* SEARCH" with no hits
    stack.assign(1, &cur.data);
    in_data = true;
    continue_data(seg, end + 1);
  }

  // resp-text      = ["[" resp-text-code "]" SP] text
  // resp-text-code = "ALERT" / "BADCHARSET" [SP "(" charset *(SP charset) ")"] /
  //                  capability-data / "PARSE" / "PERMANENTFLAGS" SP "(" ... ")" /
  //                  "READ-ONLY" / "READ-WRITE" / "TRYCREATE" /
  //                  "UIDNEXT" SP nz-number / "UIDVALIDITY" SP nz-number /
  //                  "UNSEEN" SP nz-number / atom [SP 1*<any TEXT-CHAR except "]">]
  // text           = 1*TEXT-CHAR
  bool parse_resp_text(std::string_view seg, std::size_t pos) {
    std::size_t text_start = pos;
    if (pos < seg.size() && seg[pos] == '[') {
      std::size_t i = pos + 1;
      std::vector<value> code;
      std::vector<std::vector<value>*> code_stack{&code};
      std::string ignored;
      literal_header lit;
      const auto r = parse_values(seg, i, true, code_stack, ignored, lit);
      // A code that does not parse as values (unknown extension, a stray
      // "[" in free text) is not worth dropping the connection over: the
      // whole remainder is then kept as text.
      if (r == scan::code_end && !code.empty() && code[0].type == value::kind::atom) {
        cur.code = std::move(code);
        if (i < seg.size() && seg[i] == ' ')
          ++i;
        text_start = i;
      }
    }
    const auto text = seg.substr(std::min(text_start, seg.size()));
    if (const auto nul = text.find('\0'); nul != std::string_view::npos) {
      fail(seg, text_start + nul, "NUL in response text");
      return false;
    }
    cur.text = std::string(text);
    return true;
  }

  // Data values continue until the end of the segment or a literal header.
  void continue_data(std::string_view seg, std::size_t pos) {
    std::string err;
    literal_header lit;
    const auto r = parse_values(seg, pos, false, stack, err, lit);
    switch (r) {
    case scan::line_end:
      complete();
      return;
    case scan::literal:
      start_literal(seg, lit.start, lit.size);
      return;
    case scan::code_end: // not produced outside codes
    case scan::error:
      fail(seg, pos, err);
      return;
    }
  }

  void start_literal(std::string_view seg, std::size_t pos, std::uint64_t size) {
    const bool stream = sink && size >= threshold;
    if (!stream && size > limits.max_inline_literal)
      return fail(seg, pos,
                  "literal of " + std::to_string(size) + " bytes exceeds max_inline_literal ("
                      + std::to_string(limits.max_inline_literal) + ")");
    lit_size = size;
    lit_remaining = size;
    lit_sink = stream ? sink : nullptr;
    lit_buf.clear();
    if (lit_sink)
      lit_sink->begin(size);
    else // bounded by max_inline_literal; a lying size costs at most 1 MB up front
      lit_buf.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(size, 1 << 20)));
    state = mode::literal;
  }

  void finish_literal() {
    value v;
    if (lit_sink) {
      lit_sink->end();
      v.type = value::kind::streamed;
      v.number = lit_size;
    } else {
      v.type = value::kind::string;
      v.text = std::move(lit_buf);
      lit_buf = std::string();
    }
    stack.back()->push_back(std::move(v));
    lit_sink = nullptr;
    state = mode::line;
  }

  // Generic values, as Dovecot's imap-parser reads them: the session gives
  // them meaning. With `code` set we are inside "[...]", where "]" ends the
  // code and literals are not allowed. On error, `i` is where it happened.
  //
  // list  = "(" [value *(SP value)] ")"
  // value = atom / number / string / nil / list
  scan parse_values(std::string_view s, std::size_t& i, bool code,
                    std::vector<std::vector<value>*>& st, std::string& err, literal_header& lit) {
    const std::size_t n = s.size();
    for (;;) {
      // Values are SP separated, but servers omit the SP between lists in
      // BODYSTRUCTURE ("((...)(...) "MIXED")") and some send two; both are fine.
      while (i < n && s[i] == ' ')
        ++i;
      if (i == n) {
        if (code) {
          err = "unterminated response code";
          return scan::error;
        }
        if (st.size() > 1) {
          err = "unterminated list";
          return scan::error;
        }
        return scan::line_end;
      }
      const char c = s[i];
      if (c == '(') {
        if (st.size() > limits.max_depth) {
          err = "lists nested deeper than max_depth (" + std::to_string(limits.max_depth) + ")";
          return scan::error;
        }
        value v;
        v.type = value::kind::list;
        st.back()->push_back(std::move(v));
        st.push_back(&st.back()->back().items);
        ++i;
      } else if (c == ')') {
        if (st.size() == 1) {
          err = "unexpected ')'";
          return scan::error;
        }
        st.pop_back();
        ++i;
      } else if (c == ']' && code) {
        if (st.size() > 1) {
          err = "unterminated list in response code";
          return scan::error;
        }
        ++i;
        return scan::code_end;
      } else if (c == '"') {
        value v;
        v.type = value::kind::string;
        if (!parse_quoted(s, i, v.text, err))
          return scan::error;
        st.back()->push_back(std::move(v));
      } else if (c == '{' || (c == '~' && i + 1 < n && s[i + 1] == '{')) {
        if (code) {
          err = "literal inside a response code";
          return scan::error;
        }
        lit.start = i;
        if (!parse_literal_header(s, i, lit.size, err))
          return scan::error;
        return scan::literal;
      } else {
        if (!parse_atom(s, i, code, st, err))
          return scan::error;
      }
    }
  }

  // quoted         = DQUOTE *QUOTED-CHAR DQUOTE
  // QUOTED-CHAR    = <any TEXT-CHAR except quoted-specials> / "\" quoted-specials
  // quoted-specials = DQUOTE / "\"
  // Like Dovecot, "\x" for any other x is read as x rather than refused.
  bool parse_quoted(std::string_view s, std::size_t& i, std::string& out, std::string& err) {
    const std::size_t start = i;
    ++i;
    while (i < s.size()) {
      // Copy runs without specials in one go.
      std::size_t j = i;
      while (j < s.size() && s[j] != '"' && s[j] != '\\' && s[j] != '\0')
        ++j;
      out.append(s.substr(i, j - i));
      i = j;
      if (i == s.size())
        break;
      if (s[i] == '"') {
        ++i;
        return true;
      }
      if (s[i] == '\0') {
        err = "NUL in quoted string";
        return false;
      }
      if (i + 1 == s.size())
        break;
      out += s[i + 1];
      i += 2;
    }
    i = start;
    err = "unterminated quoted string";
    return false;
  }

  // literal  = "{" number64 ["+"] "}" CRLF *CHAR8
  // literal8 = "~{" number64 "}" CRLF *OCTET     (RFC 3516)
  // The header must end the segment: the literal's bytes follow the CRLF.
  bool parse_literal_header(std::string_view s, std::size_t& i, std::uint64_t& size,
                            std::string& err) {
    std::size_t j = i + (s[i] == '~' ? 2 : 1);
    const std::size_t digits = j;
    while (j < s.size() && is_digit(s[j]))
      ++j;
    if (j == digits) {
      err = "expected digits in literal size";
      return false;
    }
    if (!parse_u64(s.substr(digits, j - digits), size)) {
      i = digits;
      err = "literal size does not fit in 64 bits";
      return false;
    }
    if (j < s.size() && s[j] == '+') // servers must not, but it is unambiguous
      ++j;
    if (j >= s.size() || s[j] != '}') {
      i = j;
      err = "expected '}' after literal size";
      return false;
    }
    ++j;
    if (j != s.size()) {
      i = j;
      err = "literal size must be followed by CRLF";
      return false;
    }
    i = j;
    return true;
  }

  // True when s[i..] is "{digits}" or "{digits+}" and nothing else.
  static bool ends_in_literal_header(std::string_view s, std::size_t i) {
    std::size_t j = i + 1;
    while (j < s.size() && is_digit(s[j]))
      ++j;
    if (j == i + 1)
      return false;
    if (j < s.size() && s[j] == '+')
      ++j;
    return j + 1 == s.size() && s[j] == '}';
  }

  // atom        = 1*ATOM-CHAR
  // ATOM-CHAR   = <any CHAR except atom-specials>
  // flag        = "\Answered" / ... / flag-keyword / flag-extension ("\" atom)
  // msg-att     = "BODY" section ["<" number ">"] SP nstring / ...
  // section     = "[" [section-spec] "]"
  // A "[...]" inside an atom is part of it, spaces and parens included, so
  // BODY[HEADER.FIELDS (MESSAGE-ID)]<0> is one atom. Flags (\Seen, \*),
  // "%" and "*" are read as atoms too, and 8-bit bytes are tolerated since
  // servers do send raw UTF-8 mailbox names.
  bool parse_atom(std::string_view s, std::size_t& i, bool code,
                  std::vector<std::vector<value>*>& st, std::string& err) {
    const std::size_t start = i;
    std::size_t brackets = 0;
    while (i < s.size()) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (brackets > 0) {
        if (c == '"') {
          std::string ignored;
          if (!parse_quoted(s, i, ignored, err))
            return false;
          continue;
        }
        if (is_ctl(c)) {
          err = "control character in section";
          return false;
        }
        if (c == '[') {
          if (++brackets > limits.max_depth) {
            err = "brackets nested deeper than max_depth";
            return false;
          }
        } else if (c == ']') {
          --brackets;
        }
        ++i;
        continue;
      }
      if (c == ' ' || c == '(' || c == ')' || c == '"' || (c == ']' && code))
        break;
      // "BODY[]{310}" without the SP: the literal still starts here.
      if (c == '{' && !code && ends_in_literal_header(s, i))
        break;
      if (is_ctl(c)) {
        err = "control character in atom";
        return false;
      }
      if (c == '[')
        ++brackets;
      ++i;
    }
    if (brackets > 0) {
      i = start;
      err = "unterminated '[' in atom";
      return false;
    }
    const auto text = s.substr(start, i - start);
    value v;
    if (text.size() <= 20 && parse_u64(text, v.number)) {
      v.type = value::kind::number;
      v.text = std::string(text);
    } else if (iequals(text, "NIL")) {
      v.type = value::kind::nil;
    } else {
      v.type = value::kind::atom;
      v.text = std::string(text);
    }
    st.back()->push_back(std::move(v));
    return true;
  }
};

response_parser::response_parser(parser_limits limits) : impl_(std::make_unique<impl>(limits)) {}

response_parser::~response_parser() = default;

void response_parser::set_literal_sink(literal_sink* sink, std::uint64_t threshold) {
  impl_->sink = sink;
  impl_->threshold = threshold;
}

response_parser::status response_parser::feed(std::string_view bytes) {
  if (impl_->state == impl::mode::failed)
    return status::error;
  std::size_t consumed = 0;
  return impl_->feed(bytes, consumed, false);
}

response_parser::status response_parser::feed_one(std::string_view bytes, std::size_t& consumed) {
  consumed = bytes.size();
  if (impl_->state == impl::mode::failed)
    return status::error;
  return impl_->feed(bytes, consumed, true);
}

bool response_parser::next(response& out) {
  if (impl_->ready.empty())
    return false;
  out = std::move(impl_->ready.front());
  impl_->ready.pop_front();
  return true;
}

const std::string& response_parser::error() const {
  return impl_->error;
}

bool response_parser::in_response() const {
  return impl_->state == impl::mode::literal || !impl_->line.empty() || impl_->in_data;
}

void response_parser::reset() {
  auto& p = *impl_;
  p.state = impl::mode::line;
  p.line.clear();
  p.clear_response();
  p.lit_size = p.lit_remaining = 0;
  p.lit_sink = nullptr;
  p.lit_buf.clear();
  p.ready.clear();
  p.error.clear();
}

} // namespace oimap::protocol
