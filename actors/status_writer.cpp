// The status writer runs detached: a synced RocksDB write blocks on fsync.
#include "actors/status_writer.hpp"

#include "storage/storage_error.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
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
            [db](drain_atom) {
              // The account is done with it: close now, on purpose, rather than
              // whenever the last reference happens to go (the process may end
              // before that, and RocksDB would leave its log files behind).
              db->close();
              return true;
            },
        };
      });
}

void write_through(caf::scoped_actor& self, const status_writer_actor& writer,
                   storage::status_db::batch& batch, const std::string& what) {
  auto box = std::make_shared<status_batch_box>();
  box->batch = std::move(batch);
  batch = storage::status_db::batch{};
  std::string err;
  self->request(writer, caf::infinite, write_atom::value, box)
      .receive([](bool) {}, [&](caf::error& e) { err = self->system().render(e); });
  if (!err.empty())
    throw storage::storage_error("cannot write the status of " + what + ": " + err);
}

} // namespace oimap::actors
