// Choosing and writing the wire form of a string argument: atom, quoted or literal.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace oimap::protocol {

// Quoted strings longer than this go as literals: some servers cap a line's
// quoted string well below their line limit, and literals have no such cap.
inline constexpr std::size_t max_quoted_length = 1000;

// ATOM-CHAR = <any CHAR except atom-specials>
// atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials / resp-specials
bool is_atom_char(char c);

// atom = 1*ATOM-CHAR
bool is_atom(std::string_view s);

// astring = 1*ASTRING-CHAR / string;  ASTRING-CHAR = ATOM-CHAR / resp-specials
bool is_astring_atom(std::string_view s);

// True when s can be sent as a quoted string: no CR, LF, NUL or 8-bit byte
// and at most max_quoted_length bytes.
bool is_quotable(std::string_view s);

// quoted = DQUOTE *QUOTED-CHAR DQUOTE, with "\" and DQUOTE escaped.
// Precondition: is_quotable(s); the caller picks a literal otherwise.
std::string quote(std::string_view s);

enum class string_form : unsigned char { atom, quoted, literal };

// The safest short form for s: an atom when allowed and possible (astring
// contexts), else quoted, else a literal.
string_form choose_form(std::string_view s, bool allow_atom);

} // namespace oimap::protocol
