// The sync planner: a pure function from three snapshots of a folder pair to actions.
#pragma once

#include "storage/flags.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace oimap::sync {

using storage::flag_set;
using uid_t = std::uint32_t;

// R: what the IMAP server holds now.
struct remote_message {
  uid_t uid = 0;
  flag_set flags;
  bool operator==(const remote_message&) const = default;
};

// L: what the Maildir holds now. key names the file (its unique base name);
// uid is set when the name carries ,U=<uid> with this folder's FMD5.
struct local_message {
  std::string key;
  std::optional<uid_t> uid;
  flag_set flags;
  bool operator==(const local_message&) const = default;
};

// S: what both sides agreed on at the end of the last successful sync.
struct status_entry {
  uid_t uid = 0;
  flag_set flags;
  bool operator==(const status_entry&) const = default;
};

struct plan_input {
  std::vector<remote_message> remote;
  std::vector<local_message> local;
  std::vector<status_entry> status;
  std::optional<std::uint32_t> stored_uidvalidity; // nullopt: never synced
  std::uint32_t remote_uidvalidity = 0;
};

struct plan_options {
  // sync_deletes of the remote repository: propagate deletions made on the
  // server to the Maildir. sync_deletes of the local one: the other way.
  bool remote_sync_deletes = true;
  bool local_sync_deletes = true;
  bool remote_readonly = false;
  bool local_readonly = false;
  // The IMAP repository's expunge option. Without it a message deleted here
  // stays on the server flagged \Deleted; once it carries the flag there is
  // nothing more to do for it (and the status keeps it, so it is not
  // downloaded again).
  bool expunge = true;
};

struct local_flag_change {
  std::string key;
  uid_t uid = 0;
  flag_set flags; // the file's new flags
  bool operator==(const local_flag_change&) const = default;
};

struct remote_flag_change {
  uid_t uid = 0;
  flag_set add;
  flag_set remove;
  bool operator==(const remote_flag_change&) const = default;
};

struct local_delete {
  std::string key;
  uid_t uid = 0;
  bool operator==(const local_delete&) const = default;
};

// Every list is sorted (uids ascending, keys lexicographically) so plans compare
// deterministically in tests. Each action, once done, implies a status update:
// download/upload -> S[uid] = flags; delete_* -> erase S[uid];
// flag changes -> S[uid] = the merged flags (listed in status_set).
// Lists holding a uid (delete_local, set_local_flags included) are ordered by
// uid; upload and duplicate_keys, whose items may lack one, by key.
struct plan_result {
  bool uidvalidity_changed = false; // folder must stop, nothing else is planned

  std::vector<remote_message> download;             // rule 2: copy to Maildir with these flags
  std::vector<local_message> upload;                // rule 1: APPEND, then learn the uid
  std::vector<local_delete> delete_local;           // rule 3
  std::vector<uid_t> delete_remote;                 // rule 4: \Deleted (+ expunge per option)
  std::vector<local_flag_change> set_local_flags;   // rule 5
  std::vector<remote_flag_change> set_remote_flags; // rule 5
  // Status entries to write once the flag changes above are applied, and
  // entries for messages both sides already hold (e.g. after a crash between
  // storing a message and recording it).
  std::vector<status_entry> status_set;
  std::vector<uid_t> status_erase;         // uid gone from both sides
  std::vector<std::string> duplicate_keys; // second file claiming a uid: left alone, warned

  bool empty() const {
    return download.empty() && upload.empty() && delete_local.empty() && delete_remote.empty()
           && set_local_flags.empty() && set_remote_flags.empty() && status_set.empty()
           && status_erase.empty();
  }
  bool operator==(const plan_result&) const = default;
};

// Decisions the rules above leave open, chosen so that applying a plan and
// planning again yields an empty plan (tests/sync/plan_property_test.cpp):
// * A local uid known to neither R nor S (status lost, file copied in) is new
//   mail: every file claiming it is uploaded, none is a duplicate, since each
//   would become uploadable the moment another took a fresh uid.
// * Otherwise several files claiming one uid make it ambiguous: the first by
//   key is the message, the rest go to duplicate_keys, and a remote deletion
//   of that uid is not propagated until the user resolves them (deleting only
//   the first would make the rest look new and re-upload them).
// * uid in R and L but not S: flags become the union (nothing was removed
//   since no agreement was recorded), i.e. merge_flags with base R & L.
// * A read-only side keeps its flags. S records the flags both sides end with
//   when they agree; otherwise the read-only side's flags, so its state is the
//   baseline: its later changes still reach the writable side, while the
//   writable side's own changes, which cannot be pushed, stay put instead of
//   being reverted. Both sides read-only and different: S is left as is.
// * Rules 3 and 4 when not propagated (sync_deletes off, target read-only)
//   keep S, so the message is neither re-copied nor deleted on a later run.
// * R and S should hold each uid once; if not, the first occurrence wins.
plan_result plan(const plan_input& in, const plan_options& opt);

// Three-way flag merge for one message (DESIGN.md rule 5): a side that did
// not change keeps nothing to say; both changed -> union of additions,
// intersection of removals, applied to the base.
flag_set merge_flags(flag_set base, flag_set remote, flag_set local);

} // namespace oimap::sync
