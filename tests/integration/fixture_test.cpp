// Self-test of the test support: run_command, temp_dir, private_dovecot, imap_dialogue.
#include <catch2/catch.hpp>

#include "support/dovecot_fixture.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

using namespace oimap::test;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::size_t count_files(const fs::path& dir) {
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir))
    n += e.is_regular_file() ? 1 : 0;
  return n;
}

const std::string sample_message = "From: Alice <alice@example.org>\r\n"
                                   "To: Bob <bob@example.org>\r\n"
                                   "Subject: fixture self-test\r\n"
                                   "Date: Mon, 01 Jan 2024 10:00:00 +0000\r\n"
                                   "Message-ID: <fixture-1@example.org>\r\n"
                                   "\r\n"
                                   "Hello from the fixture.\r\n";

} // namespace

TEST_CASE("run_command captures output and exit status", "[fixture]") {
  const auto r = run_command({"sh", "-c", "echo out; echo err >&2; exit 3"});
  CHECK(r.exit_code == 3);
  CHECK(r.out == "out\n");
  CHECK(r.err == "err\n");
  CHECK_FALSE(r.timed_out);

  const auto env = run_command({"sh", "-c", "printf %s \"$OIMAP_FIXTURE_VAR\""},
                               {{"OIMAP_FIXTURE_VAR", "value 1"}});
  CHECK(env.out == "value 1");

  const auto missing = run_command({"/nonexistent/program"});
  CHECK(missing.exit_code == 127);
}

TEST_CASE("run_command kills a command at its deadline", "[fixture]") {
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_command({"sh", "-c", "sleep 30 & sleep 30"}, {}, 300ms);
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(r.timed_out);
  CHECK(r.exit_code == 128 + 9);
  CHECK(took < 5s);
}

TEST_CASE("temp_dir removes its tree", "[fixture]") {
  fs::path kept;
  {
    temp_dir t("oimap-fixture");
    kept = t.path();
    REQUIRE(fs::is_directory(kept));
    fs::create_directories(kept / "a" / "b");
    std::ofstream(kept / "a" / "b" / "file") << "x";
  }
  CHECK_FALSE(fs::exists(kept));
}

TEST_CASE("private Dovecot: login then create and append and select then restart and stop",
          "[fixture][dovecot]") {
  private_dovecot server;
  REQUIRE(server.port() != 0);
  CHECK(server.ssl_port() == 0);
  CHECK(port_accepts(server.port()));
  server.add_user("alice", "secret \"quoted\" pass");

  {
    imap_dialogue imap(server.port());
    CHECK(imap.greeting().rfind("* OK", 0) == 0);
    const auto pre = imap.command("CAPABILITY");
    REQUIRE(pre.ok());
    CHECK(pre.text().find("STARTTLS") == std::string::npos);
    CHECK(pre.text().find("LOGINDISABLED") == std::string::npos);

    CHECK_FALSE(imap.command("LOGIN alice wrong").ok());
    imap.login("alice", "secret \"quoted\" pass");
    // Dovecot announces the extensions oimap relies on after login.
    const auto caps = imap.command("CAPABILITY");
    REQUIRE(caps.ok());
    const auto cap_line = caps.lines_with("CAPABILITY").at(0);
    for (const char* cap :
         {"IMAP4rev1", "LITERAL+", "UIDPLUS", "CONDSTORE", "QRESYNC", "ENABLE", "IDLE"}) {
      INFO(cap_line);
      CHECK(cap_line.find(cap) != std::string::npos);
    }

    const auto list = imap.command("LIST \"\" \"\"");
    REQUIRE(list.ok());
    CHECK(list.lines_with("LIST").at(0).find("\".\"") != std::string::npos);

    REQUIRE(imap.command("CREATE Projects.oimap").ok());
    const auto appended = imap.append("Projects.oimap", sample_message, "\\Seen \\Flagged");
    INFO(appended.text());
    REQUIRE(appended.ok());
    CHECK(appended.tagged.find("APPENDUID") != std::string::npos);

    const auto select = imap.command("SELECT Projects.oimap");
    REQUIRE(select.ok());
    CHECK(select.lines_with("EXISTS").at(0) == "* 1 EXISTS");

    const auto fetch = imap.command("UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])");
    REQUIRE(fetch.ok());
    const auto line = fetch.lines_with("FETCH").at(0);
    CHECK(line.find("\\Flagged") != std::string::npos);
    CHECK(line.find("\\Seen") != std::string::npos);
    CHECK(line.find("Subject: fixture self-test") != std::string::npos);
    CHECK(imap.command("LOGOUT").ok());
  }

  // The message is a Maildir++ file on disk, flags in its name.
  const auto cur = server.user_maildir("alice") / ".Projects.oimap" / "cur";
  REQUIRE(fs::is_directory(cur));
  REQUIRE(count_files(cur) == 1);
  CHECK(fs::directory_iterator(cur)->path().filename().string().ends_with(":2,FS"));

  const auto status =
      server.doveadm({"mailbox", "status", "-u", "alice", "messages", "Projects.oimap"});
  CHECK(status.exit_code == 0);
  CHECK(status.out.find("messages=1") != std::string::npos);

  // A restart keeps port, users and mail.
  const auto port = server.port();
  server.restart();
  REQUIRE(server.port() == port);
  {
    imap_dialogue imap(port);
    imap.login("alice", "secret \"quoted\" pass");
    const auto examine = imap.command("EXAMINE Projects.oimap");
    REQUIRE(examine.ok());
    CHECK(examine.lines_with("EXISTS").at(0) == "* 1 EXISTS");
  }

  server.stop();
  CHECK_FALSE(server.running());
  CHECK_FALSE(port_accepts(port));
  CHECK_THROWS(imap_dialogue(port));
  server.stop(); // idempotent
}

TEST_CASE("private Dovecot: fill loads sample mail with flags", "[fixture][dovecot]") {
  private_dovecot server;
  server.add_user("bob", "pw");
  const auto manifest = server.fill("bob", "folders=5,messages=8,seed=3");
  CHECK(fs::exists(manifest));

  imap_dialogue imap(server.port());
  imap.login("bob", "pw");
  const auto list = imap.command("LIST \"\" \"*\"");
  REQUIRE(list.ok());
  CHECK(list.text().find("Archive.2024") != std::string::npos);
  CHECK(list.text().find("Lists.dev") != std::string::npos);
  const auto lsub = imap.command("LSUB \"\" \"*\"");
  CHECK(lsub.lines_with("LSUB").size() == 5);

  const auto select = imap.command("SELECT INBOX");
  REQUIRE(select.ok());
  CHECK(select.lines_with("EXISTS").at(0) == "* 8 EXISTS");
  const auto drafts = imap.command("EXAMINE Drafts");
  REQUIRE(drafts.ok());
  const auto flags = imap.command("FETCH 1:* FLAGS");
  REQUIRE(flags.lines_with("FETCH").size() == 8);
  for (const auto& l : flags.lines_with("FETCH"))
    CHECK(l.find("\\Draft") != std::string::npos);

  // Files written by hand appear once they belong to the mail owner.
  const auto inbox_new = server.user_maildir("bob") / "new";
  std::ofstream(inbox_new / "1700000000.M1P1.handmade", std::ios::binary) << sample_message;
  server.fix_ownership("bob");
  const auto again = imap.command("EXAMINE INBOX");
  REQUIRE(again.ok());
  CHECK(again.lines_with("EXISTS").at(0) == "* 9 EXISTS");
}

TEST_CASE("private Dovecot with TLS and slash as separator", "[fixture][dovecot]") {
  private_dovecot server({.ssl = true, .separator = '/'});
  REQUIRE(server.ssl_port() != 0);
  REQUIRE(fs::exists(server.ca_file()));
  server.add_user("carol", "pw");

  imap_dialogue imap(server.port());
  const auto caps = imap.command("CAPABILITY");
  CHECK(caps.text().find("STARTTLS") != std::string::npos);
  imap.login("carol", "pw");
  REQUIRE(imap.command("CREATE a/b").ok());
  const auto list = imap.command("LIST \"\" \"*\"");
  CHECK(list.text().find("\"/\" a/b") != std::string::npos);
  CHECK(fs::is_directory(server.user_maildir("carol") / ".a.b"));

  // The certificate verifies against ca_file() for both localhost and 127.0.0.1.
  for (const auto& check :
       {std::string("-verify_hostname=localhost"), std::string("-verify_ip=127.0.0.1")}) {
    const auto flag = check.substr(0, check.find('='));
    const auto value = check.substr(check.find('=') + 1);
    const auto r = run_command({"openssl", "s_client", "-connect",
                                "127.0.0.1:" + std::to_string(server.ssl_port()), "-CAfile",
                                server.ca_file().string(), "-verify_return_error", flag, value},
                               {}, 20s);
    INFO(r.out << r.err);
    CHECK(r.out.find("Verify return code: 0 (ok)") != std::string::npos);
  }
}
