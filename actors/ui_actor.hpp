// The ui actor: owns the renderer, so output from many threads never interleaves.
#pragma once

#include "actors/actors.hpp"
#include "ui/renderer.hpp"

#include <caf/fwd.hpp>

namespace oimap::actors {

ui_actor spawn_ui(caf::actor_system& sys, std::unique_ptr<ui::renderer> renderer);

} // namespace oimap::actors
