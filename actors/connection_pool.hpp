// The connection pool of one IMAP repository: checkout/checkin, capped at maxconnections.
#pragma once

#include "actors/actors.hpp"

#include <caf/fwd.hpp>

namespace oimap::actors {

connection_pool_actor spawn_connection_pool(caf::actor_system& sys, int maxconnections);

// Blocking, for detached actors and their helper threads: waits for a
// session or a permit to connect (throws if the pool is gone), and gives one
// back (an empty lease: the connection was lost, or the permit not used).
// prefer: the tag of the session wanted (see session_lease::tag), 0 for any.
session_lease checkout(caf::actor_system& sys, const connection_pool_actor& pool,
                       std::uintptr_t prefer = 0);
// The same through the caller's own scoped actor, for a thread that checks
// out more than once: each scoped actor's end wakes CAF's clock thread.
session_lease checkout(caf::scoped_actor& self, const connection_pool_actor& pool,
                       std::uintptr_t prefer = 0);
void checkin(const connection_pool_actor& pool, session_lease lease);

} // namespace oimap::actors
