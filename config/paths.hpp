// Path expansion as OfflineIMAP does it, and where the config file is looked for.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace oimap::config {

// Python's os.path.expanduser: a leading "~" becomes $HOME (or the passwd
// home if HOME is unset), "~user" that user's home; an unknown user leaves
// the text unchanged.
std::string expand_user(std::string_view path);

// Python's os.path.expandvars: $NAME and ${NAME} (NAME of [A-Za-z0-9_]) from
// the environment; unknown variables stay as written.
std::string expand_vars(std::string_view path);

// What OfflineIMAP applies to path options: expand_user, then expand_vars.
std::string expand_path(std::string_view path);

// The file OfflineIMAP would read: `-c` (with ~ expanded) if given, else
// $XDG_CONFIG_HOME/offlineimap/config if that exists (~/.config when the
// variable is unset or empty), else ~/.offlineimaprc (existing or not).
std::filesystem::path default_config_path(const std::optional<std::string>& explicit_c);

} // namespace oimap::config
