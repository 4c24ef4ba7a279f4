// filterheaders end to end: the fields never reach the server, the local files keep them.
#include <catch2/catch.hpp>

#include "support/sync_harness.hpp"

using namespace oimap::test;

TEST_CASE("filterheaders: uploads leave the fields out, the local file keeps them",
          "[integration]") {
  sync_env env;
  env.write_config();
  REQUIRE(env.oimap({"-o"}).exit_code == 0);
  const auto inbox = env.local_folder("INBOX");
  const std::string local = "From: a@example.org\nX-Spam-Flag: YES\n\tscore 9\n"
                            "X-Keywords: $Junk\nSubject: filtered\nMessage-ID: <f1@x>\n\n"
                            "X-Spam-Flag: in the body, kept\n";
  write_file(inbox / "new" / "1700000000.M1.here", local);

  auto r = env.oimap({"-o", "-k", "Account_Test:filterheaders=X-Spam-Flag, x-keywords"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const auto server = maildir_messages(env.server_folder("INBOX"));
  REQUIRE(server.size() == 1);
  CHECK(server[0].body
        == "From: a@example.org\nSubject: filtered\nMessage-ID: <f1@x>\n\n"
           "X-Spam-Flag: in the body, kept\n");
  const auto here = maildir_messages(inbox);
  REQUIRE(here.size() == 1);
  CHECK(here[0].body == local);
  // Uploaded once: the next run has nothing to do.
  r = env.oimap({"-o", "-k", "Account_Test:filterheaders=X-Spam-Flag, x-keywords"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(maildir_messages(env.server_folder("INBOX")).size() == 1);
}
