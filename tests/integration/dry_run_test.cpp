// --dry-run end to end: it says what the sync then does, and changes nothing anywhere.
#include <catch2/catch.hpp>

#include "support/sync_harness.hpp"

#include <map>

using namespace oimap::test;

namespace {

// Every file and directory under root with its size and modification time.
std::map<std::string, std::string> tree_state(const fs::path& root) {
  std::map<std::string, std::string> out;
  if (!fs::exists(root))
    return out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    const auto t = e.last_write_time().time_since_epoch().count();
    out[e.path().string()] = e.is_directory()
                                 ? "dir " + std::to_string(t)
                                 : std::to_string(e.file_size()) + " " + std::to_string(t);
  }
  return out;
}

// The local file of the message with this UID in a folder.
fs::path file_with_uid(const fs::path& folder, int uid) {
  const std::string tag = ",U=" + std::to_string(uid) + ",";
  for (const char* sub : {"new", "cur"})
    for (const auto& e : fs::directory_iterator(folder / sub))
      if (e.path().filename().string().find(tag) != std::string::npos)
        return e.path();
  FAIL("no file with UID " << uid << " in " << folder);
  return {};
}

void make_local_folder(const fs::path& dir) {
  for (const char* sub : {"cur", "new", "tmp"})
    fs::create_directories(dir / sub);
}

} // namespace

TEST_CASE("a dry run (--dry-run) says what the sync would do and changes nothing",
          "[integration]") {
  sync_env env;
  auto& imap = env.imap();
  for (int i = 1; i <= 3; ++i)
    REQUIRE(imap.append("INBOX", make_message("m" + std::to_string(i), "x\r\n")).ok());
  env.close_imap();
  const fs::path hook_ran = env.dir() / "hook-ran";
  env.write_config();
  {
    auto r = env.oimap({"-o"});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
  }
  // On the server: one new message, one flagged, a new folder.
  REQUIRE(env.imap().append("INBOX", make_message("m4", "x\r\n")).ok());
  REQUIRE(env.imap().command("SELECT INBOX").ok());
  REQUIRE(env.imap().command("UID STORE 1 +FLAGS (\\Flagged)").ok());
  REQUIRE(env.imap().command("CREATE Fresh").ok());
  REQUIRE(env.imap().append("Fresh", make_message("f1", "x\r\n")).ok());
  env.close_imap();
  // Here: one new message, one deleted, one flag change, a new folder.
  const auto inbox = env.local_folder("INBOX");
  write_file(inbox / "new" / "1700000000.M1.here", lf(make_message("l1", "x\r\n")));
  fs::remove(file_with_uid(inbox, 2));
  const auto m3 = file_with_uid(inbox, 3);
  const auto key = m3.filename().string().substr(0, m3.filename().string().find(':'));
  fs::rename(m3, inbox / "cur" / (key + ":2,S"));
  make_local_folder(env.local_folder("Here"));
  write_file(env.local_folder("Here") / "new" / "1700000000.M2.here",
             lf(make_message("h1", "x\r\n")));

  const auto local_before = tree_state(env.local_root());
  const auto state_before = tree_state(env.metadata());
  const auto server_inbox = maildir_messages(env.server_folder("INBOX"));
  const auto server_fresh = maildir_messages(env.server_folder("Fresh"));

  // With a hook, which a dry run must not run.
  auto r = env.oimap({"--dry-run", "-k", "Account_Test:presynchook=touch " + hook_ran.string()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("Test:INBOX: would copy 1 here, copy 1 to the server, delete 1 on the server, "
                   "change the flags of 1 here, change the flags of 1 on the server\n")
        != std::string::npos);
  CHECK(r.out.find("Test:Fresh: would create the local folder, copy 1 here\n")
        != std::string::npos);
  CHECK(r.out.find("Test:Here: would create 'Here' on the server, copy 1 to the server\n")
        != std::string::npos);
  CHECK(r.out.find("not run in a dry run: hook 'touch") != std::string::npos);
  CHECK_FALSE(fs::exists(hook_ran));
  CHECK(tree_state(env.local_root()) == local_before);
  CHECK(tree_state(env.metadata()) == state_before);
  CHECK(maildir_messages(env.server_folder("INBOX")) == server_inbox);
  CHECK(maildir_messages(env.server_folder("Fresh")) == server_fresh);
  CHECK_FALSE(fs::exists(env.server_folder("Here")));

  // OfflineIMAP's [general] dry-run = yes does the same.
  r = env.oimap({"-k", "dry-run=yes"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("Test:Fresh: would create the local folder, copy 1 here\n")
        != std::string::npos);
  CHECK(tree_state(env.local_root()) == local_before);

  // The sync then does just that, and a dry run after it has nothing left.
  r = env.oimap({"-o"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("Test:INBOX: 1 copied here, 1 copied to server, 1 deleted on server, "
                   "1 flag changes here, 1 flag changes on server")
        != std::string::npos);
  CHECK(maildir_messages(env.server_folder("Here")).size() == 1);
  r = env.oimap({"--dry-run"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  for (const std::string f : {"INBOX", "Fresh", "Here"})
    CHECK(r.out.find("Test:" + f + ": nothing to do\n") != std::string::npos);
}

TEST_CASE("a dry run on an account never synced creates neither the Maildir nor the status",
          "[integration]") {
  sync_env env;
  REQUIRE(env.imap().append("INBOX", make_message("m1", "x\r\n")).ok());
  env.close_imap();
  env.write_config();
  auto r = env.oimap({"--dry-run"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("Test:INBOX: would create the local folder, copy 1 here\n")
        != std::string::npos);
  CHECK_FALSE(fs::exists(env.local_root()));
  CHECK_FALSE(fs::exists(env.metadata()));

  // A wrong password is an error, as for a sync.
  env.write_config({}, {}, {}, "wrong");
  r = env.oimap({"--dry-run"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("ERROR: account Test:") != std::string::npos);
}
