// Renderers turn ui events into text: ttyui, basic and quiet, after OfflineIMAP's UIs.
#pragma once

#include "config/settings.hpp"
#include "ui/ui_event.hpp"

#include <cstdio>
#include <memory>

namespace oimap::ui {

struct output {
  std::FILE* out = stdout;
  std::FILE* err = stderr;
  std::FILE* log = nullptr; // -l: a copy of everything, debug output only there
};

class renderer {
public:
  virtual ~renderer() = default;
  virtual void handle(const ui_event& e) = 0;
};

// blinkenlights and machineui fall back to ttyui/basic until they exist.
std::unique_ptr<renderer> make_renderer(config::ui_kind kind, output out);

// "1.2 MB", "512 B": for summaries.
std::string human_bytes(std::uint64_t n);

} // namespace oimap::ui
