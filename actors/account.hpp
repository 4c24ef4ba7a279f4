// The account actor: one account's sync, its folders spread over its connection pool.
#pragma once

#include "actors/actors.hpp"

#include <caf/fwd.hpp>

namespace oimap::actors {

// accounts_at_once: how many accounts sync at the same time as this one,
// itself included, when it starts (see connection_cap in account.cpp); the
// supervisor sends at_once_atom when that drops.
account_actor spawn_account(caf::actor_system& sys, run_context_ptr ctx, std::string account,
                            ui_actor ui, int accounts_at_once = 1);

} // namespace oimap::actors
