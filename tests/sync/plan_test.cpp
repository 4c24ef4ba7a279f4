// The sync planner as tables: (remote, local, status, options) -> expected plan.
#include "sync/plan_text.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>

using namespace oimap::sync;
using namespace oimap::sync::test;

namespace {

// One table row. Inputs and the expected plan use the notation of plan_text.hpp.
struct row {
  const char* name;
  const char* remote;
  const char* local;
  const char* status;
  plan_options opt;
  const char* expected;
  std::optional<std::uint32_t> stored_uidvalidity = 1;
  std::uint32_t remote_uidvalidity = 1;
};

const plan_options defaults{};
const plan_options no_remote_deletes{.remote_sync_deletes = false};
const plan_options no_local_deletes{.local_sync_deletes = false};
const plan_options no_expunge{.expunge = false};
const plan_options no_deletes{.remote_sync_deletes = false, .local_sync_deletes = false};
const plan_options remote_ro{.remote_readonly = true};
const plan_options local_ro{.local_readonly = true};
const plan_options both_ro{.remote_readonly = true, .local_readonly = true};

plan_input input_of(const row& r) {
  return plan_input{remote_of(r.remote), local_of(r.local), status_of(r.status),
                    r.stored_uidvalidity, r.remote_uidvalidity};
}

void check_table(const std::vector<row>& rows) {
  for (const row& r : rows) {
    INFO("row: " << r.name);
    CHECK(describe(plan(input_of(r), r.opt)) == r.expected);
  }
}

} // namespace

TEST_CASE("empty folder and UIDVALIDITY") {
  check_table({
      {"empty folder, first run", "", "", "", defaults, "", std::nullopt, 7},
      {"empty folder, synced before", "", "", "", defaults, ""},
      {"first run downloads and uploads everything", "2:S 1:", "b: a:F", "", defaults,
       "download 1: 2:S; upload a:F b:", std::nullopt, 42},
      {"first run over an OfflineIMAP Maildir: shared uids are only recorded", "1:S 2:", "a=1:S",
       "", defaults, "download 2:; status_set 1:S", std::nullopt, 42},
      {"stored value equal: normal sync", "1:", "", "", defaults, "download 1:", 9, 9},
      {"changed: nothing at all, not even deletions",
       "1:S 3:", "a=1: b: c=2:", "1:S 2: 4:", defaults, "uidvalidity_changed", 9, 10},
      {"changed with every option off: still stops", "1:", "b:", "2:", both_ro,
       "uidvalidity_changed", 9, 10},
      {"changed on an empty folder: still reported", "", "", "", defaults, "uidvalidity_changed", 1,
       2},
      {"no stored value, status entries present: trusted as they are",
       "1:", "a=1:", "1: 5:", defaults, "status_erase 5", std::nullopt, 3},
  });
}

TEST_CASE("rule 1: local mail without a known uid is uploaded") {
  check_table({
      {"one new file", "", "a:S", "", defaults, "upload a:S"},
      {"sorted by key, whatever the input order", "", "c: a:F b:RS", "", defaults,
       "upload a:F b:RS c:"},
      {"remote read-only: nothing", "", "a:S", "", remote_ro, ""},
      {"local read-only: still uploaded (only reads the Maildir)", "", "a:S", "", local_ro,
       "upload a:S"},
      {"sync_deletes off changes nothing", "", "a:", "", no_deletes, "upload a:"},
      {"uid known to neither R nor S: new mail, keeps its old uid in the action",
       "1:", "a=9:S b=1:", "1:", defaults, "upload a=9:S"},
      {"unknown uid claimed twice: both are new mail, no duplicates", "", "b=9:S a=9:", "",
       defaults, "upload a=9: b=9:S"},
      {"unknown uid, remote read-only: nothing", "", "a=9:S", "", remote_ro, ""},
      {"mixed with uid-less files", "", "b=9: a: c:", "", defaults, "upload a: b=9: c:"},
  });
}

TEST_CASE("rule 2: new on the server is downloaded") {
  check_table({
      {"one new message, with its flags", "7:FS", "", "", defaults, "download 7:FS"},
      {"sorted by uid", "9: 3:S 5:D", "", "", defaults, "download 3:S 5:D 9:"},
      {"local read-only: nothing", "7:S", "", "", local_ro, ""},
      {"remote read-only: still downloaded", "7:S", "", "", remote_ro, "download 7:S"},
      {"sync_deletes off changes nothing", "7:", "", "", no_deletes, "download 7:"},
  });
}

TEST_CASE("uid on both sides but not in status: recorded, flags united") {
  check_table({
      {"same flags: only recorded", "3:S", "a=3:S", "", defaults, "status_set 3:S"},
      {"no flags at all: still recorded", "3:", "a=3:", "", defaults, "status_set 3:"},
      {"different flags: both get the union", "3:S", "a=3:F", "", defaults,
       "set_local a=3:FS; set_remote 3+F; status_set 3:FS"},
      {"local has more: remote catches up", "3:S", "a=3:FS", "", defaults,
       "set_remote 3+F; status_set 3:FS"},
      {"remote has more: local catches up", "3:DRS", "a=3:S", "", defaults,
       "set_local a=3:DRS; status_set 3:DRS"},
      {"remote read-only: local gets the union, S records the remote", "3:S", "a=3:F", "",
       remote_ro, "set_local a=3:FS; status_set 3:S"},
      {"local read-only: remote gets the union, S records the local", "3:S", "a=3:F", "", local_ro,
       "set_remote 3+F; status_set 3:F"},
      {"both read-only, different: nothing", "3:S", "a=3:F", "", both_ro, ""},
      {"both read-only, same: recorded", "3:S", "a=3:S", "", both_ro, "status_set 3:S"},
  });
}

TEST_CASE("rule 3: deleted on the server") {
  check_table({
      {"deleted locally too", "", "a=4:S", "4:S", defaults, "delete_local a=4"},
      {"flags changed locally meanwhile: still deleted", "", "a=4:FS", "4:S", defaults,
       "delete_local a=4"},
      {"remote sync_deletes off: file and status kept", "", "a=4:S", "4:S", no_remote_deletes, ""},
      {"local sync_deletes off does not matter", "", "a=4:S", "4:S", no_local_deletes,
       "delete_local a=4"},
      {"local read-only: kept", "", "a=4:S", "4:S", local_ro, ""},
      {"remote read-only does not matter", "", "a=4:S", "4:S", remote_ro, "delete_local a=4"},
      {"several, sorted by uid", "", "z=1: a=8:", "8: 1:", defaults, "delete_local z=1 a=8"},
  });
}

TEST_CASE("rule 4: deleted locally") {
  check_table({
      {"deleted on the server too", "5:S", "", "5:S", defaults, "delete_remote 5"},
      {"flags changed on the server meanwhile: still deleted", "5:FS", "", "5:S", defaults,
       "delete_remote 5"},
      {"local sync_deletes off: message and status kept", "5:S", "", "5:S", no_local_deletes, ""},
      {"remote sync_deletes off does not matter", "5:S", "", "5:S", no_remote_deletes,
       "delete_remote 5"},
      {"remote read-only: kept", "5:S", "", "5:S", remote_ro, ""},
      {"local read-only does not matter", "5:S", "", "5:S", local_ro, "delete_remote 5"},
      {"several, sorted by uid", "9: 2:", "", "9: 2:", defaults, "delete_remote 2 9"},
      {"expunge off: flagged \\Deleted once", "5:S", "", "5:S", no_expunge, "delete_remote 5"},
      {"expunge off, already \\Deleted on the server: nothing more", "5:ST", "", "5:T", no_expunge,
       ""},
      {"expunge on, \\Deleted but not expunged yet: expunge it", "5:ST", "", "5:T", defaults,
       "delete_remote 5"},
  });
}

TEST_CASE("status entry for a uid gone from both sides is erased") {
  check_table({
      {"gone from both", "", "", "6:S", defaults, "status_erase 6"},
      {"with every option restrictive: still erased", "", "", "6:S", both_ro, "status_erase 6"},
      {"sync_deletes off: still erased", "", "", "6:S", no_deletes, "status_erase 6"},
      {"several, sorted", "", "", "8: 6:", defaults, "status_erase 6 8"},
  });
}

TEST_CASE("rule 5: flag changes on one side") {
  check_table({
      {"nothing changed", "1:S", "a=1:S", "1:S", defaults, ""},
      {"nothing changed, no flags", "1:", "a=1:", "1:", defaults, ""},
      {"remote added a flag", "1:FS", "a=1:S", "1:S", defaults,
       "set_local a=1:FS; status_set 1:FS"},
      {"remote removed a flag", "1:", "a=1:S", "1:S", defaults, "set_local a=1:; status_set 1:"},
      {"local added a flag", "1:S", "a=1:FS", "1:S", defaults, "set_remote 1+F; status_set 1:FS"},
      {"local swapped flags", "1:S", "a=1:F", "1:S", defaults, "set_remote 1+F-S; status_set 1:F"},
      {"remote changed, local read-only: nothing, S keeps the local flags", "1:FS", "a=1:S", "1:S",
       local_ro, ""},
      {"remote changed, remote read-only: local follows", "1:FS", "a=1:S", "1:S", remote_ro,
       "set_local a=1:FS; status_set 1:FS"},
      {"local changed, remote read-only: nothing, S keeps the remote flags", "1:S", "a=1:F", "1:S",
       remote_ro, ""},
      {"local changed, local read-only: remote follows", "1:S", "a=1:F", "1:S", local_ro,
       "set_remote 1+F-S; status_set 1:F"},
      {"sync_deletes off changes nothing", "1:FS", "a=1:S", "1:S", no_deletes,
       "set_local a=1:FS; status_set 1:FS"},
      {"both read-only: nothing", "1:FS", "a=1:S", "1:S", both_ro, ""},
  });
}

TEST_CASE("rule 5: both sides changed flags") {
  check_table({
      {"both made the same change: only recorded", "1:FS", "a=1:FS", "1:S", defaults,
       "status_set 1:FS"},
      {"both added the same flag, local one more", "1:S", "a=1:FS", "1:", defaults,
       "set_remote 1+F; status_set 1:FS"},
      {"both removed the same flag", "1:S", "a=1:S", "1:FS", defaults, "status_set 1:S"},
      {"both removed the same flag, local added another", "1:S", "a=1:RS", "1:FS", defaults,
       "set_remote 1+R; status_set 1:RS"},
      {"both removed different flags: neither removal wins", "1:F", "a=1:S", "1:FS", defaults,
       "set_local a=1:FS; set_remote 1+S"},
      {"one adds, the other removes a different flag: the removal loses", "1:FS", "a=1:", "1:S",
       defaults, "set_local a=1:FS; status_set 1:FS"},
      {"remote removes a flag the local keeps while adding another", "1:F", "a=1:FRS", "1:FS",
       defaults, "set_remote 1+RS; status_set 1:FRS"},
      {"local removes a flag the remote keeps, remote adds another", "1:DFS", "a=1:D", "1:FD",
       defaults, "set_local a=1:DFS; status_set 1:DFS"},
      {"both added different flags: union", "1:DS", "a=1:RS", "1:S", defaults,
       "set_local a=1:DRS; set_remote 1+R; status_set 1:DRS"},
      {"remote read-only: local takes the merge, S the remote flags", "1:F", "a=1:RS", "1:S",
       remote_ro, "set_local a=1:FRS; status_set 1:F"},
      {"remote read-only, merge equals the remote: agreed", "1:FS", "a=1:", "1:S", remote_ro,
       "set_local a=1:FS; status_set 1:FS"},
      {"local read-only: remote takes the merge, S the local flags", "1:F", "a=1:RS", "1:S",
       local_ro, "set_remote 1+RS; status_set 1:RS"},
      {"both read-only: nothing", "1:F", "a=1:RS", "1:S", both_ro, ""},
  });
}

TEST_CASE("duplicate local files claiming one uid") {
  check_table({
      {"first key is the message, the other is reported", "2:S", "a=2:S b=2:F", "2:S", defaults,
       "duplicates b"},
      {"key order, not input order", "2:S", "b=2:F a=2:S", "2:S", defaults, "duplicates b"},
      {"the first one's flags are synced, the duplicate's ignored", "2:FS", "b=2: a=2:S", "2:S",
       defaults, "set_local a=2:FS; status_set 2:FS; duplicates b"},
      {"three claimants, sorted", "2:S", "c=2: a=2:S b=2:", "2:S", defaults, "duplicates b c"},
      {"not in status yet: first one recorded", "2:S", "a=2:S c=2:", "", defaults,
       "status_set 2:S; duplicates c"},
      {"deleted on the server: ambiguous, nothing deleted", "", "a=2:S b=2:S", "2:S", defaults,
       "duplicates b"},
      {"deleted on the server, single file: deleted", "", "a=2:S", "2:S", defaults,
       "delete_local a=2"},
      {"duplicates of several uids", "1: 2:", "a=1: b=2: c=1: d=2:", "1: 2:", defaults,
       "duplicates c d"},
  });
}

TEST_CASE("a mixed folder: every list sorted, each uid decided once") {
  check_table({
      {"all rules at once",
       /* remote */ "10:S 3: 7:F 12:S 1:S",
       /* local  */ "n: z=1:FS y=4: x=3: m: w=12:S v=20:",
       /* status */ "1:S 3: 4: 5: 10:S", defaults,
       "download 7:F; upload m: n: v=20:; delete_local y=4; delete_remote 10; set_remote 1+F; "
       "status_set 1:FS 12:S; status_erase 5"},
  });
}

TEST_CASE("plans compare equal as structs to what the notation says") {
  // Guards the notation used by every table above: one plan spelled out field by field.
  const plan_result got = plan(plan_input{remote_of("1:S 2:S 3:"), local_of("b: a=1:F c=3:S"),
                                          status_of("1:S 2:S 3:"), 1, 1},
                               defaults);
  plan_result want;
  want.upload = {local_message{"b", std::nullopt, fl("")}};
  want.delete_remote = {2};
  want.set_local_flags = {};
  want.set_remote_flags = {remote_flag_change{1, fl("F"), fl("S")},
                           remote_flag_change{3, fl("S"), fl("")}};
  want.status_set = {status_entry{1, fl("F")}, status_entry{3, fl("S")}};
  CHECK(got == want);
  CHECK(describe(got) == "upload b:; delete_remote 2; set_remote 1+F-S 3+S; status_set 1:F 3:S");
  CHECK_FALSE(got.empty());
  CHECK(plan_result{}.empty());
}

TEST_CASE("duplicates alone leave a plan empty") {
  const plan_result got =
      plan(plan_input{remote_of("2:"), local_of("a=2: b=2:"), status_of("2:"), 1, 1}, defaults);
  CHECK(got.empty());
  CHECK(got.duplicate_keys == std::vector<std::string>{"b"});
}

TEST_CASE("duplicate uids in R or S: the first occurrence wins") {
  check_table({
      {"R twice", "4:S 4:F", "a=4:S", "4:S", defaults, ""},
      {"S twice", "4:S", "a=4:S", "4:S 4:F", defaults, ""},
  });
}

TEST_CASE("merge_flags as a table") {
  struct merge_row {
    const char* name;
    const char* base;
    const char* remote;
    const char* local;
    const char* expected;
  };
  const std::vector<merge_row> rows{
      {"nothing changed", "S", "S", "S", "S"},
      {"nothing changed, empty", "", "", "", ""},
      {"only remote added", "S", "FS", "S", "FS"},
      {"only remote removed", "FS", "S", "FS", "S"},
      {"only remote replaced everything", "DF", "RST", "DF", "RST"},
      {"only local added", "S", "S", "RS", "RS"},
      {"only local removed", "FS", "FS", "F", "F"},
      {"both made the same change", "S", "F", "F", "F"},
      {"both added the same flag", "", "S", "S", "S"},
      {"both added the same flag, one added more", "", "S", "FS", "FS"},
      {"both added different flags", "S", "DS", "RS", "DRS"},
      {"both removed the same flag", "FS", "S", "S", "S"},
      {"both removed the same flag, one added another", "FS", "S", "RS", "RS"},
      {"both removed different flags: neither removed", "FS", "F", "S", "FS"},
      {"one adds, the other removes a different flag", "S", "FS", "", "FS"},
      {"one removes a flag the other keeps (and changes another)", "FS", "F", "FRS", "FRS"},
      {"only remote removed everything", "DFRST", "", "DFRST", ""},
      {"one removes everything, the other adds: removals lost", "DFRS", "", "DFRST", "DFRST"},
      {"both empty out a full base", "DFRST", "", "", ""},
  };
  for (const merge_row& r : rows) {
    INFO("row: " << r.name);
    CHECK(merge_flags(fl(r.base), fl(r.remote), fl(r.local)).to_maildir() == r.expected);
  }
}

TEST_CASE("merge_flags over every combination of five flags") {
  // Properties the table illustrates, checked exhaustively (32^3 cases).
  for (unsigned b = 0; b < 32; ++b)
    for (unsigned r = 0; r < 32; ++r)
      for (unsigned l = 0; l < 32; ++l) {
        const flag_set base(static_cast<std::uint8_t>(b)), remote(static_cast<std::uint8_t>(r)),
            local(static_cast<std::uint8_t>(l));
        const flag_set m = merge_flags(base, remote, local);
        INFO("base " << base.to_maildir() << " remote " << remote.to_maildir() << " local "
                     << local.to_maildir() << " -> " << m.to_maildir());
        // Which side is called remote does not matter.
        REQUIRE(m == merge_flags(base, local, remote));
        // An unchanged side defers to the other; equal sides agree.
        if (remote == base)
          REQUIRE(m == local);
        if (remote == local)
          REQUIRE(m == remote);
        // Nothing invented, nothing both sides hold is dropped.
        REQUIRE((m - (remote | local)).empty());
        REQUIRE(((remote & local) - m).empty());
        // Both changed: a flag either added is kept.
        if (remote != base && local != base)
          REQUIRE((((remote - base) | (local - base)) - m).empty());
        // Merging again with the result as a side changes nothing.
        REQUIRE(merge_flags(base, m, m) == m);
      }
}
