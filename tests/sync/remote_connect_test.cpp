// Connecting a repository's server: connections begun early (early_connections), taken
// once and logged in by connect_remote, against a private Dovecot on 127.0.0.1.
#include "config/python_eval.hpp"
#include "protocol/imap_error.hpp"
#include "protocol/session.hpp"
#include "protocol/transport.hpp"
#include "support/dovecot_fixture.hpp"
#include "support/tcp_listener.hpp"
#include "sync/remote_connect.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <memory>
#include <optional>
#include <string>

using namespace oimap;
using oimap::test::private_dovecot;

namespace {

private_dovecot& dovecot() {
  static private_dovecot d(private_dovecot::options{.ssl = true});
  static bool user_added = [] {
    d.add_user("early", "pw-early");
    return true;
  }();
  (void)user_added;
  return d;
}

config::repository_settings imap_repo(std::uint16_t port, bool ssl) {
  config::imap_settings imap;
  imap.remotehost = "127.0.0.1";
  imap.remoteport = port;
  imap.remoteuser = "early";
  imap.remotepass = config::secret("pw-early");
  imap.ssl = ssl;
  imap.starttls = false;
  imap.sslcacertfile = dovecot().ca_file();
  config::repository_settings repo;
  repo.name = "remote";
  repo.where = "test.conf:1";
  repo.backend = imap;
  return repo;
}

// A port nothing listens on (the listener is gone).
std::uint16_t closed_port() {
  oimap::test::tcp_listener l;
  return l.port();
}

} // namespace

TEST_CASE("a connection begun early is taken once and logged in over", "[remote_connect]") {
  for (bool ssl : {false, true}) {
    INFO("ssl " << ssl);
    const auto repo = imap_repo(ssl ? dovecot().ssl_port() : dovecot().port(), ssl);
    sync::early_connections early;
    early.start("Personal", repo, 10);
    auto connected = early.take("Personal");
    REQUIRE(connected);
    CHECK(connected->peer().find(std::to_string(repo.imap()->remoteport)) != std::string::npos);
    // Connecting anew would fail: this repository's port is closed. The
    // login goes over the connection (and TLS session) made earlier.
    auto elsewhere = imap_repo(closed_port(), ssl);
    auto session = sync::connect_remote(elsewhere, 10, {}, std::move(connected));
    CHECK(session->has_condstore());
    CHECK(session->list("", "INBOX").size() == 1);
    CHECK(early.take("Personal") == nullptr); // taken already
    CHECK_THROWS_AS(sync::connect_remote(elsewhere, 10, {}, early.take("Personal")),
                    protocol::imap_error);
  }
}

TEST_CASE("accounts with no connection begun early connect as usual", "[remote_connect]") {
  const auto repo = imap_repo(dovecot().port(), false);
  sync::early_connections early;
  early.start("Personal", repo, 10);
  CHECK(early.take("Work") == nullptr);
  // A host from Python (remotehosteval) is not known before the evaluator
  // runs: nothing starts, and connect_remote reports the option.
  auto evaluated = repo;
  std::get<config::imap_settings>(evaluated.backend).remotehosteval = "'127.0.0.1'";
  early.start("Work", evaluated, 10);
  CHECK(early.take("Work") == nullptr);
  CHECK_THROWS_WITH(sync::connect_remote(evaluated, 10, {}, early.take("Work")),
                    Catch::Contains("remote") && Catch::Contains("Python"));
}

TEST_CASE("a connection that failed early reports its error when taken", "[remote_connect]") {
  const auto port = closed_port();
  sync::early_connections early;
  early.start("Personal", imap_repo(port, false), 10);
  std::optional<protocol::imap_error> error;
  try {
    early.take("Personal");
  } catch (const protocol::imap_error& e) {
    error = e;
  }
  REQUIRE(error);
  CHECK(error->kind() == protocol::error_kind::connect);
  CHECK_THAT(error->what(), Catch::Contains("127.0.0.1") && Catch::Contains(std::to_string(port)));
  CHECK(early.take("Personal") == nullptr); // the error is reported once, like a connection
}

TEST_CASE("the *eval options come from Python and win over their plain forms", "[remote_connect]") {
  oimap::test::temp_dir dir;
  const auto helpers = dir.path() / "helpers.py";
  {
    std::ofstream out(helpers);
    out << "asked = []\n"
           "def get_pass(user):\n"
           "    asked.append(user)\n"
           "    return {'early': 'pw-early'}[user]\n";
  }
  config::python_evaluator python(helpers, "test.conf:2");
  auto repo = imap_repo(1, false); // the plain port and password are wrong ...
  auto& imap = std::get<config::imap_settings>(repo.backend);
  imap.remotepass = config::secret("wrong");
  imap.remotehost = "nowhere.invalid";
  imap.remoteuser = "nobody";
  // ... the Python ones right.
  imap.remotehosteval = "'127.0.0.' + str(1)";
  imap.remoteporteval = std::to_string(dovecot().port());
  imap.remoteusereval = "'ear' + 'ly'";
  imap.remotepasseval = "get_pass('early')";
  for (int i = 0; i < 2; ++i) {
    auto session = sync::connect_remote(repo, 10, {}, nullptr, &python);
    CHECK(session->list("", "INBOX").size() == 1);
  }
  // The helper was asked once for both logins.
  CHECK(python.value("len(asked)", "test.conf:9") == "1");

  imap.remotepasseval = "get_pass('someone')";
  CHECK_THROWS_WITH(sync::connect_remote(repo, 10, {}, nullptr, &python),
                    "test.conf:1: repository 'remote': remotepasseval: 'get_pass('someone')' "
                    "failed: KeyError: 'someone'");
  imap.remotepasseval.reset();
  imap.remoteporteval = "'imaps'";
  CHECK_THROWS_WITH(sync::connect_remote(repo, 10, {}, nullptr, &python),
                    Catch::Contains("remoteporteval: 'imaps' is not a port number"));
}
