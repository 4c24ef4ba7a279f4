// The pool hands out idle sessions first, then permits to connect, then makes callers wait.
#include "actors/connection_pool.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <deque>

namespace oimap::actors {
namespace {

struct pool_state {
  int cap = 1;
  int out = 0; // sessions and permits handed out
  std::vector<session_lease> idle;
  std::deque<caf::typed_response_promise<session_lease>> waiting;
  static inline const char* name = "connection_pool";
};

using pool_pointer = connection_pool_actor::stateful_pointer<pool_state>;

connection_pool_actor::behavior_type pool_behavior(pool_pointer self, int cap) {
  self->state.cap = cap < 1 ? 1 : cap;
  return {
      [self](checkout_atom) -> caf::result<session_lease> {
        auto& st = self->state;
        if (!st.idle.empty()) {
          auto lease = std::move(st.idle.back());
          st.idle.pop_back();
          return lease;
        }
        if (st.out < st.cap) {
          ++st.out;
          return session_lease{};
        }
        auto rp = self->make_response_promise<session_lease>();
        st.waiting.push_back(rp);
        return rp;
      },
      [self](checkin_atom, session_lease lease) {
        auto& st = self->state;
        if (!st.waiting.empty()) {
          // Hand the session (or, when it was lost, a permit) to the next in line.
          auto rp = std::move(st.waiting.front());
          st.waiting.pop_front();
          rp.deliver(std::move(lease));
          return;
        }
        if (lease.session)
          st.idle.push_back(std::move(lease));
        else
          --st.out;
      },
      [self](limit_atom, int cap) {
        // Only new permits are affected; sessions already out stay out.
        self->state.cap = cap < 1 ? 1 : cap;
      },
      [self](drain_atom) {
        auto& st = self->state;
        auto idle = std::move(st.idle);
        st.idle.clear();
        st.out -= static_cast<int>(idle.size());
        return idle;
      },
  };
}

} // namespace

connection_pool_actor spawn_connection_pool(caf::actor_system& sys, int maxconnections) {
  return sys.spawn(pool_behavior, maxconnections);
}

session_lease checkout(caf::actor_system& sys, const connection_pool_actor& pool) {
  caf::scoped_actor self{sys, true};
  session_lease lease;
  std::string err;
  self->request(pool, caf::infinite, checkout_atom::value)
      .receive([&](session_lease l) { lease = std::move(l); },
               [&](caf::error& e) { err = sys.render(e); });
  if (!err.empty())
    throw std::runtime_error("no connection: " + err);
  return lease;
}

void checkin(caf::actor_system& sys, const connection_pool_actor& pool, session_lease lease) {
  caf::scoped_actor self{sys, true};
  self->send(pool, checkin_atom::value, std::move(lease));
}

} // namespace oimap::actors
