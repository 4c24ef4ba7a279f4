// The EXAMINE round ahead of the folders' syncs, against a private Dovecot: which folders go in
// it, and how each folder's sync takes its part.
#include "sync/examine_ahead.hpp"

#include "protocol/imap_error.hpp"
#include "protocol/session.hpp"
#include "support/inbox_sync.hpp"
#include "sync/examined_folder.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

using namespace oimap;
using oimap::test::files_in;
using oimap::test::inbox_sync;
using oimap::test::message;
using oimap::test::messages_in;
namespace fs = std::filesystem;

namespace {

// The fixture's Maildir store, as examine_ahead holds it (the fixture owns it).
std::shared_ptr<storage::maildir_store> store_of(inbox_sync& t) {
  return {&t.local, [](storage::maildir_store*) {}};
}

// A second folder beside INBOX, on both sides, synced once with one message.
sync::folder_pair synced_work_folder(inbox_sync& t) {
  auto c = t.client();
  REQUIRE(c->command("CREATE Work").ok());
  REQUIRE(c->append("Work", message("w1")).ok());
  t.local.create_folder("Work");
  sync::folder_pair work{"Work", "Work", "Work", t.status_of("Work"), std::nullopt};
  REQUIRE(t.run_folder(work, [&]() -> protocol::session& { return *t.session; }).outcome
          == sync::folder_outcome::ok);
  return work;
}

// INBOX synced with m1, then m2 delivered and its STATUS taken: a round of
// INBOX alone, not run yet.
std::unique_ptr<sync::examine_ahead> inbox_round_with_one_new(inbox_sync& t) {
  t.synced({"m1"});
  t.deliver({"m2"});
  t.take_status();
  auto ahead = std::make_unique<sync::examine_ahead>(
      store_of(t), *t.status, std::vector<sync::folder_pair>{t.pair}, t.options, 256);
  REQUIRE(ahead->future("INBOX").valid());
  return ahead;
}

// A session acquire that must not be called: the folder needs no server.
sync::acquire_fn no_session(int& calls, protocol::session& s) {
  return [&calls, &s]() -> protocol::session& {
    ++calls;
    return s;
  };
}

} // namespace

TEST_CASE("folders changed on the server only are examined together, and sync from their part "
          "without a connection",
          "[sync]") {
  inbox_sync t;
  t.synced({"m1"});
  auto work = synced_work_folder(t);
  {
    auto c = t.client();
    REQUIRE(c->append("INBOX", message("m2")).ok());
    REQUIRE(c->append("Work", message("w2"), "\\Seen").ok());
  }
  t.flag_first_on_server("Work");
  t.take_status();
  work.remote_status = t.status_of("Work");

  sync::examine_ahead ahead(store_of(t), *t.status, {t.pair, work}, t.options, 256);
  REQUIRE_FALSE(ahead.empty());
  auto inbox_part = ahead.future("INBOX");
  auto work_part = ahead.future("Work");
  REQUIRE(inbox_part.valid());
  REQUIRE(work_part.valid());
  t.wire.clear();
  ahead.run(*t.session);
  // Both EXAMINEs and FETCHes went out before the first answer came.
  const auto first_answer = t.on_wire("OK [READ-ONLY]");
  CHECK(t.on_wire("EXAMINE Work (QRESYNC") < first_answer);
  CHECK(t.on_wire("UID FETCH 2:*", t.on_wire("EXAMINE Work")) < first_answer);

  int calls = 0;
  const auto inbox = t.run_folder(t.pair, no_session(calls, *t.session), &inbox_part);
  const auto work_result = t.run_folder(work, no_session(calls, *t.session), &work_part);
  CHECK(calls == 0);
  CHECK(inbox.outcome == sync::folder_outcome::ok);
  CHECK(inbox.counts.downloaded == 1);
  CHECK(work_result.outcome == sync::folder_outcome::ok);
  CHECK(work_result.counts.downloaded == 1);
  CHECK(work_result.counts.flags_local == 1);
  CHECK(messages_in(t.maildir()) == 2);
  CHECK(messages_in(t.local.folder_path("Work")) == 2);
  CHECK(files_in(t.maildir() / "tmp") == 0);
  CHECK(files_in(t.local.folder_path("Work") / "tmp") == 0);

  // The next run finds nothing left to do in either.
  t.take_status();
  work.remote_status = t.status_of("Work");
  CHECK(sync::folder_unchanged(t.local, *t.status, t.pair, false, ""));
  CHECK(sync::folder_unchanged(t.local, *t.status, work, false, ""));
}

TEST_CASE("only folders with a few new messages on the server and none here go ahead", "[sync]") {
  inbox_sync t;
  t.synced({"m1"});
  auto work = synced_work_folder(t);
  t.deliver({"m2", "m3"});
  {
    auto c = t.client();
    REQUIRE(c->append("Work", message("w2")).ok());
    REQUIRE(c->command("CREATE Fresh").ok());
    REQUIRE(c->append("Fresh", message("f1")).ok());
  }
  t.local.create_folder("Fresh");
  t.take_status();
  work.remote_status = t.status_of("Work");
  sync::folder_pair fresh{"Fresh", "Fresh", "Fresh", t.status_of("Fresh"), std::nullopt};

  // All three qualify but the one never synced (nothing recorded to resync from).
  {
    sync::examine_ahead ahead(store_of(t), *t.status, {t.pair, work, fresh}, t.options, 256);
    CHECK(ahead.future("INBOX").valid());
    CHECK(ahead.future("Work").valid());
    CHECK_FALSE(ahead.future("Fresh").valid());
  }
  // More new messages than a batch: their FETCH would need a round trip of its own.
  t.options.batch = 1;
  {
    sync::examine_ahead ahead(store_of(t), *t.status, {t.pair, work}, t.options, 256);
    CHECK_FALSE(ahead.future("INBOX").valid());
    CHECK(ahead.future("Work").valid());
  }
  t.options.batch = 512;
  // The round's limit: INBOX's two fit, Work's one more does not.
  {
    sync::examine_ahead ahead(store_of(t), *t.status, {t.pair, work}, t.options, 2);
    CHECK(ahead.future("INBOX").valid());
    CHECK_FALSE(ahead.future("Work").valid());
  }
  // A change here: the folder is selected read-write by its own sync.
  std::ofstream(t.local.folder_path("Work") / "new" / "1700000000.M1P1.host")
      << "Subject: up\n\nlocal mail\n";
  {
    sync::examine_ahead ahead(store_of(t), *t.status, {t.pair, work}, t.options, 256);
    CHECK(ahead.future("INBOX").valid());
    CHECK_FALSE(ahead.future("Work").valid());
  }
  // Nothing goes ahead from a read-only side.
  t.options.plan.remote_readonly = true;
  sync::examine_ahead readonly(store_of(t), *t.status, {t.pair}, t.options, 256);
  CHECK(readonly.empty());
}

TEST_CASE("a folder examined ahead selects itself again when its plan needs the server", "[sync]") {
  inbox_sync t;
  t.synced({"m1"});
  // STATUS shows a flag change only; a message arrives after it, so the
  // round fetches no body and the plan must download it.
  t.flag_first_on_server("INBOX");
  t.take_status();
  t.deliver({"m2"});
  sync::examine_ahead ahead(store_of(t), *t.status, {t.pair}, t.options, 256);
  auto part = ahead.future("INBOX");
  REQUIRE(part.valid());
  ahead.run(*t.session);
  REQUIRE(part.get());
  CHECK_FALSE(part.get()->prefetched);

  // The folder's sync gets another connection, which has nothing selected.
  std::vector<std::string> sent;
  auto other = t.connect([&](char dir, std::string_view line) {
    if (dir == '>')
      sent.emplace_back(line);
  });
  int calls = 0;
  const auto result = t.run_folder(t.pair, no_session(calls, *other), &part);
  INFO(result.message);
  CHECK(result.outcome == sync::folder_outcome::ok);
  CHECK(calls == 1);
  CHECK(result.counts.downloaded == 1);
  CHECK(result.counts.flags_local == 1);
  CHECK(messages_in(t.maildir()) == 2);
  // EXAMINE again (read-only, as the round's), then the FETCH.
  REQUIRE(sent.size() >= 2);
  CHECK(sent.end()[-2].find("EXAMINE INBOX") != std::string::npos);
  CHECK(sent.back().find("UID FETCH") != std::string::npos);
}

TEST_CASE("a folder changed here after its EXAMINE went ahead syncs as usual, and what was "
          "prefetched for it goes",
          "[sync]") {
  inbox_sync t;
  auto ahead = inbox_round_with_one_new(t);
  auto part = ahead->future("INBOX");
  ahead->run(*t.session);
  REQUIRE(files_in(t.maildir() / "tmp") == 1); // m2, prefetched
  std::ofstream(t.maildir() / "new" / "1700000000.M1P1.host") << "Subject: up\n\nlocal mail\n";

  int calls = 0;
  const auto result = t.run_folder(t.pair, no_session(calls, *t.session), &part);
  INFO(result.message);
  CHECK(result.outcome == sync::folder_outcome::ok);
  CHECK(calls == 1);
  CHECK(result.counts.downloaded == 1);
  CHECK(result.counts.uploaded == 1);
  CHECK(messages_in(t.maildir()) == 3);
  // The round's copy of m2 is gone while the round still holds its part.
  CHECK(files_in(t.maildir() / "tmp") == 0);
  CHECK(t.session->status("INBOX").exists == 3);
}

TEST_CASE("a folder whose EXAMINE the server refuses is left to its own sync", "[sync]") {
  inbox_sync t;
  t.synced({"m1"});
  auto work = synced_work_folder(t);
  t.deliver({"m2"});
  {
    auto c = t.client();
    REQUIRE(c->append("Work", message("w2")).ok());
  }
  t.take_status();
  work.remote_status = t.status_of("Work");
  sync::examine_ahead ahead(store_of(t), *t.status, {work, t.pair}, t.options, 256);
  REQUIRE(ahead.future("Work").valid());
  {
    auto c = t.client();
    REQUIRE(c->command("DELETE Work").ok());
  }
  ahead.run(*t.session);
  CHECK_FALSE(ahead.future("Work").get());
  auto inbox_part = ahead.future("INBOX");
  REQUIRE(inbox_part.get());
  int calls = 0;
  CHECK(t.run_folder(t.pair, no_session(calls, *t.session), &inbox_part).outcome
        == sync::folder_outcome::ok);
  CHECK(calls == 0);
  CHECK(messages_in(t.maildir()) == 2);
}

TEST_CASE("a round on a connection that fails leaves every folder to its own sync", "[sync]") {
  inbox_sync t;
  auto ahead = inbox_round_with_one_new(t);
  auto part = ahead->future("INBOX");
  t.session->logout();
  CHECK_THROWS_AS(ahead->run(*t.session), protocol::imap_error);
  REQUIRE(part.wait_for(std::chrono::seconds(0)) == std::future_status::ready);
  CHECK_FALSE(part.get());
  // The folder's sync, on a connection of its own, does it all.
  auto other = t.connect();
  int calls = 0;
  const auto result = t.run_folder(t.pair, no_session(calls, *other), &part);
  CHECK(result.outcome == sync::folder_outcome::ok);
  CHECK(calls == 1);
  CHECK(result.counts.downloaded == 1);
  CHECK(messages_in(t.maildir()) == 2);
}
