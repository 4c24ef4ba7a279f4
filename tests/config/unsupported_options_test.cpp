// OfflineIMAP options oimap does not act on: a warning each with file:line, or a refusal.
#include "config/unsupported_options.hpp"

#include "test_helpers.hpp"

#include <catch2/catch.hpp>

using namespace oimap::config;
using Catch::Matchers::Contains;
using oimap::config::test::error_text;

namespace {

// Two accounts sharing their remote repository; `extra` lines go where the
// marker in each section is (line numbers: see the tests).
std::string config_with(const std::string& general, const std::string& account,
                        const std::string& local, const std::string& remote) {
  return "[general]\n"                   // 1
         "accounts = A, B\n"             // 2
         + general + "\n"                // 3
         + "[Account A]\n"               // 4
           "localrepository = LA\n"      // 5
           "remoterepository = R\n"      // 6
         + account + "\n"                // 7
         + "[Account B]\n"               // 8
           "localrepository = LB\n"      // 9
           "remoterepository = R\n"      // 10
           "[Repository LA]\n"           // 11
           "type = Maildir\n"            // 12
           "localfolders = /m/a\n"       // 13
         + local + "\n"                  // 14
         + "[Repository LB]\n"           // 15
           "type = Maildir\n"            // 16
           "localfolders = /m/b\n"       // 17
           "[Repository R]\n"            // 18
           "type = IMAP\n"               // 19
           "remotehost = imap.example\n" // 20
           "remoteuser = u\n"            // 21
         + remote + "\n";                // 22
}

std::vector<std::string> check(const std::string& text) {
  const auto file = config_file::parse(text, "rc");
  return check_unsupported_options(file, load_settings(file));
}

} // namespace

TEST_CASE("a config with only what oimap acts on gives no warning", "[unsupported_options]") {
  CHECK(
      check(config_with("fsync = no", "autorefresh = 5", "sep = /", "maxconnections = 2")).empty());
}

TEST_CASE("each option oimap reads past is named with its line and what happens instead",
          "[unsupported_options]") {
  // pythonfile is loaded (python_eval): no warning.
  const auto warnings = check(config_with("pythonfile = ~/helpers.py", "",
                                          "startdate = 2020-01-01\ncustomflag_a = $Label1",
                                          "idlefolders = ['INBOX']"));
  REQUIRE(warnings.size() == 3);
  CHECK(warnings[0]
        == "rc:14: repository 'LA': option 'startdate' is not supported by oimap yet and is "
           "ignored: every message is synced, whatever its date");
  CHECK_THAT(warnings[1], Contains("rc:15: repository 'LA': option 'customflag_a'")
                              && Contains("IMAP keywords are not synced"));
  // The remote repository both accounts use is named once.
  CHECK_THAT(warnings[2], Contains("rc:23: repository 'R': option 'idlefolders'"));
}

TEST_CASE("an option set to off, 0 or nothing is no warning", "[unsupported_options]") {
  CHECK(check(config_with("", "", "startdate =\nrestoreatime = no",
                          "holdconnectionopen = false\nkeepalive = 0\nusecompression = no"))
            .empty());
  CHECK(check(config_with("", "", "", "usecompression = yes")).size() == 1);
}

TEST_CASE("an option where OfflineIMAP does not read it is no warning", "[unsupported_options]") {
  // startdate is a Maildir repository's option; idlefolders an IMAP one's.
  CHECK(check(config_with("", "", "idlefolders = ['x']", "startdate = 2020-01-01")).empty());
}

TEST_CASE("mbnames incremental is named", "[unsupported_options]") {
  auto text = config_with("", "", "", "") + "[mbnames]\nenabled = yes\nincremental = yes\n";
  const auto warnings = check(text);
  REQUIRE(warnings.size() == 1);
  CHECK_THAT(warnings[0],
             Contains("rc:25: [mbnames]: option 'incremental'") && Contains("written once"));
  CHECK(
      check(config_with("", "", "", "") + "[mbnames]\nenabled = no\nincremental = yes\n").empty());
}

TEST_CASE("an option whose absence would sync something else is refused", "[unsupported_options]") {
  CHECK(error_text([] { check(config_with("", "", "", "reference = Mail")); })
        == "rc:22: repository 'R': option 'reference' is not supported by oimap yet, and "
           "ignoring it would list the folders from the server's root, not under this prefix");
  CHECK_THAT(error_text([] { check(config_with("", "", "", "decodefoldernames = yes")); }),
             Contains("rc:22:") && Contains("UTF-7"));
  CHECK(check(config_with("", "authproxy =", "", "decodefoldernames = no")).empty());
  // authproxy serves only OAuth2, which oimap does not do: a warning.
  const auto warnings = check(config_with("", "authproxy = SOCKS5:localhost:9050", "", ""));
  REQUIRE(warnings.size() == 1);
  CHECK_THAT(warnings[0], Contains("rc:7: account 'A': option 'authproxy'"));
}
