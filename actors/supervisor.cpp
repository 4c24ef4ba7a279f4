// The supervisor keeps up to maxsyncaccounts account actors running and folds their exit codes.
#include "actors/supervisor.hpp"

#include "actors/account.hpp"
#include "config/settings.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <deque>
#include <map>

namespace oimap::actors {
namespace {

struct supervisor_state {
  run_context_ptr ctx;
  ui_actor ui;
  std::deque<std::string> queue;
  std::map<int, account_actor> running; // by the order they started in
  int started = 0;
  int exit_code = 0;
  caf::typed_response_promise<int> rp;
  static inline const char* name = "supervisor";
};

using supervisor_pointer = supervisor_actor::stateful_pointer<supervisor_state>;

void launch_more(supervisor_pointer self);

// With no account left to take its place, the ones still running sync fewer
// at once and may share out its connections (see connection_cap).
void account_ended(supervisor_pointer self, int id) {
  auto& st = self->state;
  st.running.erase(id);
  launch_more(self);
  if (st.queue.empty() && !st.ctx->stop->load())
    for (const auto& [other, account] : st.running)
      self->send(account, at_once_atom::value, static_cast<int>(st.running.size()));
}

void launch_more(supervisor_pointer self) {
  auto& st = self->state;
  const int cap = std::max(1, st.ctx->settings->general.maxsyncaccounts);
  while (!st.queue.empty() && static_cast<int>(st.running.size()) < cap && !st.ctx->stop->load()) {
    auto name = std::move(st.queue.front());
    st.queue.pop_front();
    // The others running, this one and those still to come, as many as fit.
    const int at_once =
        std::min<int>(cap, static_cast<int>(st.running.size() + 1 + st.queue.size()));
    auto account = spawn_account(self->system(), st.ctx, name, st.ui, at_once);
    const int id = st.started++;
    st.running.emplace(id, account);
    self->request(account, caf::infinite, run_atom::value)
        .then(
            [self, id](account_report& r) {
              auto& st = self->state;
              // 2 (UIDVALIDITY) outranks 1 (errors), as in OfflineIMAP.
              if (r.exit_code == 2 || (r.exit_code == 1 && st.exit_code == 0))
                st.exit_code = r.exit_code;
              account_ended(self, id);
            },
            [self, id](caf::error&) {
              auto& st = self->state;
              if (st.exit_code == 0)
                st.exit_code = 1;
              account_ended(self, id);
            });
  }
  if (st.running.empty() && (st.queue.empty() || st.ctx->stop->load()))
    st.rp.deliver(st.exit_code);
}

supervisor_actor::behavior_type supervisor_behavior(supervisor_pointer self, run_context_ptr ctx,
                                                    ui_actor ui) {
  self->state.ctx = std::move(ctx);
  self->state.ui = std::move(ui);
  return {
      [self](run_atom) -> caf::result<int> {
        auto& st = self->state;
        st.rp = self->make_response_promise<int>();
        for (const auto& a : st.ctx->settings->accounts)
          st.queue.push_back(a.name);
        launch_more(self);
        return st.rp;
      },
  };
}

} // namespace

supervisor_actor spawn_supervisor(caf::actor_system& sys, run_context_ptr ctx, ui_actor ui) {
  return sys.spawn(supervisor_behavior, std::move(ctx), std::move(ui));
}

} // namespace oimap::actors
