// The message copier: the durable end of a folder's downloads, on a thread of its own.
#pragma once

#include "actors/actors.hpp"
#include "sync/folder_sync.hpp"

#include <caf/fwd.hpp>

namespace oimap::actors {

// A stage_committer backed by a message copier actor: submit() returns at
// once; drain() waits for the copier to finish every batch.
std::unique_ptr<sync::stage_committer> make_copier_committer(caf::actor_system& sys,
                                                             storage::maildir_folder& folder,
                                                             const std::string& status_name,
                                                             status_writer_actor writer);

} // namespace oimap::actors
