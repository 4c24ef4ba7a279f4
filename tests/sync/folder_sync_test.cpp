// sync_folder against a private Dovecot: when a folder hands its session back.
#include "sync/folder_sync.hpp"

#include "protocol/session.hpp"
#include "support/inbox_sync.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

using namespace oimap;
using oimap::test::files_in;
using oimap::test::inbox_sync;
using oimap::test::message;
using oimap::test::messages_in;
namespace fs = std::filesystem;

TEST_CASE("only new mail and flags from the server: the session is handed back before the "
          "Maildir is written",
          "[sync]") {
  inbox_sync t;
  t.synced({"m1", "m2", "m3"});
  REQUIRE(messages_in(t.maildir()) == 3);

  {
    auto c = t.client();
    REQUIRE(c->append("INBOX", message("m4")).ok());
    REQUIRE(c->append("INBOX", message("m5"), "\\Seen").ok());
  }
  t.flag_first_on_server("INBOX");
  t.take_status();
  int calls = 0;
  std::size_t placed_at_release = 0;
  const auto result = t.run([&] {
    ++calls;
    placed_at_release = messages_in(t.maildir());
    // The session is the caller's again: closing it must not matter to the folder.
    t.session->logout();
  });
  CHECK(result.outcome == sync::folder_outcome::ok);
  CHECK(result.message.empty());
  CHECK(calls == 1);
  CHECK(placed_at_release == 3); // the two new bodies were still in tmp/
  CHECK(result.counts.downloaded == 2);
  CHECK(result.counts.flags_local == 1);
  CHECK(messages_in(t.maildir()) == 5);
  CHECK(files_in(t.maildir() / "tmp") == 0);
  std::size_t flagged = 0; // unseen, so in new/ (as OfflineIMAP keeps it)
  for (const char* sub : {"cur", "new"})
    for (const auto& e : fs::directory_iterator(t.maildir() / sub))
      flagged += e.path().filename().string().find(":2,F") != std::string::npos;
  CHECK(flagged == 1);
}

TEST_CASE("a folder with mail to upload keeps its session until the upload is done", "[sync]") {
  inbox_sync t;
  t.synced_then_local_mail();
  int calls = 0;
  std::uint32_t on_server_at_release = 0;
  const auto result = t.run([&] {
    ++calls;
    on_server_at_release = t.session->status("INBOX").exists;
  });
  CHECK(result.outcome == sync::folder_outcome::ok);
  CHECK(calls == 1);
  CHECK(result.counts.uploaded == 1);
  CHECK(on_server_at_release == 2);
}

TEST_CASE("a folder reads its own side before it asks for a connection, and loses nothing that "
          "arrives meanwhile",
          "[sync]") {
  inbox_sync t;
  t.synced({"m1", "m2"});

  t.deliver({"m3"});
  std::ofstream(t.maildir() / "new" / "1700000000.M1P1.host") << "Subject: a\n\nfirst\n";
  t.take_status();
  int acquired = 0;
  const auto result = t.run_acquiring([&]() -> protocol::session& {
    ++acquired;
    // Delivered while the folder waits for its connection: its listing was
    // taken already, so this one is for the next run.
    std::ofstream(t.maildir() / "new" / "1700000001.M2P1.host") << "Subject: b\n\nsecond\n";
    return *t.session;
  });
  CHECK(result.outcome == sync::folder_outcome::ok);
  CHECK(acquired == 1);
  CHECK(result.counts.downloaded == 1);
  CHECK(result.counts.uploaded == 1);

  t.take_status();
  const auto next = t.run();
  CHECK(next.outcome == sync::folder_outcome::ok);
  CHECK(next.counts.uploaded == 1);
  CHECK(t.session->status("INBOX").exists == 5);
}

TEST_CASE("a first sync reads the folder without taking its recent mail from the user's mail "
          "reader",
          "[sync]") {
  inbox_sync t;
  t.deliver({"m1", "m2", "m3"});
  t.take_status();
  const auto result = t.run();
  CHECK(result.outcome == sync::folder_outcome::ok);
  CHECK(result.counts.downloaded == 3);
  // A read-write SELECT would have made the three ours (RFC 3501 \Recent):
  // the next session to select the folder would see none.
  auto c = t.client();
  const auto selected = c->command("SELECT INBOX");
  REQUIRE(selected.ok());
  INFO(selected.text());
  bool three_recent = false;
  for (const auto& line : selected.untagged)
    three_recent = three_recent || line == "* 3 RECENT";
  CHECK(three_recent);
}

TEST_CASE("the run after an upload does not fetch back what was uploaded", "[sync]") {
  inbox_sync t;
  t.synced_then_local_mail();
  REQUIRE(t.run().counts.uploaded == 1);

  // The server's UIDNEXT has moved past what the status recorded, by our
  // own upload alone: nothing is new to this side.
  t.take_status();
  t.commands.clear();
  const auto result = t.run();
  CHECK(result.outcome == sync::folder_outcome::ok);
  CHECK(result.counts.downloaded == 0);
  for (const auto& c : t.commands)
    CHECK(c.find("BODY.PEEK") == std::string::npos);

  // Mail that does arrive from elsewhere still comes with the SELECT.
  t.deliver({"m2"});
  t.take_status();
  t.commands.clear();
  const auto then = t.run();
  CHECK(then.counts.downloaded == 1);
  std::size_t prefetches = 0;
  for (const auto& c : t.commands)
    prefetches += c.find("UID FETCH 3:* (UID FLAGS BODY.PEEK[])") != std::string::npos;
  CHECK(prefetches == 1);
  CHECK(messages_in(t.maildir()) == 3);
}

TEST_CASE("mail another client adds while a run uploads comes down with the next run", "[sync]") {
  inbox_sync t;
  t.synced_then_local_mail();
  // Delivered after this run's SELECT, before its APPEND: it gets the UID
  // below the upload's, which the next run's prefetch starts after.
  bool delivered = false;
  const sync::progress_fn deliver_once = [&](const sync::folder_counts&) {
    if (!delivered)
      t.deliver({"m2"});
    delivered = true;
  };
  const sync::status_write_fn write = [&](storage::status_db::batch& b) { t.status->write(b); };
  const auto up = sync::sync_folder(*t.session, t.local, *t.status, t.pair, write, t.options,
                                    t.stop, deliver_once, {}, {});
  REQUIRE(up.counts.uploaded == 1);
  REQUIRE(delivered);
  REQUIRE(t.status->last_uid("INBOX") == 3u);      // the upload
  REQUIRE_FALSE(t.status->get_record("INBOX", 2)); // m2, in the gap below it

  t.take_status();
  const auto next = t.run();
  CHECK(next.outcome == sync::folder_outcome::ok);
  CHECK(next.counts.downloaded == 1);
  CHECK(messages_in(t.maildir()) == 3);
  CHECK(t.session->status("INBOX").exists == 3);
}

TEST_CASE("flag changes made here go up ahead of the new mail's APPEND in one round trip",
          "[sync]") {
  inbox_sync t;
  t.synced_then_local_mail();
  // m1, downloaded by the first run, is flagged here too.
  t.flag_first_here();
  t.take_status();

  t.wire.clear();
  const auto result = t.run();
  CHECK(result.outcome == sync::folder_outcome::ok);
  CHECK(result.counts.uploaded == 1);
  CHECK(result.counts.flags_remote == 1);
  {
    // The STORE, then the APPEND, both written before the STORE's answer.
    INFO(Catch::rangeToString(t.wire));
    const auto store = t.on_wire("UID STORE 1 +FLAGS.SILENT (\\Flagged)");
    REQUIRE(store != std::string::npos);
    CHECK(t.wire[store].rfind("> ", 0) == 0);
    const auto append = t.on_wire(" APPEND INBOX", store);
    REQUIRE(append != std::string::npos);
    CHECK(append < t.on_wire("< ", store));
  }
  auto c = t.client();
  REQUIRE(c->command("SELECT INBOX").ok());
  const auto fetched = c->command("UID FETCH 1:* FLAGS");
  INFO(fetched.text());
  REQUIRE(fetched.lines_with("FETCH").size() == 2);
  CHECK(fetched.lines_with("FETCH")[0].find("\\Flagged") != std::string::npos);
  const auto record = t.status->get_record("INBOX", 1);
  REQUIRE(record);
  CHECK(record->has(storage::flag::flagged));

  // All recorded: the next run has nothing to send.
  t.take_status();
  t.commands.clear();
  const auto again = t.run();
  CHECK(again.counts.flags_remote == 0);
  CHECK(again.counts.uploaded == 0);
  for (const auto& cmd : t.commands) {
    CHECK(cmd.find("STORE") == std::string::npos);
    CHECK(cmd.find("APPEND") == std::string::npos);
  }
}

TEST_CASE("a folder without a STATUS fetches what arrived, up to a batch, with its EXAMINE",
          "[sync]") {
  inbox_sync t;
  t.deliver({"m1"});
  t.take_status();
  REQUIRE(t.run().counts.downloaded == 1);

  // A burst cut the STATUS round short before this folder: it does not
  // know whether anything arrived, and asks for a batch's worth of UIDs
  // from the first it has not recorded, in the EXAMINE's round trip.
  t.deliver({"m2"});
  t.pair.remote_status.reset();
  t.commands.clear();
  auto result = t.run();
  CHECK(result.outcome == sync::folder_outcome::ok);
  CHECK(result.counts.downloaded == 1);
  auto body_fetches = [&] {
    std::vector<std::string> out;
    for (const auto& c : t.commands)
      if (c.find("BODY.PEEK") != std::string::npos)
        out.push_back(c);
    return out;
  };
  {
    INFO(Catch::rangeToString(t.commands));
    const auto fetches = body_fetches();
    REQUIRE(fetches.size() == 1);
    CHECK(fetches[0].find("UID FETCH 2:513 (UID FLAGS BODY.PEEK[])") != std::string::npos);
  }
  CHECK(messages_in(t.maildir()) == 2);

  // Nothing new: the range that ends brings nothing ("3:*" would bring the
  // last message), and nothing else is fetched.
  t.pair.remote_status.reset();
  t.commands.clear();
  result = t.run();
  CHECK(result.outcome == sync::folder_outcome::ok);
  CHECK(result.counts.downloaded == 0);
  {
    INFO(Catch::rangeToString(t.commands));
    const auto fetches = body_fetches();
    REQUIRE(fetches.size() == 1);
    CHECK(fetches[0].find("UID FETCH 3:514 (UID FLAGS BODY.PEEK[])") != std::string::npos);
  }
  CHECK(messages_in(t.maildir()) == 2);
  CHECK(files_in(t.maildir() / "tmp") == 0);
}

TEST_CASE("flag changes sent ahead are answered before a download that follows them", "[sync]") {
  inbox_sync t;
  t.synced_then_local_mail();
  t.flag_first_here();
  // New on the server too: with this side changed there is no prefetch, so
  // its body comes with a FETCH between the STORE and the APPEND.
  t.deliver({"m2"});
  t.take_status();

  t.wire.clear();
  const auto result = t.run();
  CHECK(result.outcome == sync::folder_outcome::ok);
  CHECK(result.counts.flags_remote == 1);
  CHECK(result.counts.downloaded == 1);
  CHECK(result.counts.uploaded == 1);
  {
    INFO(Catch::rangeToString(t.wire));
    // Sent ahead, then its answer, then the body's FETCH: a FETCH's data
    // is not to be told from the STORE's.
    const auto store = t.on_wire("UID STORE 1 +FLAGS.SILENT");
    const auto stored = t.on_wire("OK Store completed");
    const auto fetch = t.on_wire("BODY.PEEK[]");
    REQUIRE(store != std::string::npos);
    REQUIRE(stored != std::string::npos);
    REQUIRE(fetch != std::string::npos);
    CHECK(store < stored);
    CHECK(stored < fetch);
  }
  auto c = t.client();
  REQUIRE(c->command("SELECT INBOX").ok());
  const auto fetched = c->command("UID FETCH 1 FLAGS");
  INFO(fetched.text());
  REQUIRE(fetched.lines_with("FETCH").size() == 1);
  CHECK(fetched.lines_with("FETCH")[0].find("\\Flagged") != std::string::npos);
  CHECK(messages_in(t.maildir()) == 3);

  t.take_status();
  t.commands.clear();
  const auto again = t.run();
  CHECK(again.counts.flags_remote + again.counts.downloaded + again.counts.uploaded == 0);
}
