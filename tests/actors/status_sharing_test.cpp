// status_sharing against a private Dovecot: who asks which STATUS, and that
// every folder is answered once, whether the helper joins, stays out or fails.
#include "actors/status_sharing.hpp"

#include "support/dovecot_fixture.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

using namespace oimap;
using namespace oimap::actors;
using namespace std::chrono_literals;

namespace {

struct folders_on_server {
  test::private_dovecot server;
  std::vector<std::string> names;

  explicit folders_on_server(int n) {
    server.add_user("alice", "pw");
    test::imap_dialogue d(server.port());
    d.login("alice", "pw");
    for (int i = 0; i < n; ++i) {
      names.push_back("F" + std::to_string(i));
      REQUIRE(d.command("CREATE " + names.back()).ok());
    }
  }
  std::shared_ptr<protocol::session> connect() const {
    protocol::connect_options o;
    o.host = "127.0.0.1";
    o.port = server.port();
    o.user = "alice";
    o.password = "pw";
    return protocol::session::connect(o);
  }
};

// The first connection asks every folder's STATUS, chunk by chunk; a
// helper with no patience joins with helper_session.
struct round_with_helper {
  std::vector<protocol::status_result> results;
  std::map<std::string, std::uintptr_t> asked_by;
  std::optional<session_lease> helper_lease;
};
round_with_helper run_with_helper(const folders_on_server& s, protocol::session& first,
                                  std::shared_ptr<protocol::session> helper_session) {
  status_sharing sharing(1, 1);
  auto helper = std::async(std::launch::async, [&] {
    return sharing.help(
        0ms, [&]() -> std::optional<session_lease> { return session_lease{helper_session}; });
  });
  round_with_helper out;
  out.results = sharing.run_first(first, s.names, out.asked_by);
  REQUIRE(helper.wait_for(30s) == std::future_status::ready);
  out.helper_lease = helper.get();
  return out;
}

// Every name answered once, by a connection that exists.
void check_answers(const std::vector<std::string>& names,
                   const std::vector<protocol::status_result>& results,
                   const std::map<std::string, std::uintptr_t>& asked_by,
                   const std::set<std::uintptr_t>& tags) {
  std::multiset<std::string> answered;
  for (const auto& r : results) {
    CHECK(r.ok);
    answered.insert(r.mailbox);
  }
  CHECK(answered == std::multiset<std::string>(names.begin(), names.end()));
  CHECK(asked_by.size() == names.size());
  for (const auto& [name, tag] : asked_by)
    CHECK(tags.count(tag) == 1);
}

} // namespace

TEST_CASE("a quick status round is the first connection's alone: the helper never connects",
          "[actors]") {
  folders_on_server s(12);
  auto first = s.connect();
  status_sharing sharing(4, 4);
  int connects = 0;
  auto helper = std::async(std::launch::async, [&] {
    return sharing.help(60s, [&]() -> std::optional<session_lease> {
      ++connects;
      return session_lease{s.connect()};
    });
  });
  std::map<std::string, std::uintptr_t> asked_by;
  const auto results = sharing.run_first(*first, s.names, asked_by);
  // The helper would wait a minute for a slow round; this one is over, so
  // it returns at once.
  REQUIRE(helper.wait_for(30s) == std::future_status::ready);
  CHECK_FALSE(helper.get());
  CHECK(connects == 0);
  check_answers(s.names, results, asked_by, {session_tag(first.get())});
}

TEST_CASE("no round at all: the helper gives up without connecting", "[actors]") {
  status_sharing sharing(4, 4);
  int connects = 0;
  auto helper = std::async(std::launch::async, [&] {
    return sharing.help(60s, [&]() -> std::optional<session_lease> {
      ++connects;
      return std::nullopt;
    });
  });
  sharing.abandon();
  REQUIRE(helper.wait_for(30s) == std::future_status::ready);
  CHECK_FALSE(helper.get());
  CHECK(connects == 0);
}

TEST_CASE("a helper that joins at once shares the round and every folder is answered once",
          "[actors]") {
  folders_on_server s(24);
  auto first = s.connect();
  auto second = s.connect();
  const auto r = run_with_helper(s, *first, second);
  // Whether it got there before the first connection had asked everything
  // is up to the scheduler; what it asked is counted once either way.
  REQUIRE(r.helper_lease);
  CHECK(r.helper_lease->session == second);
  check_answers(s.names, r.results, r.asked_by,
                {session_tag(first.get()), session_tag(second.get())});
}

TEST_CASE("a helper whose connection fails hands its folders back to the first", "[actors]") {
  folders_on_server s(24);
  auto first = s.connect();
  auto broken = s.connect();
  broken->logout(); // every command on it now fails
  const auto r = run_with_helper(s, *first, broken);
  REQUIRE(r.helper_lease);
  // Used and failed, the lease comes back without its session.
  if (r.helper_lease->session)
    CHECK(r.helper_lease->session == broken);
  check_answers(s.names, r.results, r.asked_by, {session_tag(first.get())});
}

TEST_CASE("a round that has seen enough ends there and leaves the rest unasked", "[actors]") {
  folders_on_server s(24);
  auto first = s.connect();
  auto second = s.connect();
  status_sharing sharing(4, 4);
  auto helper = std::async(std::launch::async, [&] {
    return sharing.help(0ms,
                        [&]() -> std::optional<session_lease> { return session_lease{second}; });
  });
  std::map<std::string, std::uintptr_t> asked_by;
  std::vector<std::size_t> seen;
  const auto results = sharing.run_first(*first, s.names, asked_by,
                                         [&](const std::vector<protocol::status_result>& so_far) {
                                           seen.push_back(so_far.size());
                                           return so_far.size() >= 8;
                                         });
  REQUIRE(helper.wait_for(30s) == std::future_status::ready);
  helper.get();
  // Asked after each of the first's chunks, with everything answered so far.
  REQUIRE_FALSE(seen.empty());
  CHECK(seen.back() >= 8);
  for (std::size_t i = 0; i + 1 < seen.size(); ++i)
    CHECK(seen[i] < 8);
  // What was answered is answered once and counted; the rest went unasked,
  // the helper's chunk in flight included in the results.
  CHECK(results.size() >= 8);
  CHECK(results.size() < s.names.size());
  CHECK(asked_by.size() == results.size());
  std::set<std::string> answered;
  for (const auto& r : results) {
    CHECK(r.ok);
    CHECK(answered.insert(r.mailbox).second);
    CHECK(asked_by.count(r.mailbox) == 1);
  }
}

TEST_CASE("the first chunk may be shorter than the rest and samples the whole round", "[actors]") {
  folders_on_server s(24);
  auto first = s.connect();
  status_sharing sharing(2, 8);
  sharing.abandon(); // no helper: the chunks are the first connection's alone
  std::map<std::string, std::uintptr_t> asked_by;
  std::vector<std::size_t> seen;
  const auto results = sharing.run_first(*first, s.names, asked_by,
                                         [&](const std::vector<protocol::status_result>& so_far) {
                                           seen.push_back(so_far.size());
                                           return false;
                                         });
  CHECK(seen == std::vector<std::size_t>{2, 10, 18, 24});
  REQUIRE(results.size() == 24);
  CHECK(results[0].mailbox == "F0");
  CHECK(results[1].mailbox == "F12");
  check_answers(s.names, results, asked_by, {session_tag(first.get())});
}

TEST_CASE("a burst shows in every answer of the first chunk or in three of four after",
          "[actors]") {
  struct row {
    std::size_t asked, changed;
    bool burst;
  };
  const status_sharing sharing(4, 8); // first chunk 4, later chunks 8
  const row rows[] = {
      // not before the first chunk is in
      {0, 0, false},
      {3, 3, false},
      // until a full chunk is in: all of them
      {4, 4, true},
      {4, 3, false},
      {6, 6, true},
      {6, 5, false},
      // from a full chunk on: three in four
      {8, 6, true},
      {8, 5, false},
      {12, 9, true},
      {12, 8, false},
      {40, 30, true},
      {40, 29, false},
  };
  for (const auto& r : rows) {
    INFO(r.asked << " asked, " << r.changed << " changed");
    CHECK(sharing.shows_burst(r.asked, r.changed) == r.burst);
  }
}
