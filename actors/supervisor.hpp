// The supervisor: runs the selected accounts, at most maxsyncaccounts at once.
#pragma once

#include "actors/actors.hpp"

#include <caf/fwd.hpp>

namespace oimap::actors {

supervisor_actor spawn_supervisor(caf::actor_system& sys, run_context_ptr ctx, ui_actor ui);

} // namespace oimap::actors
