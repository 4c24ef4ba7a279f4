// Helpers on parsed IMAP responses: atom comparison and a trace rendering.
#include "protocol/response.hpp"

#include <cstdio>

namespace oimap::protocol {

namespace {

char ascii_upper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

// Strings are shown with C escapes so a trace line never contains a raw CR,
// LF or NUL that would garble a terminal or a log file.
void append_quoted(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (c < 0x20 || c == 0x7f) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", c);
        out += buf;
      } else {
        out += static_cast<char>(c);
      }
    }
  }
  out += '"';
}

void append_value(std::string& out, const value& v) {
  switch (v.type) {
  case value::kind::atom:
  case value::kind::number:
    out += v.text;
    break;
  case value::kind::string:
    append_quoted(out, v.text);
    break;
  case value::kind::nil:
    out += "NIL";
    break;
  case value::kind::streamed:
    out += "<streamed ";
    out += std::to_string(v.number);
    out += '>';
    break;
  case value::kind::list:
    out += '(';
    for (std::size_t i = 0; i < v.items.size(); ++i) {
      if (i)
        out += ' ';
      append_value(out, v.items[i]);
    }
    out += ')';
    break;
  }
}

void append_values(std::string& out, const std::vector<value>& values) {
  for (const auto& v : values) {
    out += ' ';
    append_value(out, v);
  }
}

} // namespace

bool value::is_atom(std::string_view upper) const {
  if (type != kind::atom || text.size() != upper.size())
    return false;
  for (std::size_t i = 0; i < text.size(); ++i)
    if (ascii_upper(text[i]) != ascii_upper(upper[i]))
      return false;
  return true;
}

std::string to_string(const value& v) {
  std::string out;
  append_value(out, v);
  return out;
}

std::string to_string(const response& r) {
  std::string out;
  switch (r.type) {
  case response::kind::continuation:
    out = "+";
    break;
  case response::kind::untagged:
    out = "*";
    break;
  case response::kind::tagged:
    out = r.tag;
    break;
  }
  if (r.is_status() || r.type == response::kind::continuation) {
    if (r.is_status()) {
      out += ' ';
      out += r.status;
    }
    if (!r.code.empty()) {
      out += " [";
      for (std::size_t i = 0; i < r.code.size(); ++i) {
        if (i)
          out += ' ';
        append_value(out, r.code[i]);
      }
      out += ']';
    }
    out += ' ';
    append_quoted(out, r.text);
    return out;
  }
  if (r.has_number) {
    out += ' ';
    out += std::to_string(r.number);
  }
  out += ' ';
  out += r.keyword;
  append_values(out, r.data);
  return out;
}

} // namespace oimap::protocol
