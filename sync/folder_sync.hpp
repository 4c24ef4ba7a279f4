// Runs one folder pair's sync: reads the three snapshots, plans, executes the plan.
#pragma once

#include "storage/status_db.hpp"
#include "sync/message_window.hpp"
#include "sync/plan.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>

namespace oimap::protocol {
class session;
}
namespace oimap::storage {
class maildir_store;
class maildir_folder;
struct staged_message;
} // namespace oimap::storage

namespace oimap::sync {

// What STATUS said of a remote folder before its sync started.
struct remote_snapshot {
  std::uint32_t uidvalidity = 0;
  std::uint32_t uidnext = 0;
  std::uint32_t exists = 0;
  std::uint64_t highestmodseq = 0; // 0 without CONDSTORE
};

// One folder on both sides. The status name is the key prefix in status_db.
struct folder_pair {
  std::string remote_name; // mailbox name on the wire (modified UTF-7)
  std::string local_name;  // Maildir folder name (with the local sep)
  std::string status_name; // remote visible name with '.' as separator
  // From the account's pipelined STATUS round: lets an unchanged folder be
  // skipped without even selecting it.
  std::optional<remote_snapshot> remote_status;
  // The local nametrans of local_name, which its files' FMD5 is made of;
  // none without one (the FMD5 is then local_name's).
  std::optional<std::string> fmd5_name;
};

struct folder_sync_options {
  plan_options plan;
  bool expunge = true;     // expunge what we flag \Deleted (IMAP repo option)
  std::size_t batch = 512; // messages per status write (and per fetch command group)
  // maxage, maxsize: messages outside are left alone. Bodies are then only
  // fetched once the plan wants them (no prefetch).
  window_options window;
};

struct folder_counts {
  std::uint64_t downloaded = 0;
  std::uint64_t downloaded_unseen = 0; // of them, without \Seen: new mail (newmail_hook)
  std::uint64_t uploaded = 0;
  std::uint64_t deleted_local = 0;
  std::uint64_t deleted_remote = 0;
  std::uint64_t flags_local = 0;
  std::uint64_t flags_remote = 0;
  std::uint64_t bytes = 0;   // message bytes moved either way
  std::uint64_t to_copy = 0; // planned downloads + uploads, for progress
};

enum class folder_outcome { ok, skipped_uidvalidity, failed, canceled };

struct folder_result {
  folder_outcome outcome = folder_outcome::ok;
  std::string message; // why it failed / was skipped
  folder_counts counts;
  std::vector<std::string> warnings;
};

// Called (from the syncing thread) as work progresses; must not block long.
using progress_fn = std::function<void(const folder_counts&)>;

// Makes a status batch durable (directly, or through the status writer
// actor); returns with the batch written and emptied.
using status_write_fn = std::function<void(storage::status_db::batch&)>;

// True when neither side can have changed since the folder's last sync: the
// pair's STATUS snapshot matches the recorded CONDSTORE state and the
// Maildir's directories still carry the stamps that sync sealed. Costs a
// status read and two stat calls, and needs no connection.
// How a folder's recorded state binds its plan. A stored UIDVALIDITY binds
// while local messages carry UIDs of the old numbering (or the status has
// records). Once none do (the user moved the folder's messages away), a
// status of another numbering describes nothing that exists: it is dropped
// and the folder starts afresh.
struct status_binding {
  bool drop_status = false;
  std::optional<std::uint32_t> stored_uidvalidity;
};
status_binding bind_status(const std::optional<storage::folder_meta>& meta,
                           std::uint32_t remote_uidvalidity, bool status_empty,
                           bool local_has_uids);

// window: the limits this run syncs under (window_options::description); a
// folder last synced under others has changed.
bool folder_unchanged(const storage::maildir_store& local, const storage::status_db& status,
                      const folder_pair& pair, bool remote_readonly, const std::string& window);
// The Maildir's half of that: its new/ and cur/ still carry the stamps the
// folder's last sync sealed (two stat calls).
bool local_unchanged(const storage::maildir_store& local, const folder_pair& pair,
                     const std::optional<storage::folder_meta>& meta);
// The server's half of that: STATUS's snapshot matches what the status
// recorded for the folder.
bool remote_unchanged(const storage::status_db& status, const std::string& status_name,
                      const remote_snapshot& snapshot, bool remote_readonly);
// Where a prefetch of the folder's new messages starts: after every UID the
// status holds (last_recorded, the highest), or at the recorded UIDNEXT.
std::uint32_t first_unrecorded_uid(std::optional<std::uint32_t> last_recorded,
                                   const storage::folder_meta& meta);

// A message now stored on both sides, as a download recorded it.
struct stored_message {
  std::uint32_t uid = 0;
  storage::flag_set flags;
  std::string key;
};

// The durable end of a download, the message copier: makes batches of
// staged messages durable, renames them into place and records them in the
// status. It may do that on another thread while the next bodies stream in,
// so the socket is read while the disk syncs.
class stage_committer {
public:
  virtual ~stage_committer() = default;
  virtual void submit(std::vector<storage::staged_message> batch) = 0;
  // Waits for every batch submitted so far; returns what they stored, in
  // order, or throws the first failure.
  virtual std::vector<stored_message> drain() = 0;
};

// Makes a committer for one folder, recording under status_name.
using committer_factory = std::function<std::unique_ptr<stage_committer>(
    storage::maildir_folder& folder, const std::string& status_name)>;

// What every committer does with one batch: one durable commit, the renames,
// then the status (only once the renames are durable too).
std::vector<stored_message> commit_batch(storage::maildir_folder& folder,
                                         std::vector<storage::staged_message>& batch,
                                         const std::string& status_name,
                                         const status_write_fn& write_status);

// A committer working on the caller's thread.
std::unique_ptr<stage_committer> make_inline_committer(storage::maildir_folder& folder,
                                                       std::string status_name,
                                                       status_write_fn write_status);

// A folder's part of the EXAMINE round ahead of the syncs (examine_ahead.hpp).
// Null when the folder's EXAMINE failed or the round broke off: its sync then asks the
// server itself.
struct examined_folder;
using examined_ahead = std::shared_future<std::shared_ptr<examined_folder>>;

// Called once a folder's sync needs its session no more (the rest is Maildir
// and status work), at most once.
using remote_done_fn = std::function<void()>;
// Called when a folder's sync first needs the server, after the work it can
// do without (opening the folder, reading its status): blocks until a
// logged-in session is the run's, and returns it (or throws).
using acquire_fn = std::function<protocol::session&()>;

// Blocking: uses the session (already logged in) for the run, or, with
// remote_done, until it calls that: from then on the session is the caller's
// again (another folder may use it) and this run does not touch it. Throws
// nothing: every error ends up in the result, scoped to this folder, except
// a lost connection, which is rethrown so the caller can drop the session.
folder_result sync_folder(protocol::session& remote, storage::maildir_store& local,
                          storage::status_db& status, const folder_pair& pair,
                          const status_write_fn& write_status, const folder_sync_options& opt,
                          const std::atomic<bool>& stop, const progress_fn& progress,
                          const committer_factory& make_committer = {},
                          const remote_done_fn& remote_done = {});
// The same with the session acquired when first needed (see acquire_fn).
// With ahead, the folder's EXAMINE comes from that round, waited for once
// this side is read; the session, when needed after all, is then selected
// on the folder again.
folder_result sync_folder(const acquire_fn& acquire, storage::maildir_store& local,
                          storage::status_db& status, const folder_pair& pair,
                          const status_write_fn& write_status, const folder_sync_options& opt,
                          const std::atomic<bool>& stop, const progress_fn& progress,
                          const committer_factory& make_committer,
                          const remote_done_fn& remote_done, const examined_ahead* ahead = nullptr);

} // namespace oimap::sync
