// Typed settings from full OfflineIMAP configs: values, defaults and error messages.
#include "config/settings.hpp"

#include "config/overrides.hpp"
#include "test_helpers.hpp"

#include <catch2/catch.hpp>

using namespace oimap::config;
using Catch::Matchers::Contains;
using oimap::config::test::error_text;
using oimap::config::test::scoped_env;
using oimap::config::test::temp_dir;

namespace {

// A typical two-account offlineimaprc; line numbers matter to the tests.
const char* const typical = R"(# oimap test config
[general]
accounts = Personal, Work
maxsyncaccounts = 2
ui = Curses.Blinkenlights, basic
socktimeout = 60
pythonfile = ~/.offlineimap.py

[DEFAULT]
mailroot = ~/Mail

[Account Personal]
localrepository = PersonalLocal
remoterepository = PersonalRemote
autorefresh = 2.5
quick = 10
postsynchook = notmuch new

[Account Work]
localrepository = WorkLocal
remoterepository = WorkRemote

[Repository PersonalLocal]
type = Maildir
localfolders = %(mailroot)s/personal
sep = /
nametrans = lambda f: f.replace('/', '.')

[Repository PersonalRemote]
type = IMAP
remotehost = imap.example.org
remoteuser = me@example.org
remotepass = se;cr#et%%
sslcacertfile = OS-DEFAULT
maxconnections = 3
folderfilter = lambda f: f not in ['Trash',
                                   'Spam']

[Repository WorkLocal]
type = Maildir
localfolders = $OIMAP_TEST_ROOT/work

[Repository WorkRemote]
type = IMAP
remotehost = mail.work.example
remoteport = 1143
remoteuser = worker
ssl = no
starttls = yes
ssl_verify = no
sslcacertfile = ~/certs/ca.pem
expunge = no
readonly = true
auth_mechanisms = plain, LOGIN
cert_fingerprint = AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01, 00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF
ipv6 = no
)";

settings load(const std::string& text, const std::optional<std::string>& accounts = {}) {
  return load_settings(config_file::parse(text, "rc"), accounts);
}

// The typical config with one line replaced (1-based), to break one thing.
std::string with_line(int lineno, const std::string& replacement) {
  std::string text = typical;
  std::size_t start = 0;
  for (int i = 1; i < lineno; ++i) {
    start = text.find('\n', start) + 1;
  }
  const std::size_t end = text.find('\n', start);
  return text.replace(start, end - start, replacement);
}

} // namespace

TEST_CASE("a typical two-account config gives the right settings", "[settings]") {
  const scoped_env home("HOME", "/home/u");
  const scoped_env root("OIMAP_TEST_ROOT", "/srv/mail");
  const settings s = load(typical);

  CHECK(s.general.accounts == std::vector<std::string>{"Personal", "Work"});
  CHECK(s.general.metadata == "/home/u/.offlineimap");
  CHECK(s.general.maxsyncaccounts == 2);
  CHECK(s.general.ui == ui_kind::blinkenlights);
  CHECK(s.general.fsync);
  CHECK(s.general.socktimeout == 60);
  CHECK(s.general.pythonfile == std::filesystem::path("/home/u/.offlineimap.py"));

  REQUIRE(s.accounts.size() == 2);
  const account_settings& personal = s.accounts[0];
  CHECK(personal.name == "Personal");
  CHECK(personal.where == "rc:12");
  CHECK(personal.localrepository == "PersonalLocal");
  CHECK(personal.remoterepository == "PersonalRemote");
  CHECK(personal.autorefresh == 2.5);
  CHECK(personal.quick == 10);
  CHECK_FALSE(personal.maildir_windows_compatible);
  CHECK(personal.postsynchook == "notmuch new");
  CHECK_FALSE(personal.presynchook.has_value());

  const account_settings& work = s.accounts[1];
  CHECK(work.autorefresh == 0);
  CHECK(work.quick == 0);

  const repository_settings& plocal = s.local(personal);
  REQUIRE(plocal.type() == repository_type::maildir);
  CHECK(plocal.maildir()->localfolders == "/home/u/Mail/personal"); // %(mailroot)s then ~
  CHECK(plocal.maildir()->sep == '/');
  CHECK(plocal.nametrans == "lambda f: f.replace('/', '.')");
  CHECK(plocal.sync_deletes);
  CHECK_FALSE(plocal.readonly);
  CHECK(plocal.createfolders);

  const repository_settings& premote = s.remote(personal);
  REQUIRE(premote.type() == repository_type::imap);
  const imap_settings& pimap = *premote.imap();
  CHECK(premote.where == "rc:29");
  CHECK(pimap.remotehost == "imap.example.org");
  CHECK(pimap.remoteport == 993);
  CHECK(pimap.remoteuser == "me@example.org");
  REQUIRE(pimap.remotepass.has_value());
  CHECK(pimap.remotepass->reveal() == "se;cr#et%");
  CHECK(pimap.ssl);
  CHECK(pimap.starttls);
  CHECK(pimap.tls_verify);
  CHECK_FALSE(pimap.sslcacertfile.has_value()); // OS-DEFAULT: the system store
  CHECK(pimap.maxconnections == 3);
  CHECK_FALSE(pimap.ipv6.has_value()); // unset: either family
  CHECK(pimap.expunge);
  CHECK(pimap.auth_mechanisms
        == std::vector<std::string>{"GSSAPI", "XOAUTH2", "CRAM-MD5", "PLAIN", "LOGIN"});
  CHECK(premote.folderfilter == "lambda f: f not in ['Trash',\n'Spam']");

  const repository_settings& wlocal = s.local(work);
  CHECK(wlocal.maildir()->localfolders == "/srv/mail/work");
  CHECK(wlocal.maildir()->sep == '.');

  const imap_settings& wimap = *s.remote(work).imap();
  CHECK(wimap.remoteport == 1143);
  CHECK(wimap.ipv6 == false);
  CHECK_FALSE(wimap.ssl);
  CHECK(wimap.starttls);
  CHECK_FALSE(wimap.tls_verify);
  CHECK(wimap.sslcacertfile == std::filesystem::path("/home/u/certs/ca.pem"));
  CHECK_FALSE(wimap.expunge);
  CHECK(s.remote(work).readonly);
  CHECK_FALSE(wimap.remotepass.has_value());
  CHECK(wimap.auth_mechanisms == std::vector<std::string>{"PLAIN", "LOGIN"});
  CHECK(wimap.cert_fingerprints
        == std::vector<std::string>{
            "abcdef0123456789abcdef0123456789abcdef01",
            "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"});
  CHECK(s.repositories.size() == 4);
}

TEST_CASE("defaults of a minimal config", "[settings]") {
  const scoped_env home("HOME", "/h");
  const settings s = load("[general]\naccounts = A\n"
                          "[Account A]\nlocalrepository = L\nremoterepository = R\n"
                          "[Repository L]\ntype = Maildir\nlocalfolders = ~/Maildir\n"
                          "[Repository R]\ntype = IMAP\nremotehost = h\nremoteuser = u\n"
                          "ssl = off\n");
  CHECK(s.general.metadata == "/h/.offlineimap");
  CHECK(s.general.maxsyncaccounts == 1);
  CHECK(s.general.ui == ui_kind::ttyui);
  CHECK(s.general.fsync);
  CHECK(s.general.socktimeout == 0);
  CHECK_FALSE(s.general.pythonfile.has_value());
  const imap_settings& imap = *s.remote(s.accounts.at(0)).imap();
  CHECK(imap.remoteport == 143); // no ssl: the plain IMAP port
  CHECK(imap.starttls);
  CHECK(imap.tls_verify);
  CHECK(imap.maxconnections == 1);
  CHECK(imap.expunge);
  CHECK_FALSE(imap.holdconnectionopen);
  CHECK(imap.keepalive == 0);
  CHECK_FALSE(read_password(s.remote(s.accounts.at(0))).has_value());
}

TEST_CASE("the -a option selects accounts", "[settings]") {
  const scoped_env home("HOME", "/home/u");
  const auto file = config_file::parse(typical, "rc");
  CHECK(select_accounts(file, std::nullopt) == std::vector<std::string>{"Personal", "Work"});
  CHECK(select_accounts(file, std::string("Work")) == std::vector<std::string>{"Work"});
  CHECK(select_accounts(file, std::string(" Work ,Personal,Work"))
        == std::vector<std::string>{"Work", "Personal"});
  const settings only_work = load_settings(file, std::string("Work"));
  REQUIRE(only_work.accounts.size() == 1);
  CHECK(only_work.accounts[0].name == "Work");
  CHECK(only_work.repositories.size() == 2);
  CHECK_THAT(error_text([&] { select_accounts(file, std::string("Work,Nope")); }),
             Contains("command line (-a)") && Contains("'Nope'") && Contains("Personal, Work"));
  CHECK_THAT(error_text([&] { select_accounts(file, std::string(" , ")); }),
             Contains("no accounts"));
}

TEST_CASE("references must exist", "[settings]") {
  SECTION("an account listed in accounts without its section") {
    const auto text = error_text([] { load(with_line(3, "accounts = Personal, Ghost")); });
    CHECK_THAT(text, Contains("rc:3:") && Contains("'Ghost'") && Contains("[Account Ghost]"));
  }
  SECTION("an account naming a missing repository") {
    const auto text = error_text([] { load(with_line(14, "remoterepository = Nowhere")); });
    CHECK(text
          == "rc:14: account 'Personal': repository 'Nowhere' has no [Repository Nowhere] section");
  }
  SECTION("a required account option missing points at the section") {
    const auto text = error_text([] { load(with_line(20, "# no localrepository")); });
    CHECK_THAT(text, Contains("rc:19: account 'Work'") && Contains("'localrepository'"));
  }
  SECTION("no [general] or no accounts") {
    CHECK_THAT(error_text([] { load("[Account A]\n"); }), Contains("[general]"));
    CHECK_THAT(error_text([] { load("[general]\nui = basic\n"); }),
               Contains("rc:1:") && Contains("'accounts'"));
  }
}

TEST_CASE("repository validation", "[settings]") {
  const scoped_env home("HOME", "/home/u");
  SECTION("type is required and case-sensitive") {
    CHECK_THAT(error_text([] { load(with_line(24, "# no type")); }),
               Contains("rc:23: repository 'PersonalLocal'") && Contains("'type'"));
    CHECK_THAT(error_text([] { load(with_line(24, "type = maildir")); }),
               Contains("rc:24: repository 'PersonalLocal'") && Contains("'maildir'"));
  }
  SECTION("Gmail types are not supported yet") {
    CHECK_THAT(error_text([] { load(with_line(30, "type = Gmail")); }),
               Contains("rc:30: repository 'PersonalRemote'") && Contains("not supported yet"));
    CHECK_THAT(error_text([] { load(with_line(24, "type = GmailMaildir")); }),
               Contains("rc:24:") && Contains("not supported yet"));
  }
  SECTION("the remote side must be IMAP") {
    CHECK_THAT(error_text([] { load(with_line(14, "remoterepository = WorkLocal")); }),
               Contains("rc:14: account 'Personal'") && Contains("must be IMAP"));
  }
  SECTION("Maildir needs localfolders and a one-character sep") {
    CHECK_THAT(error_text([] { load(with_line(25, "# none")); }),
               Contains("rc:23: repository 'PersonalLocal'") && Contains("'localfolders'"));
    CHECK_THAT(error_text([] { load(with_line(26, "sep = ::")); }),
               Contains("rc:26:") && Contains("single character"));
  }
  SECTION("IMAP needs remotehost and remoteuser, unless their eval forms are given") {
    CHECK_THAT(error_text([] { load(with_line(31, "# none")); }),
               Contains("rc:29: repository 'PersonalRemote'") && Contains("'remotehost'"));
    CHECK_THAT(error_text([] { load(with_line(32, "remoteuser =")); }),
               Contains("rc:32:") && Contains("'remoteuser' is empty"));
    const settings s = load(with_line(31, "remotehosteval = get_host()"));
    CHECK(s.remote(s.accounts[0]).imap()->remotehosteval == "get_host()");
    CHECK(s.remote(s.accounts[0]).imap()->remotehost.empty());
  }
  SECTION("bad typed values name the line, option and value") {
    CHECK_THAT(error_text([] { load(with_line(48, "ssl = sometimes")); }),
               Contains("rc:48:") && Contains("'ssl'") && Contains("'sometimes'"));
    CHECK_THAT(error_text([] { load(with_line(35, "maxconnections = 0")); }),
               Contains("rc:35: repository 'PersonalRemote'") && Contains("maxconnections"));
    CHECK_THAT(error_text([] { load(with_line(46, "remoteport = 99999")); }),
               Contains("rc:46:") && Contains("65535"));
    CHECK_THAT(error_text([] { load(with_line(15, "autorefresh = soon")); }),
               Contains("rc:15:") && Contains("'soon'"));
    CHECK_THAT(error_text([] { load(with_line(4, "maxsyncaccounts = -2")); }),
               Contains("rc:4: [general]"));
    CHECK_THAT(error_text([] { load(with_line(54, "auth_mechanisms = SCRAM-SHA-1")); }),
               Contains("rc:54:") && Contains("SCRAM-SHA-1"));
    CHECK_THAT(error_text([] { load(with_line(55, "cert_fingerprint = AB:CD:EF")); }),
               Contains("rc:55:") && Contains("'AB:CD:EF'") && Contains("SHA-256"));
    CHECK_THAT(
        error_text([] {
          load(with_line(55, "cert_fingerprint = "
                             "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"));
        }),
        Contains("rc:55:") && Contains("not a SHA-1"));
  }
  SECTION("maxage: days or a date; maxsize: bytes; 0 or nothing: no limit") {
    const auto personal = [](const std::string& line) {
      return load(with_line(15, line)).accounts.at(0);
    };
    CHECK(personal("maxage = 30").maxage->days == 30);
    const auto dated = personal("maxage = 2025-12-09").maxage;
    REQUIRE(dated);
    CHECK((dated->days == 0 && dated->year == 2025 && dated->month == 12 && dated->day == 9));
    CHECK_FALSE(personal("maxage = 0").maxage);
    CHECK_FALSE(personal("maxage = 000").maxage);
    CHECK(personal("maxage = 2024-02-29").maxage->day == 29);
    CHECK_FALSE(personal("maxage =").maxage);
    CHECK(personal("maxsize = 100000").maxsize == 100000);
    CHECK_FALSE(personal("maxsize = 0").maxsize);
    CHECK_THAT(error_text([] { load(with_line(15, "maxage = last week")); }),
               Contains("rc:15: account 'Personal'") && Contains("'last week'")
                   && Contains("yyyy-mm-dd"));
    CHECK_THAT(error_text([] { load(with_line(15, "maxage = 2025-13-01")); }),
               Contains("rc:15:") && Contains("'2025-13-01'"));
    for (const char* impossible : {"maxage = 2026-02-31", "maxage = 2025-02-29"})
      CHECK_THAT(error_text([&] { load(with_line(15, impossible)); }), Contains("rc:15:"));
    CHECK_THAT(error_text([] { load(with_line(15, "maxsize = -5")); }),
               Contains("rc:15:") && Contains("maxsize"));
  }
  SECTION("a tunnel takes the place of remotehost (and, preauthenticated, of remoteuser)") {
    // Line 45 is WorkRemote's remotehost, 47 its remoteuser.
    const auto tunnel = load(with_line(45, "transporttunnel = openssl s_client -quiet"));
    const auto& timap = *tunnel.remote(tunnel.accounts.at(1)).imap();
    CHECK(timap.transporttunnel == "openssl s_client -quiet");
    CHECK(timap.remotehost.empty());
    CHECK(timap.remoteuser == "worker");
    CHECK_THAT(error_text([] { load(with_line(47, "transporttunnel = x")); }),
               Contains("'remoteuser' is required"));
    const auto preauth = load(with_line(47, "preauthtunnel = ssh mail /usr/lib/dovecot/imap"));
    CHECK(preauth.remote(preauth.accounts.at(1)).imap()->remoteuser.empty());
    CHECK_THAT(error_text([] { load(with_line(45, "preauthtunnel = a\ntransporttunnel = b")); }),
               Contains("rc:46:") && Contains("both set"));
  }
  SECTION("an unknown ui") {
    CHECK_THAT(error_text([] { load(with_line(5, "ui = fancy, shiny")); }),
               Contains("rc:5: [general]") && Contains("ttyui"));
    CHECK(load(with_line(5, "ui = fancy, Quiet")).general.ui == ui_kind::quiet);
    CHECK(to_string(ui_kind::machineui) == "machineui");
  }
}

TEST_CASE("overrides given with -k reach the typed settings", "[settings]") {
  const scoped_env home("HOME", "/home/u");
  auto file = config_file::parse(typical, "rc");
  apply_overrides(file, {"Account_Personal:autorefresh=30", "Repository_WorkRemote:ssl=yes",
                         "maxsyncaccounts=1"});
  const settings s = load_settings(file);
  CHECK(s.accounts[0].autorefresh == 30.0);
  CHECK(s.general.maxsyncaccounts == 1);
  CHECK(s.remote(s.accounts[1]).imap()->ssl);
  CHECK(s.remote(s.accounts[1]).imap()->remoteport == 1143);

  apply_overrides(file, {"Repository_WorkRemote:maxconnections=none"});
  CHECK_THAT(error_text([&] { load_settings(file); }),
             Contains("command line (-k Repository_WorkRemote:maxconnections)"));
}

TEST_CASE("read_password: remotepass, else the first line of remotepassfile", "[settings]") {
  const temp_dir dir;
  const scoped_env home("HOME", dir.path().string());
  dir.write("pass", "  file-secret \nsecond line\n");
  const std::string base = "[general]\naccounts = A\n"
                           "[Account A]\nlocalrepository = L\nremoterepository = R\n"
                           "[Repository L]\ntype = Maildir\nlocalfolders = ~/m\n"
                           "[Repository R]\ntype = IMAP\nremotehost = h\nremoteuser = u\n";
  SECTION("from the file, read when asked") {
    const settings s = load(base + "remotepassfile = ~/pass\n");
    const auto& remote = s.remote(s.accounts[0]);
    CHECK(remote.imap()->remotepassfile == dir.path() / "pass");
    const auto password = read_password(remote);
    REQUIRE(password.has_value());
    CHECK(password->reveal() == "file-secret");
  }
  SECTION("remotepass wins over the file") {
    const settings s = load(base + "remotepass = inline\nremotepassfile = ~/pass\n");
    CHECK(read_password(s.remote(s.accounts[0]))->reveal() == "inline");
  }
  SECTION("an unreadable file names the file and the line, not a password") {
    const settings s = load(base + "remotepassfile = ~/missing\n");
    const auto text = error_text([&] { (void)read_password(s.remote(s.accounts[0])); });
    CHECK_THAT(text, Contains("rc:13: repository 'R'") && Contains("missing")
                         && Contains("No such file or directory"));
  }
  SECTION("a Maildir repository has no password") {
    const settings s = load(base);
    CHECK_FALSE(read_password(s.local(s.accounts[0])).has_value());
  }
}

TEST_CASE("a password never appears in an error message", "[settings]") {
  const scoped_env home("HOME", "/home/u");
  const std::string password = "Pa55w0rd-XYZ";
  auto check_hidden = [&](const std::string& text) {
    const auto message = error_text([&] { load(text); });
    INFO(message);
    CHECK_THAT(message, !Contains(password) && !Contains("Pa55w0rd"));
  };
  // A stray '%' in the password makes it an invalid interpolation.
  check_hidden(with_line(33, "remotepass = " + password + "%"));
  check_hidden(with_line(33, "remotepass = " + password + "%(x"));
  // Set twice.
  check_hidden(with_line(33, "remotepass = " + password + "\nremotepass = " + password));
  // A password continuation line that lost its indentation.
  check_hidden(with_line(33, "remotepass = first\n" + password));
  // Before any section header.
  check_hidden(std::string("remotepass = ") + password + "\n" + typical);
  // Another option broken in the same repository.
  check_hidden(with_line(33, "remotepass = " + password + "\nmaxconnections = x"));
  // A -k override with a bad '%'.
  auto file = config_file::parse(typical, "rc");
  const auto message = error_text(
      [&] { apply_overrides(file, {"Repository_PersonalRemote:remotepass=" + password + "%"}); });
  CHECK_THAT(message, !Contains(password));
}

TEST_CASE("accounts sharing a server repository must share its proxy", "[settings]") {
  const auto shared = [](const std::string& a_proxy, const std::string& b_proxy) {
    return "[general]\naccounts = A, B\n"
           "[Account A]\nlocalrepository = LA\nremoterepository = R\n"
           + a_proxy
           + "\n"
             "[Account B]\nlocalrepository = LB\nremoterepository = R\n"
           + b_proxy
           + "\n"
             "[Repository LA]\ntype = Maildir\nlocalfolders = /m/a\n"
             "[Repository LB]\ntype = Maildir\nlocalfolders = /m/b\n"
             "[Repository R]\ntype = IMAP\nremotehost = h\nremoteuser = u\n";
  };
  const auto both = load(shared("proxy = SOCKS5:p:1080", "proxy = socks5:p:1080"));
  REQUIRE(both.remote(both.accounts.at(0)).imap()->proxy);
  CHECK(both.remote(both.accounts.at(0)).imap()->proxy->port == 1080);
  // One with, one without: either order is an error, not a silent choice.
  CHECK_THAT(error_text([&] { load(shared("", "proxy = SOCKS5:p:1080")); }),
             Contains("rc:10: account 'B'") && Contains("without a proxy"));
  CHECK_THAT(error_text([&] { load(shared("proxy = HTTP:p:3128", "")); }),
             Contains("account 'B'") && Contains("through another proxy"));
}
