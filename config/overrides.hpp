// The -k [Section_Name:]option=value command-line overrides.
#pragma once

#include "config/config_file.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace oimap::config {

struct config_override {
  std::string section; // "general" when not given; '_' already turned into ' '
  std::string option;
  std::string value; // verbatim: may hold spaces, '=' or ':' (a password may)
};

// Splits one -k argument as OfflineIMAP does: the value starts after the
// first '='; a ':' before it separates the section, whose '_' become spaces
// ("Account_Personal:autorefresh=30" sets autorefresh in [Account Personal]).
// Throws config_error naming the argument when there is no '=' or the
// section or option name is empty; only the part before '=' is quoted, since
// the value may be a password.
config_override parse_override(std::string_view argument);

// Parses and applies each argument in order (later ones win), creating
// sections that are missing; where() then reports
// "command line (-k Section_Name:option)".
void apply_overrides(config_file& file, const std::vector<std::string>& arguments);

} // namespace oimap::config
