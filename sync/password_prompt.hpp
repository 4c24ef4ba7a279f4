// Asking the user for a password on the terminal, as OfflineIMAP's UIs do when none is configured.
#pragma once

#include "config/settings.hpp"

#include <optional>
#include <string>

namespace oimap::sync {

// Writes prompt to the terminal tty_fd, reads one line with echo off (and
// restores the terminal's modes however it ends), then ends the line the
// user could not see. Nullopt at end of input. Throws std::runtime_error if
// tty_fd is no terminal.
std::optional<config::secret> ask_password(int tty_fd, const std::string& prompt);

// The user's controlling terminal (/dev/tty), or -1 when the run has none
// (cron, a daemon): then nobody can be asked.
int open_terminal();

} // namespace oimap::sync
