// The connection pool of one IMAP repository: checkout/checkin, capped at maxconnections.
#pragma once

#include "actors/actors.hpp"

#include <caf/fwd.hpp>

namespace oimap::actors {

connection_pool_actor spawn_connection_pool(caf::actor_system& sys, int maxconnections);

} // namespace oimap::actors
