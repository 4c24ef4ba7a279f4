// maxage and maxsize: which messages a sync leaves alone, on both sides.
#pragma once

#include "config/settings.hpp"
#include "sync/plan.hpp"

#include <cstdint>
#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace oimap::protocol {
class session;
} // namespace oimap::protocol
namespace oimap::storage {
class maildir_folder;
} // namespace oimap::storage

namespace oimap::sync {

struct window_options {
  std::optional<std::string> since; // IMAP date ("1-Feb-2026") from maxage
  std::optional<std::uint64_t> maxsize;
  // The options as configured ("maxage=30;maxsize=100000"), "" without:
  // recorded with each folder's sync, so that a folder synced under other
  // limits is listed in full once (a wider window brings older messages).
  std::string description;
  bool active() const { return since || maxsize; }
};

// The account's limits; a maxage in days counts back from now (local time).
window_options window_of(const config::account_settings& account, std::time_t now);

// Where the window lies in one folder. As OfflineIMAP: maxage keeps every
// uid from the first message since the date on (so the window is one run
// of uids), maxsize leaves out the server's larger messages.
struct message_window {
  uid_t min_uid = 0;
  std::vector<uid_t> too_large; // sorted
  bool contains(uid_t uid) const;
};

// Asks the selected folder (UID SEARCH SINCE, UID SEARCH LARGER). No
// message since the date: the window starts at uidnext. As OfflineIMAP
// (SEARCH SMALLER maxsize), a message of maxsize bytes or more is outside.
message_window find_window(protocol::session& remote, const window_options& w,
                           std::uint32_t uidnext);

// Takes what lies outside the window out of the plan's input: server
// messages, status records and local files with such uids; and new local
// files of maxsize bytes or more (size_of gives a file's size by key; nullopt:
// unknown, kept). Returns the keys of the new files left out for their size.
using size_fn = std::function<std::optional<std::uint64_t>(const std::string& key)>;

// A message file's size in this folder, for leave_outside.
size_fn file_sizes(storage::maildir_folder& folder);

std::vector<std::string> leave_outside(plan_input& in, const message_window& w,
                                       std::optional<std::uint64_t> maxsize,
                                       const size_fn& size_of);

} // namespace oimap::sync
