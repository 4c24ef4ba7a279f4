// The pool hands out idle sessions first, then permits to connect, then makes callers wait.
#include "actors/connection_pool.hpp"

#include "protocol/session.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <algorithm>
#include <deque>
#include <iterator>

namespace oimap::actors {
namespace {

struct waiter {
  caf::typed_response_promise<session_lease> rp;
  std::uintptr_t prefer = 0;
};

struct pool_state {
  int cap = 1;
  int out = 0; // sessions and permits handed out
  std::vector<session_lease> idle;
  std::deque<waiter> waiting;
  static inline const char* name = "connection_pool";
};

using pool_pointer = connection_pool_actor::stateful_pointer<pool_state>;

connection_pool_actor::behavior_type pool_behavior(pool_pointer self, int cap) {
  self->state.cap = cap < 1 ? 1 : cap;
  return {
      [self](checkout_atom, std::uintptr_t prefer) -> caf::result<session_lease> {
        auto& st = self->state;
        if (!st.idle.empty()) {
          auto it = std::find_if(st.idle.begin(), st.idle.end(),
                                 [&](const session_lease& l) { return l.tag() == prefer; });
          if (it == st.idle.end())
            it = std::prev(st.idle.end());
          auto lease = std::move(*it);
          st.idle.erase(it);
          return lease;
        }
        if (st.out < st.cap) {
          ++st.out;
          return session_lease{};
        }
        auto rp = self->make_response_promise<session_lease>();
        st.waiting.push_back({rp, prefer});
        return rp;
      },
      [self](checkin_atom, session_lease lease) {
        auto& st = self->state;
        if (!st.waiting.empty()) {
          // Hand the session (or, when it was lost, a permit) to the first
          // in line who wants this one, else to the next in line.
          auto it = std::find_if(st.waiting.begin(), st.waiting.end(), [&](const waiter& w) {
            return lease.session && w.prefer == lease.tag();
          });
          if (it == st.waiting.end())
            it = st.waiting.begin();
          auto rp = std::move(it->rp);
          st.waiting.erase(it);
          rp.deliver(std::move(lease));
          return;
        }
        if (lease.session)
          st.idle.push_back(std::move(lease));
        else
          --st.out;
      },
      [self](limit_atom, int cap) {
        // Sessions already out stay out; a raised cap lets those waiting
        // connect at once.
        auto& st = self->state;
        st.cap = cap < 1 ? 1 : cap;
        while (!st.waiting.empty() && st.out < st.cap) {
          ++st.out;
          auto rp = std::move(st.waiting.front().rp);
          st.waiting.pop_front();
          rp.deliver(session_lease{});
        }
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

session_lease checkout(caf::actor_system& sys, const connection_pool_actor& pool,
                       std::uintptr_t prefer) {
  caf::scoped_actor self{sys, true};
  return checkout(self, pool, prefer);
}

session_lease checkout(caf::scoped_actor& self, const connection_pool_actor& pool,
                       std::uintptr_t prefer) {
  auto& sys = self->system();
  session_lease lease;
  std::string err;
  self->request(pool, caf::infinite, checkout_atom::value, prefer)
      .receive([&](session_lease l) { lease = std::move(l); },
               [&](caf::error& e) { err = sys.render(e); });
  if (!err.empty())
    throw std::runtime_error("no connection: " + err);
  return lease;
}

void checkin(const connection_pool_actor& pool, session_lease lease) {
  // A connection an error left unusable (say a Maildir write failed while
  // its FETCH was streaming) goes back as a permit: the next folder would
  // only fail with this one's error.
  if (lease.session && !lease.session->usable())
    lease.session.reset();
  caf::anon_send(pool, checkin_atom::value, std::move(lease));
}

} // namespace oimap::actors
