// --dry-run: what a sync would do, read from both sides and the status, nothing written.
#pragma once

#include "config/settings.hpp"
#include "protocol/session.hpp"
#include "storage/maildir_store.hpp"
#include "storage/status_db.hpp"
#include "sync/folder_sync.hpp"
#include "sync/folder_tree.hpp"

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace oimap::config {
class python_evaluator;
} // namespace oimap::config

namespace oimap::sync {

// What the sync of one folder pair would do.
struct folder_preview {
  std::string local_name;
  std::string remote_name;
  bool create_local = false;  // the Maildir folder would be made
  bool create_remote = false; // the server folder would be made
  bool uidvalidity_changed = false;
  std::size_t download = 0;
  std::size_t upload = 0;
  std::size_t delete_local = 0;
  std::size_t delete_remote = 0;
  std::size_t local_flags = 0;
  std::size_t remote_flags = 0;
  std::size_t too_large = 0; // new local files over maxsize, not uploaded
};

// Reads the folder's status (if any), the Maildir folder (unless it is yet
// to be made) and the server folder (EXAMINE, unless it is yet to be made)
// and plans as a sync would, leaving out what maxage and maxsize leave out
// (too_large counts the new local files left out). Writes nothing anywhere: no tmp/ clean-up, no
// status, no prefetch. Uploads that a killed sync left journaled would be
// recognised by the sync and count as uploads here.
folder_preview preview_folder(protocol::session& remote, const storage::maildir_store& local,
                              const storage::status_db* status, const folder_pair& pair,
                              bool create_local, bool create_remote,
                              const folder_sync_options& opt);

// One line for it: "would copy 2 here, delete 1 on the server", or "nothing to do".
std::string describe(const folder_preview& p);

struct account_preview {
  std::vector<folder_preview> folders;
  std::vector<refused_folder> refused; // as the sync would fail them
};

// The whole account, over one connection, folder after folder; the status
// is opened read-only (a sync running meanwhile is not in the way).
account_preview preview_account(const config::settings& settings,
                                const config::account_settings& account,
                                const std::shared_ptr<config::python_evaluator>& python,
                                const std::vector<std::string>& only);

} // namespace oimap::sync
