// The status writer: the one place an account's status batches are written.
#pragma once

#include "actors/actors.hpp"
#include "storage/status_db.hpp"

#include <caf/fwd.hpp>

namespace oimap::actors {

struct status_batch_box {
  storage::status_db::batch batch;
};

status_writer_actor spawn_status_writer(caf::actor_system& sys,
                                        std::shared_ptr<storage::status_db> db);

// Blocking, for detached actors: hands the batch to the writer and returns
// once it is durable (the batch is left empty). Throws storage_error naming
// what for if the writer failed.
// self: the caller's own scoped actor, kept for all its writes (each scoped
// actor's end wakes CAF's clock thread: one per write was a tenth of a
// 40-folder run's context switches).
void write_through(caf::scoped_actor& self, const status_writer_actor& writer,
                   storage::status_db::batch& batch, const std::string& what);

} // namespace oimap::actors
