// configparser's BasicInterpolation: %(name)s references and %% escapes.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace oimap::config {

// Python's MAX_INTERPOLATION_DEPTH: a value may pull in values that pull in
// values, 10 levels deep; the 11th level is an error (catches self-loops).
inline constexpr int max_interpolation_depth = 10;

// Raised by interpolate(); config_file adds file:line and the option name.
// The text never quotes a value, since the value may be a password.
class interpolation_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// Finds the raw value of an (already lower-cased) option name in the
// section being read, falling back to [DEFAULT]; nullptr if neither has it.
using raw_lookup = std::function<const std::string*(const std::string& name)>;

// Expands `raw`, the raw value of `option`, exactly as Python's
// BasicInterpolation.before_get does: "%%" gives "%", "%(name)s" gives the
// value of `name` (looked up case-insensitively, itself expanded if it holds a
// '%'), and any other '%' is an error.
std::string interpolate(std::string_view option, std::string_view raw, const raw_lookup& lookup);

// configparser's before_set check, applied to values given on the command
// line: after removing "%%" and well-formed "%(name)s", no '%' may remain.
bool interpolation_syntax_ok(std::string_view value);

} // namespace oimap::config
