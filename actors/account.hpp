// The account actor: one account's sync, its folders spread over its connection pool.
#pragma once

#include "actors/actors.hpp"

#include <caf/fwd.hpp>

namespace oimap::actors {

account_actor spawn_account(caf::actor_system& sys, run_context_ptr ctx, std::string account,
                            ui_actor ui);

} // namespace oimap::actors
