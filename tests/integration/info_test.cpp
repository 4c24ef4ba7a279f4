// --info end to end: the server, its folders and their names here, read without a change.
#include <catch2/catch.hpp>

#include "support/sync_harness.hpp"

using namespace oimap::test;

TEST_CASE("info (--info) shows the server and every folder's name here, and changes nothing",
          "[integration]") {
  sync_env env({}, {{"alice", "s3cr3t-Pass"}});
  for (const std::string f : {"Work", "Skip"})
    REQUIRE(env.imap().command("CREATE " + f).ok());
  env.close_imap();
  for (const char* sub : {"cur", "new", "tmp"})
    fs::create_directories(env.local_folder("Here") / sub);
  env.write_config("folderfilter = lambda f: f != 'Skip'\n", {}, {}, "s3cr3t-Pass");
  const auto before = maildir_messages(env.local_folder("Here"));

  auto r = env.oimap({"--info"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("*** Account Test\n") != std::string::npos);
  CHECK(r.out.find("Remote repository 'TestRemote' (IMAP): 127.0.0.1:") != std::string::npos);
  CHECK(r.out.find(", no TLS, user alice\n") != std::string::npos);
  CHECK(r.out.find("Server capabilities: ") != std::string::npos);
  CHECK(r.out.find("IMAP4REV1") != std::string::npos);
  CHECK(r.out.find("  INBOX -> INBOX\n") != std::string::npos);
  CHECK(r.out.find("  Work -> Work\n") != std::string::npos);
  CHECK(r.out.find("  Skip (not synced") != std::string::npos);
  CHECK(r.out.find("  Here -> Here (to be created on the server)\n") != std::string::npos);
  CHECK(r.out.find("Local folders to be created: INBOX, Work\n") != std::string::npos);
  // Never the password.
  CHECK(r.out.find("s3cr3t") == std::string::npos);
  CHECK(r.err.find("s3cr3t") == std::string::npos);
  // Nothing made on either side, no status.
  CHECK_FALSE(fs::exists(env.local_folder("Work")));
  CHECK_FALSE(fs::exists(env.server_folder("Here")));
  CHECK_FALSE(fs::exists(env.metadata()));
  CHECK(maildir_messages(env.local_folder("Here")) == before);

  // An account it cannot log in to is an error naming it; exit 1.
  env.write_config({}, {}, {}, "wrong");
  r = env.oimap({"--info"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("ERROR: account Test:") != std::string::npos);
}
