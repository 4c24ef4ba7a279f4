// One folder's part of the EXAMINE round ahead of the syncers (see examine_ahead).
#pragma once

#include "protocol/session.hpp"
#include "storage/maildir_folder.hpp"
#include "sync/folder_sync.hpp"
#include "sync/prefetched_bodies.hpp"

#include <memory>

namespace oimap::sync {

// What the round got for one folder: what its EXAMINE (QRESYNC) said, and
// its new bodies staged in tmp/ through the folder object they were written
// with, which lives as long as they do.
struct examined_folder {
  std::unique_ptr<storage::maildir_folder> folder;
  protocol::mailbox_info info;
  protocol::session::resync resync;
  std::unique_ptr<prefetched_bodies> prefetched; // null: nothing new to fetch
};

} // namespace oimap::sync
