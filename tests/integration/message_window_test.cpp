// maxsize and maxage end to end: what lies outside is left alone on both sides, never deleted.
#include <catch2/catch.hpp>

#include "support/sync_harness.hpp"

#include <algorithm>

using namespace oimap::test;

namespace {

std::size_t count(const fs::path& folder) {
  return maildir_messages(folder).size();
}

command_result sync(sync_env& env, const std::string& limit = {}) {
  std::vector<std::string> args{"-o"};
  if (!limit.empty())
    args.insert(args.end(), {"-k", "Account_Test:" + limit});
  auto r = env.oimap(args);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  return r;
}

bool has_body(const fs::path& folder, const std::string& text) {
  const auto msgs = maildir_messages(folder);
  return std::any_of(msgs.begin(), msgs.end(),
                     [&](const message_view& m) { return m.body.find(text) != std::string::npos; });
}

} // namespace

TEST_CASE("maxsize: larger messages are left alone both ways, and come once it goes",
          "[integration]") {
  sync_env env;
  const std::string big_body(6000, 'x');
  REQUIRE(env.imap().append("INBOX", make_message("small-there", "small\r\n")).ok());
  REQUIRE(env.imap().append("INBOX", make_message("big-there", big_body + "\r\n")).ok());
  env.close_imap();
  env.write_config();
  const auto inbox = env.local_folder("INBOX");

  sync(env, "maxsize=2000");
  CHECK(count(inbox) == 1);
  CHECK_FALSE(has_body(inbox, big_body));

  // New here: the small one goes up, the big one stays, said so.
  write_file(inbox / "new" / "1700000000.M1.here", lf(make_message("small-here", "s\r\n")));
  write_file(inbox / "new" / "1700000000.M2.here", lf(make_message("big-here", big_body + "\n")));
  // A dry run says as much.
  auto r = env.oimap({"--dry-run", "-k", "Account_Test:maxsize=2000"});
  CHECK(r.out.find("Test:INBOX: would copy 1 to the server, not upload 1 over maxsize\n")
        != std::string::npos);
  r = sync(env, "maxsize=2000");
  CHECK(r.err.find("'1700000000.M2.here' is not smaller than maxsize (2000 bytes): not uploaded")
        != std::string::npos);
  CHECK(count(env.server_folder("INBOX")) == 3);
  CHECK(count(inbox) == 3);
  // And the next run has nothing more to do.
  r = sync(env, "maxsize=2000");
  CHECK(count(env.server_folder("INBOX")) == 3);
  // A big one arriving on a quiet folder is not even fetched with the
  // SELECT (to be dropped): its bytes never cross.
  REQUIRE(env.imap().append("INBOX", make_message("big-later", big_body + "\r\n")).ok());
  env.close_imap();
  r = env.oimap({"-o", "-d", "imap", "-k", "Account_Test:maxsize=2000"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("BODY.PEEK[]") == std::string::npos);
  CHECK(count(inbox) == 3);

  // Without the limit both big ones cross, although nothing else changed.
  sync(env);
  CHECK(count(inbox) == 5);
  CHECK(maildir_messages(env.server_folder("INBOX")) == maildir_messages(inbox));
}

TEST_CASE("maxage: older messages are left alone, not deleted, and come once it goes",
          "[integration]") {
  sync_env env;
  REQUIRE(
      env.imap()
          .append("INBOX", make_message("old", "from 2020\r\n"), {}, "01-Jan-2020 12:00:00 +0000")
          .ok());
  REQUIRE(env.imap().append("INBOX", make_message("recent", "from today\r\n")).ok());
  env.close_imap();
  env.write_config();
  const auto inbox = env.local_folder("INBOX");

  sync(env, "maxage=30");
  CHECK(count(inbox) == 1);
  CHECK(has_body(inbox, "from today"));
  sync(env, "maxage=2021-06-01");
  CHECK(count(inbox) == 1);

  // Without it the old one comes down, although nothing changed on the
  // server since the last run.
  sync(env);
  CHECK(count(inbox) == 2);
  // Back under the limit: the old message is out of the window, not gone.
  sync(env, "maxage=30");
  CHECK(count(inbox) == 2);
  CHECK(count(env.server_folder("INBOX")) == 2);
}
