// ~/.netrc and /etc/netrc, read as Python's netrc module reads them, for OfflineIMAP's password
// lookup.
#pragma once

#include "config/settings.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace oimap::config {

struct netrc_entry {
  std::string login;
  std::optional<secret> password;
};

// The entry for host in a netrc file: its `machine host` entry, else its
// `default` one; nullopt if the file does not exist or has neither. Tokens
// as Python's netrc module splits them (whitespace, "quoted strings",
// comments from a '#' token to the end of the line, macdef bodies up to an
// empty line). With owner_only (the user's own ~/.netrc, as Python checks
// it), a password in a file another user owns or others may read is a
// config_error, as is a file that cannot be read or parsed; the error names
// the file, never a password.
std::optional<netrc_entry> netrc_lookup(const std::filesystem::path& file, std::string_view host,
                                        bool owner_only);

} // namespace oimap::config
