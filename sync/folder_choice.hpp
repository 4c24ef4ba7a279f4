// Which folders an account syncs, and under which names on each side.
#pragma once

#include "config/settings.hpp"
#include "protocol/session.hpp"
#include "sync/folder_sync.hpp"
#include "sync/folder_tree.hpp"

#include <memory>
#include <string>
#include <vector>

namespace oimap::config {
class python_evaluator;
} // namespace oimap::config

namespace oimap::sync {

// The server's listing, plus the IMAP repository's folderincludes (a name it
// does not list is selected read-only first, as OfflineIMAP does, and one
// it cannot select is refused), less the folders subscribedonly or either
// folderfilter leaves out, paired with the Maildir's folders through both
// nametrans (pair_folders). only: -f, remote names. The session is asked
// LSUB for subscribedonly. Throws config_error for a failing Python option,
// protocol errors for a lost connection.
folder_tree choose_folders(protocol::session& session,
                           const std::vector<protocol::list_entry>& listed,
                           const std::vector<std::string>& local_folders,
                           const config::settings& settings,
                           const config::account_settings& account,
                           const std::shared_ptr<config::python_evaluator>& python,
                           const std::vector<std::string>& only);

// How the account's folders sync: each repository's sync_deletes and
// readonly, and the IMAP repository's expunge.
folder_sync_options account_sync_options(const config::settings& settings,
                                         const config::account_settings& account);

} // namespace oimap::sync
