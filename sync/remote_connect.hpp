// Opens a logged-in IMAP session for a repository's settings.
#pragma once

#include "config/settings.hpp"

#include <functional>
#include <memory>
#include <string_view>

namespace oimap::protocol {
class session;
}

namespace oimap::sync {

using trace_fn = std::function<void(char direction, std::string_view line)>;

// The socket timeout when the configuration sets none (socktimeout = 0).
constexpr int default_socktimeout_seconds = 120;

// Throws protocol::imap_error (connect, TLS, auth) or config::config_error
// (password file unreadable, no password configured); neither names the password.
std::unique_ptr<protocol::session> connect_remote(const config::repository_settings& repo,
                                                  int socktimeout, const trace_fn& trace);

} // namespace oimap::sync
