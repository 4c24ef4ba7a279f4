// maxage and maxsize as a window: the dates asked for, and what the plan no longer sees.
#include "sync/message_window.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <map>

using namespace oimap;
using namespace oimap::sync;

namespace {

std::time_t local_noon(int year, int month, int day) {
  std::tm t{};
  t.tm_year = year - 1900;
  t.tm_mon = month - 1;
  t.tm_mday = day;
  t.tm_hour = 12;
  t.tm_isdst = -1;
  return std::mktime(&t);
}

config::account_settings account(std::optional<config::account_settings::age_limit> age,
                                 std::optional<int> maxsize) {
  config::account_settings a;
  a.maxage = age;
  a.maxsize = maxsize;
  return a;
}

} // namespace

TEST_CASE("maxage and maxsize become a SINCE date, a size, and a description", "[message_window]") {
  const auto now = local_noon(2026, 3, 2);
  CHECK_FALSE(window_of(account({}, {}), now).active());
  CHECK(window_of(account({}, {}), now).description.empty());

  // Days count back across the month's start (and February's end).
  auto w = window_of(account(config::account_settings::age_limit{3, 0, 0, 0}, {}), now);
  CHECK(w.since == "27-Feb-2026");
  CHECK_FALSE(w.maxsize);
  CHECK(w.description == "maxage=3");
  // A date as given; English month names whatever the locale.
  w = window_of(account(config::account_settings::age_limit{0, 2025, 12, 9}, 200000), now);
  CHECK(w.since == "9-Dec-2025");
  CHECK(w.maxsize == 200000u);
  CHECK(w.description == "maxage=9-Dec-2025;maxsize=200000");
  // The description does not move with the days: the same limits next week.
  CHECK(window_of(account(config::account_settings::age_limit{3, 0, 0, 0}, {}),
                  local_noon(2026, 3, 9))
            .description
        == "maxage=3");
}

TEST_CASE("what lies outside the window is taken out of R, L and S alike", "[message_window]") {
  using storage::flag;
  // uids 1..6: 1-2 older than maxage (below min_uid 3), 5 larger than maxsize.
  const message_window w{3, {5}};
  CHECK_FALSE(w.contains(2));
  CHECK(w.contains(3));
  CHECK_FALSE(w.contains(5));
  CHECK(w.contains(6));

  plan_input in;
  for (uid_t u = 1; u <= 6; ++u) {
    in.remote.push_back({u, flag::seen});
    in.status.push_back({u, flag::seen});
  }
  in.local = {{"k1", 1, flag::seen}, {"k4", 4, flag::seen}, {"k5", 5, flag::seen},
              {"new-small", {}, {}}, {"new-big", {}, {}},   {"new-unknown", {}, {}}};
  const std::map<std::string, std::uint64_t> sizes{
      {"new-small", 999}, {"new-big", 1000}}; // maxsize 1000: 1000 bytes is out
  const auto left = leave_outside(in, w, 1000, [&](const std::string& key) {
    const auto it = sizes.find(key);
    return it == sizes.end() ? std::nullopt : std::optional<std::uint64_t>(it->second);
  });
  std::vector<uid_t> remote, status;
  for (const auto& m : in.remote)
    remote.push_back(m.uid);
  for (const auto& s : in.status)
    status.push_back(s.uid);
  std::vector<std::string> local;
  for (const auto& m : in.local)
    local.push_back(m.key);
  CHECK(remote == std::vector<uid_t>{3, 4, 6});
  CHECK(status == std::vector<uid_t>{3, 4, 6});
  // A new file over maxsize is not uploaded; one whose size is unknown is.
  CHECK(local == std::vector<std::string>{"k4", "new-small", "new-unknown"});
  CHECK(left == std::vector<std::string>{"new-big"});

  SECTION("without maxsize no file is measured") {
    plan_input again;
    again.local = {{"new", {}, {}}};
    bool asked = false;
    leave_outside(again, message_window{}, std::nullopt, [&](const std::string&) {
      asked = true;
      return std::optional<std::uint64_t>(1);
    });
    CHECK_FALSE(asked);
    CHECK(again.local.size() == 1);
  }
}
