// Planner properties on generated folders: safe actions, convergence, order independence, scale.
#include "sync/plan_text.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <set>

using namespace oimap::sync;
using namespace oimap::sync::test;

namespace {

// A folder pair as the stores and the status db would hold it after a run.
struct folder_state {
  std::map<uid_t, flag_set> remote;
  std::map<std::string, local_message> local; // by key
  std::map<uid_t, flag_set> status;
  uid_t next_uid = 1; // the server's UIDNEXT: never reuses a uid

  plan_input input(std::uint32_t uidvalidity) const {
    plan_input in;
    for (const auto& [uid, flags] : remote)
      in.remote.push_back({uid, flags});
    for (const auto& [key, m] : local)
      in.local.push_back(m);
    for (const auto& [uid, flags] : status)
      in.status.push_back({uid, flags});
    in.stored_uidvalidity = uidvalidity;
    in.remote_uidvalidity = uidvalidity;
    return in;
  }

  bool local_claims(uid_t uid) const {
    return std::any_of(local.begin(), local.end(),
                       [uid](const auto& kv) { return kv.second.uid == uid; });
  }
};

template <typename T, typename Less> bool strictly_sorted(const std::vector<T>& v, Less less) {
  return std::adjacent_find(v.begin(), v.end(), [&](const T& a, const T& b) { return !less(a, b); })
         == v.end();
}

// Checks every action against the state it is meant for (what a store would
// refuse, or what would lose mail), then performs it as the actors would.
void apply(folder_state& st, const plan_result& p, const plan_options& opt) {
  REQUIRE_FALSE(p.uidvalidity_changed);

  auto by_uid = [](const auto& a, const auto& b) { return a.uid < b.uid; };
  auto by_key = [](const auto& a, const auto& b) { return a.key < b.key; };
  auto less = std::less<>{};
  REQUIRE(strictly_sorted(p.download, by_uid));
  REQUIRE(strictly_sorted(p.upload, by_key));
  REQUIRE(strictly_sorted(p.delete_local, by_uid));
  REQUIRE(strictly_sorted(p.delete_remote, less));
  REQUIRE(strictly_sorted(p.set_local_flags, by_uid));
  REQUIRE(strictly_sorted(p.set_remote_flags, by_uid));
  REQUIRE(strictly_sorted(p.status_set, by_uid));
  REQUIRE(strictly_sorted(p.status_erase, less));
  REQUIRE(strictly_sorted(p.duplicate_keys, less));

  // Options forbid whole kinds of action.
  if (opt.remote_readonly)
    REQUIRE((p.upload.empty() && p.delete_remote.empty() && p.set_remote_flags.empty()));
  if (opt.local_readonly)
    REQUIRE((p.download.empty() && p.delete_local.empty() && p.set_local_flags.empty()));
  if (!opt.remote_sync_deletes)
    REQUIRE(p.delete_local.empty());
  if (!opt.local_sync_deletes)
    REQUIRE(p.delete_remote.empty());

  // Each file and each server uid is touched by at most one action.
  std::set<std::string> keys_touched;
  std::set<uid_t> uids_touched;
  auto touch_key = [&](const std::string& k) { REQUIRE(keys_touched.insert(k).second); };
  auto touch_uid = [&](uid_t u) { REQUIRE(uids_touched.insert(u).second); };

  for (const auto& d : p.duplicate_keys) {
    // A duplicate shares its uid with a file whose key sorts first.
    REQUIRE(st.local.count(d));
    const auto uid = st.local.at(d).uid;
    REQUIRE(uid);
    REQUIRE(std::any_of(st.local.begin(), st.local.find(d),
                        [&](const auto& kv) { return kv.second.uid == uid; }));
    touch_key(d);
  }
  for (const auto& d : p.delete_local) {
    // Only a message the server deleted since the last agreement.
    REQUIRE(st.local.count(d.key));
    REQUIRE(st.local.at(d.key).uid == d.uid);
    REQUIRE(st.status.count(d.uid));
    REQUIRE_FALSE(st.remote.count(d.uid));
    touch_key(d.key);
  }
  for (uid_t uid : p.delete_remote) {
    // Only a message deleted locally since the last agreement.
    REQUIRE(st.remote.count(uid));
    REQUIRE(st.status.count(uid));
    REQUIRE_FALSE(st.local_claims(uid));
    touch_uid(uid);
  }
  for (const auto& m : p.download) {
    REQUIRE(st.remote.count(m.uid));
    REQUIRE(st.remote.at(m.uid) == m.flags);
    REQUIRE_FALSE(st.status.count(m.uid));
    REQUIRE_FALSE(st.local_claims(m.uid));
    touch_uid(m.uid);
  }
  for (const auto& m : p.upload) {
    REQUIRE(st.local.count(m.key));
    REQUIRE(st.local.at(m.key) == m);
    if (m.uid)
      REQUIRE_FALSE((st.remote.count(*m.uid) || st.status.count(*m.uid)));
    touch_key(m.key);
  }
  for (const auto& c : p.set_local_flags) {
    REQUIRE(st.local.count(c.key));
    REQUIRE(st.local.at(c.key).uid == c.uid);
    REQUIRE(st.local.at(c.key).flags != c.flags);
    touch_key(c.key);
  }
  for (const auto& c : p.set_remote_flags) {
    REQUIRE(st.remote.count(c.uid));
    const flag_set now = st.remote.at(c.uid);
    REQUIRE_FALSE((c.add.empty() && c.remove.empty()));
    REQUIRE((c.add & now).empty());
    REQUIRE((c.remove - now).empty());
    touch_uid(c.uid);
  }
  for (const auto& e : p.status_set) {
    REQUIRE((!st.status.count(e.uid) || st.status.at(e.uid) != e.flags));
    REQUIRE(st.remote.count(e.uid));
    REQUIRE(st.local_claims(e.uid));
  }
  for (uid_t uid : p.status_erase) {
    REQUIRE(st.status.count(uid));
    REQUIRE_FALSE(st.remote.count(uid));
    REQUIRE_FALSE(st.local_claims(uid));
  }

  // Perform them.
  for (const auto& d : p.delete_local) {
    st.local.erase(d.key);
    st.status.erase(d.uid);
  }
  for (uid_t uid : p.delete_remote) {
    st.remote.erase(uid);
    st.status.erase(uid);
  }
  for (const auto& c : p.set_local_flags)
    st.local.at(c.key).flags = c.flags;
  for (const auto& c : p.set_remote_flags)
    st.remote.at(c.uid) = (st.remote.at(c.uid) | c.add) - c.remove;
  for (const auto& e : p.status_set)
    st.status[e.uid] = e.flags;
  for (uid_t uid : p.status_erase)
    st.status.erase(uid);
  for (const auto& m : p.download) {
    const std::string key = "downloaded" + std::to_string(m.uid);
    REQUIRE_FALSE(st.local.count(key));
    st.local[key] = local_message{key, m.uid, m.flags};
    st.status[m.uid] = m.flags;
  }
  for (const auto& m : p.upload) {
    const uid_t uid = st.next_uid++;
    st.remote[uid] = m.flags;
    st.local.at(m.key).uid = uid;
    st.status[uid] = m.flags;
  }
}

// Small uid ranges, so files share uids and every rule meets every other.
folder_state random_state(std::mt19937& rng) {
  auto coin = [&](int percent) { return std::uniform_int_distribution<int>(0, 99)(rng) < percent; };
  auto any_flags = [&] {
    return flag_set(static_cast<std::uint8_t>(std::uniform_int_distribution<int>(0, 31)(rng)));
  };
  // Mostly a side agrees with the base, so "nothing changed" is common too.
  auto near = [&](flag_set base) { return coin(50) ? base : any_flags(); };

  folder_state st;
  const uid_t uids = static_cast<uid_t>(std::uniform_int_distribution<int>(0, 10)(rng));
  for (uid_t uid = 1; uid <= uids; ++uid) {
    const flag_set base = any_flags();
    if (coin(50))
      st.status[uid] = base;
    if (coin(50))
      st.remote[uid] = near(base);
  }
  const int files = std::uniform_int_distribution<int>(0, 10)(rng);
  for (int i = 0; i < files; ++i) {
    std::string key;
    do
      key = "k" + std::to_string(std::uniform_int_distribution<int>(0, 999)(rng));
    while (st.local.count(key));
    local_message m{key, std::nullopt, any_flags()};
    if (!coin(20)) {
      // Uids a little past the known ones: files copied in from elsewhere.
      m.uid = static_cast<uid_t>(std::uniform_int_distribution<int>(1, int(uids) + 2)(rng));
      if (st.status.count(*m.uid))
        m.flags = near(st.status[*m.uid]);
    }
    st.local[key] = m;
  }
  uid_t max_uid = 0;
  for (const auto& [uid, f] : st.remote)
    max_uid = std::max(max_uid, uid);
  for (const auto& [uid, f] : st.status)
    max_uid = std::max(max_uid, uid);
  for (const auto& [key, m] : st.local)
    max_uid = std::max(max_uid, m.uid.value_or(0));
  st.next_uid = max_uid + 1;
  return st;
}

plan_options random_options(std::mt19937& rng) {
  auto coin = [&](int percent) { return std::uniform_int_distribution<int>(0, 99)(rng) < percent; };
  if (coin(40))
    return {};
  return {coin(70), coin(70), coin(30), coin(30)};
}

} // namespace

TEST_CASE("planning again after applying a plan yields an empty plan") {
  std::mt19937 rng(20240517);
  std::size_t nonempty = 0, with_duplicates = 0;
  for (int i = 0; i < 4000; ++i) {
    folder_state st = random_state(rng);
    const plan_options opt = random_options(rng);
    const plan_input before = st.input(1);
    INFO("case " << i << "\n" << describe(before, opt));

    const plan_result first = plan(before, opt);
    INFO("first plan: " << describe(first));
    apply(st, first, opt);

    const plan_input after = st.input(1);
    INFO("after applying it\n" << describe(after, opt));
    const plan_result second = plan(after, opt);
    INFO("second plan: " << describe(second));
    REQUIRE(second.empty());
    // Duplicates are left alone, so the same ones are still reported.
    REQUIRE(second.duplicate_keys == first.duplicate_keys);

    nonempty += !first.empty();
    with_duplicates += !first.duplicate_keys.empty();
  }
  // The generator must actually exercise the planner.
  CHECK(nonempty > 3000);
  CHECK(with_duplicates > 200);
}

TEST_CASE("input order does not change the plan") {
  std::mt19937 rng(7);
  for (int i = 0; i < 1000; ++i) {
    const folder_state st = random_state(rng);
    const plan_options opt = random_options(rng);
    const plan_input in = st.input(1);
    plan_input shuffled = in;
    std::shuffle(shuffled.remote.begin(), shuffled.remote.end(), rng);
    std::shuffle(shuffled.local.begin(), shuffled.local.end(), rng);
    std::shuffle(shuffled.status.begin(), shuffled.status.end(), rng);
    INFO("case " << i << "\n" << describe(in, opt));
    REQUIRE(describe(plan(shuffled, opt)) == describe(plan(in, opt)));
    REQUIRE(plan(shuffled, opt) == plan(in, opt));
  }
}

TEST_CASE("a changed UIDVALIDITY yields no action whatever the folder holds") {
  std::mt19937 rng(99);
  for (int i = 0; i < 500; ++i) {
    const folder_state st = random_state(rng);
    plan_input in = st.input(5);
    in.remote_uidvalidity = 6;
    plan_result want;
    want.uidvalidity_changed = true;
    REQUIRE(plan(in, random_options(rng)) == want);
  }
}

TEST_CASE("100k messages") {
  constexpr uid_t n = 100'000;
  plan_input in;
  in.stored_uidvalidity = in.remote_uidvalidity = 1;
  for (uid_t uid = 1; uid <= n; ++uid) {
    const flag_set flags(static_cast<std::uint8_t>(uid % 32));
    in.remote.push_back({uid, flags});
    in.status.push_back({uid, flags});
    in.local.push_back({"m" + std::to_string(uid), uid, flags});
  }
  // Keys in an order unlike uid order, as a directory listing gives them.
  std::mt19937 rng(3);
  std::shuffle(in.local.begin(), in.local.end(), rng);

  SECTION("nothing changed: empty plan") {
    const plan_result p = plan(in, {});
    CHECK(p.empty());
    CHECK(p.duplicate_keys.empty());
    CHECK_FALSE(p.uidvalidity_changed);
  }
  SECTION("first run against an empty Maildir: every message downloaded once, in order") {
    in.local.clear();
    in.status.clear();
    in.stored_uidvalidity.reset();
    const plan_result p = plan(in, {});
    REQUIRE(p.download.size() == n);
    CHECK(p.download.front().uid == 1);
    CHECK(p.download.back().uid == n);
    CHECK(std::is_sorted(p.download.begin(), p.download.end(),
                         [](const auto& a, const auto& b) { return a.uid < b.uid; }));
    CHECK(p.download[4].flags == flag_set(5));
  }
  SECTION("every tenth message re-flagged remotely: exactly those follow locally") {
    for (auto& m : in.remote)
      if (m.uid % 10 == 0)
        m.flags = flag_set(flag_set::all_bits) - m.flags; // differs from S whatever it was
    const plan_result p = plan(in, {});
    CHECK(p.set_local_flags.size() == n / 10);
    CHECK(p.status_set.size() == n / 10);
    CHECK(p.set_remote_flags.empty());
    CHECK(p.download.empty());
  }
}
