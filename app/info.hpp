// --info: each account's server and folders as a sync would see them; no sync.
#pragma once

#include "config/settings.hpp"

#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace oimap::config {
class python_evaluator;
} // namespace oimap::config

namespace oimap::app {

// For each account, as OfflineIMAP's --info: the IMAP repository (server,
// TLS, user; never the password) and the capabilities it announces after
// the login, each server folder with the local name the sync gives it (or
// why it is not synced), and the Maildir repository with the folders it
// would create on the server. Reads only: nothing is created or changed.
// Returns 1 if an account could not be reached or a folder would fail.
int info(const config::settings& settings, const std::shared_ptr<config::python_evaluator>& python,
         const std::vector<std::string>& only, std::ostream& out, std::ostream& err);

} // namespace oimap::app
