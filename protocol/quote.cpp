// Atom and quoted-string rules of RFC 3501 §9 for the command encoder.
#include "protocol/quote.hpp"

#include <cstring>

namespace oimap::protocol {

bool is_atom_char(char ch) {
  const auto c = static_cast<unsigned char>(ch);
  // CTL and 8-bit are excluded; then the specials: ( ) { SP % * " \ ]
  if (c <= 0x20 || c >= 0x7f)
    return false;
  return std::strchr("(){%*\"\\]", c) == nullptr;
}

bool is_atom(std::string_view s) {
  if (s.empty())
    return false;
  for (char c : s)
    if (!is_atom_char(c))
      return false;
  return true;
}

bool is_astring_atom(std::string_view s) {
  if (s.empty())
    return false;
  for (char c : s)
    if (c != ']' && !is_atom_char(c))
      return false;
  return true;
}

bool is_quotable(std::string_view s) {
  if (s.size() > max_quoted_length)
    return false;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\r' || c == '\n' || c == '\0' || c >= 0x80)
      return false;
  }
  return true;
}

std::string quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

string_form choose_form(std::string_view s, bool allow_atom) {
  // "NIL" as an atom would read as nil where an nstring is allowed; quoting
  // it costs two bytes and removes the doubt.
  if (allow_atom && is_astring_atom(s)
      && !(s.size() == 3 && (s[0] | 0x20) == 'n' && (s[1] | 0x20) == 'i' && (s[2] | 0x20) == 'l'))
    return string_form::atom;
  return is_quotable(s) ? string_form::quoted : string_form::literal;
}

} // namespace oimap::protocol
