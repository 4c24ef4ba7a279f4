// The ui actor: a detached actor that feeds events to one renderer.
#include "actors/ui_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace oimap::actors {

ui_actor spawn_ui(caf::actor_system& sys, std::unique_ptr<ui::renderer> renderer) {
  std::shared_ptr<ui::renderer> r(std::move(renderer));
  return sys.spawn<caf::detached>([r](ui_actor::pointer) -> ui_actor::behavior_type {
    return {
        [r](const ui::ui_event& e) { r->handle(e); },
        [](drain_atom) { return true; },
    };
  });
}

} // namespace oimap::actors
