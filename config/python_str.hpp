// Python str semantics the configparser emulation must match: whitespace and lower().
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace oimap::config {

// Byte length of the Python whitespace code point (str.isspace()) that starts
// at text[pos] in UTF-8, or 0 if none does. Python's strip() and `\s` treat
// U+0085, U+00A0, U+2000..U+200A and friends as whitespace, so a value pasted
// with a non-breaking space must be trimmed exactly as OfflineIMAP trims it.
std::size_t python_space_at(std::string_view text, std::size_t pos);

// Python str.lstrip() / rstrip() / strip() with no argument.
std::string_view python_lstrip(std::string_view text);
std::string_view python_rstrip(std::string_view text);
std::string_view python_strip(std::string_view text);

// Number of leading whitespace code points: Python measures indentation in
// characters (NONSPACECRE.search(line).start()), not bytes.
std::size_t python_indent(std::string_view line);

// configparser's optionxform is str.lower(); option names in practice are
// ASCII, so only ASCII letters are folded.
std::string ascii_lower(std::string_view text);

} // namespace oimap::config
