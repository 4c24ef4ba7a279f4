// The folder syncer: syncs one folder pair on its own thread with a leased session.
#pragma once

#include "actors/actors.hpp"
#include "config/settings.hpp"
#include "sync/folder_sync.hpp"

#include <caf/fwd.hpp>

namespace oimap::storage {
class maildir_store;
}

namespace oimap::actors {

struct folder_job {
  run_context_ptr ctx;
  std::string account;
  const config::repository_settings* remote_repo = nullptr;
  std::shared_ptr<storage::maildir_store> local;
  std::shared_ptr<storage::status_db> status; // reads; writes go through the writer
  sync::folder_pair pair;
  // The connection that asked this folder's STATUS (0: none): Dovecot lists
  // a Maildir changed a second ago again in every other process that opens
  // it, so the pool hands the folder that one when it can.
  std::uintptr_t prefer_session = 0;
  sync::folder_sync_options options;
  bool restoreatime = false; // the local repository's: new/ and cur/ keep their access times
  // Its part of the setup's EXAMINE round, if it has one (see sync::examine_ahead).
  sync::examined_ahead ahead;
  connection_pool_actor pool;
  status_writer_actor writer;
  ui_actor ui;
};

folder_syncer_actor spawn_folder_syncer(caf::actor_system& sys, folder_job job);

// Blocking: runs on the caller's thread. Connects when the lease is a permit.
// Shared with the account's folder listing.
std::shared_ptr<protocol::session> open_session(const folder_job& job);

} // namespace oimap::actors
