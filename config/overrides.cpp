// The -k [Section_Name:]option=value command-line overrides.
#include "config/overrides.hpp"

#include "config/python_str.hpp"

#include <algorithm>

namespace oimap::config {

config_override parse_override(std::string_view argument) {
  const std::size_t equals = argument.find('=');
  if (equals == std::string_view::npos) {
    throw config_error("-k " + std::string(argument)
                       + ": expected [Section_Name:]option=value (no '=' found)");
  }
  const std::string_view key = argument.substr(0, equals);
  auto fail = [&](const char* why) -> config_override {
    throw config_error("-k " + std::string(key) + "=...: " + why
                       + " (expected [Section_Name:]option=value)");
  };
  config_override result;
  std::string_view option = key;
  if (const std::size_t colon = key.find(':'); colon != std::string_view::npos) {
    result.section = std::string(python_strip(key.substr(0, colon)));
    std::replace(result.section.begin(), result.section.end(), '_', ' ');
    option = key.substr(colon + 1);
    if (result.section.empty()) {
      return fail("empty section name before ':'");
    }
  } else {
    result.section = "general";
  }
  // Python would keep spaces around the name, making the override silently
  // useless ("ui " is never read); trimming them is what the user meant.
  result.option = std::string(python_strip(option));
  if (result.option.empty()) {
    return fail("empty option name");
  }
  result.value = std::string(argument.substr(equals + 1));
  return result;
}

void apply_overrides(config_file& file, const std::vector<std::string>& arguments) {
  for (const std::string& argument : arguments) {
    const config_override parsed = parse_override(argument);
    const std::string key = argument.substr(0, argument.find('='));
    file.set(parsed.section, parsed.option, parsed.value, "command line (-k " + key + ")");
  }
}

} // namespace oimap::config
