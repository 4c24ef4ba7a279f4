// The connection pool actor: permits up to the cap, idle sessions first, and a
// session handed to the folder that asked for that one.
#include "actors/connection_pool.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <optional>

using namespace oimap::actors;

namespace {

// A lease whose session pointer is only an identity: the pool never uses a
// session, it only tells them apart (aliasing an empty owner: nothing to free).
session_lease fake_session(std::uintptr_t id) {
  return session_lease{std::shared_ptr<oimap::protocol::session>(
      std::shared_ptr<void>(), reinterpret_cast<oimap::protocol::session*>(id))};
}

// Gives a lease back straight to the pool actor: checkin() would ask a fake
// session whether it is still usable.
void give_back(const connection_pool_actor& pool, session_lease lease) {
  caf::anon_send(pool, checkin_atom::value, std::move(lease));
}

// A checkout left waiting at the pool, answered later.
struct pending_checkout {
  explicit pending_checkout(caf::actor_system& sys) : self(sys, true) {}
  caf::scoped_actor self;
  void ask(const connection_pool_actor& pool, std::uintptr_t prefer) {
    self->send(pool, checkout_atom::value, prefer);
  }
  // The lease the pool answered with, if it did within the deadline.
  std::optional<session_lease> answer(std::chrono::milliseconds deadline) {
    std::optional<session_lease> got;
    self->receive([&](session_lease l) { got = std::move(l); }, caf::after(deadline) >> [] {});
    return got;
  }
};

// An actor system and the pool for one test: the pool is stopped however
// the test ends (a live actor would keep the system's destructor waiting).
struct pool_under_test {
  explicit pool_under_test(int cap) : pool(spawn_connection_pool(sys, cap)) {}
  ~pool_under_test() { caf::anon_send_exit(pool, caf::exit_reason::user_shutdown); }
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  connection_pool_actor pool;
};

} // namespace

TEST_CASE("the pool gives permits up to its cap, then idle sessions, the asked-for one first",
          "[actors]") {
  pool_under_test p(2);
  auto& sys = p.sys;
  auto& pool = p.pool;

  CHECK_FALSE(checkout(sys, pool).session); // a permit: connect yourself
  CHECK_FALSE(checkout(sys, pool).session);
  give_back(pool, fake_session(0x1000));
  give_back(pool, fake_session(0x2000));
  CHECK(checkout(sys, pool, 0x1000).tag() == 0x1000);
  CHECK(checkout(sys, pool, 0x3000).tag() == 0x2000); // not there: any idle one
}

TEST_CASE("a session given back goes to the waiting folder that asked for it, else to the first "
          "in line",
          "[actors]") {
  pool_under_test p(1);
  auto& sys = p.sys;
  auto& pool = p.pool;
  CHECK_FALSE(checkout(sys, pool).session); // the one permit is out

  pending_checkout wants_a(sys), wants_b(sys), wants_any(sys);
  wants_a.ask(pool, 0xa000);
  wants_b.ask(pool, 0xb000);
  wants_any.ask(pool, 0);
  using namespace std::chrono_literals;
  CHECK_FALSE(wants_a.answer(50ms)); // all three wait

  give_back(pool, fake_session(0xb000));
  auto b = wants_b.answer(5s);
  REQUIRE(b);
  CHECK(b->tag() == 0xb000);

  give_back(pool, fake_session(0xc000)); // nobody asked for this one
  auto first = wants_a.answer(5s);
  REQUIRE(first);
  CHECK(first->tag() == 0xc000);
  CHECK_FALSE(wants_any.answer(50ms));
}

TEST_CASE("a lowered cap holds back new permits, and a raised one hands them to those waiting",
          "[actors]") {
  pool_under_test p(3);
  auto& sys = p.sys;
  auto& pool = p.pool;
  caf::anon_send(pool, limit_atom::value, 1);
  CHECK_FALSE(checkout(sys, pool).session); // the one permit

  pending_checkout second(sys), third(sys);
  second.ask(pool, 0);
  third.ask(pool, 0);
  using namespace std::chrono_literals;
  CHECK_FALSE(second.answer(50ms)); // over the cap: both wait

  caf::anon_send(pool, limit_atom::value, 2);
  auto permit = second.answer(5s);
  REQUIRE(permit);
  CHECK_FALSE(permit->session);
  CHECK_FALSE(third.answer(50ms)); // 2 out: the third still waits

  caf::anon_send(pool, limit_atom::value, 3);
  permit = third.answer(5s);
  REQUIRE(permit);
  CHECK_FALSE(permit->session);
}
