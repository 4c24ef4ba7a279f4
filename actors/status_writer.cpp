// The status writer runs detached: a synced RocksDB write blocks on fsync.
#include "actors/status_writer.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace oimap::actors {

status_writer_actor spawn_status_writer(caf::actor_system& sys,
                                        std::shared_ptr<storage::status_db> db) {
  return sys.spawn<caf::detached>(
    [db](status_writer_actor::pointer) -> status_writer_actor::behavior_type {
      return {
        [db](write_atom, const status_batch_ptr& box) {
          db->write(box->batch);
          return true;
        },
      };
    });
}

} // namespace oimap::actors
