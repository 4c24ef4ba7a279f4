// Conversions of option strings to bool, int, double and lists, as Python does them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oimap::config {

// configparser's getboolean: 1/yes/true/on and 0/no/false/off, any case.
// Like Python, surrounding spaces are not forgiven (values read from the
// file are already stripped). nullopt: not a boolean.
std::optional<bool> parse_bool(std::string_view text);

// Python int(text): surrounding whitespace, a sign, decimal digits with
// single underscores between them. nullopt: not an integer or out of range.
std::optional<long long> parse_int(std::string_view text);

// Python float(text): decimal or exponent notation, inf/infinity/nan,
// surrounding whitespace, underscores between digits.
std::optional<double> parse_double(std::string_view text);

// Comma-separated list, each item whitespace-trimmed, empty items dropped
// (so "a, b,,c," gives a, b, c).
std::vector<std::string> split_list(std::string_view text);

} // namespace oimap::config
