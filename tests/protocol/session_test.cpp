// The IMAP session against a private Dovecot on 127.0.0.1: login, TLS, mailbox commands,
// pipelining, traces.
#include "protocol/command.hpp"
#include "protocol/imap_error.hpp"
#include "protocol/session.hpp"
#include "support/dovecot_fixture.hpp"
#include "support/tcp_listener.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace oimap::protocol;
using oimap::storage::flag;
using oimap::storage::flag_set;
using oimap::test::private_dovecot;

namespace {

std::string password_of(const std::string& user) {
  // One password needs a literal (8-bit) and has both quoted-specials.
  if (user == "utf8")
    return "p\xc3\xa4\"ss\\w\xc3\xb6rd";
  return "pw-" + user + "-S3cret!";
}

// Every user of the shared server: all added before the first login, since
// Dovecot's passwd-file lookup rereads the file at most once a second.
const char* const users[] = {"plain",    "login", "wrong",       "starttls",   "untrusted", "imaps",
                             "mbox",     "msgs",  "bulk",        "size",       "kicked",    "utf8",
                             "prefetch", "multi", "storeappend", "examinemany"};

// One Dovecot with TLS (STARTTLS on port(), imaps on ssl_port()) for the
// whole binary; each test case uses its own user, so tests stay independent.
private_dovecot& dovecot() {
  static private_dovecot d(private_dovecot::options{.ssl = true});
  static bool users_added = [] {
    for (const char* u : users)
      d.add_user(u, password_of(u));
    return true;
  }();
  (void)users_added;
  return d;
}

std::string new_user(std::string_view name) {
  REQUIRE(std::find(std::begin(users), std::end(users), name) != std::end(users));
  dovecot();
  return std::string(name);
}

struct trace_log {
  std::vector<std::pair<char, std::string>> lines;
  std::function<void(char, std::string_view)> callback() {
    return [this](char dir, std::string_view line) { lines.emplace_back(dir, std::string(line)); };
  }
  bool contains(std::string_view needle) const {
    return std::any_of(lines.begin(), lines.end(),
                       [&](const auto& l) { return l.second.find(needle) != std::string::npos; });
  }
  // Index of the first line sent ('>') or received ('<') containing needle; npos if none.
  std::size_t find(char dir, std::string_view needle, std::size_t from = 0) const {
    for (std::size_t i = from; i < lines.size(); ++i)
      if (lines[i].first == dir && lines[i].second.find(needle) != std::string::npos)
        return i;
    return std::string::npos;
  }
  std::string text() const {
    std::string out;
    for (const auto& [d, l] : lines)
      out += std::string(1, d) + " " + l + "\n";
    return out;
  }
};

// Plain IMAP to 127.0.0.1:port as user, traced into log.
connect_options options_at(std::uint16_t port, const std::string& user, const std::string& password,
                           trace_log* log) {
  connect_options o;
  o.host = "127.0.0.1";
  o.port = port;
  o.timeout_seconds = 30;
  o.user = user;
  o.password = password;
  if (log)
    o.trace = log->callback();
  return o;
}

connect_options options_for(const std::string& user, trace_log* log = nullptr) {
  return options_at(dovecot().port(), user, password_of(user), log);
}

std::unique_ptr<session> login(const std::string& user, trace_log* log = nullptr) {
  return session::connect(options_for(user, log));
}

// The password must never reach a trace, neither as typed nor inside the
// base64 SASL PLAIN response.
void check_no_secrets(const trace_log& log, const std::string& user) {
  const std::string pw = password_of(user);
  const std::string plain = std::string("\0", 1) + user + std::string("\0", 1) + pw;
  INFO(log.text());
  CHECK_FALSE(log.contains(pw));
  CHECK_FALSE(log.contains(base64_encode(plain)));
  // Also any 12-character slice of it, in case of different framing.
  const std::string b64 = base64_encode(plain);
  for (std::size_t i = 0; i + 12 <= b64.size(); i += 4)
    CHECK_FALSE(log.contains(b64.substr(i, 12)));
}

std::string make_message(const std::string& subject, const std::string& body) {
  return "From: alice@example.com\r\nTo: bob@example.com\r\nSubject: " + subject
         + "\r\nMessage-ID: <" + subject + "@oimap.test>\r\n\r\n" + body;
}

append_request request_for(const std::string& msg, flag_set flags = {}, std::string date = {}) {
  append_request r;
  r.flags = flags;
  r.internaldate = std::move(date);
  r.size = msg.size();
  // Written in uneven pieces, as a file reader would.
  r.produce = [msg](const std::function<void(std::string_view)>& write) {
    std::string_view rest = msg;
    std::size_t piece = 1;
    while (!rest.empty()) {
      auto n = std::min(piece, rest.size());
      write(rest.substr(0, n));
      rest.remove_prefix(n);
      piece = piece * 3 + 7;
    }
  };
  return r;
}

// Keeps every body, checking the call sequence the session promises.
struct collecting_consumer : body_consumer {
  std::map<std::uint32_t, std::string> bodies;
  std::map<std::uint32_t, flag_set> flags;
  std::map<std::uint32_t, std::string> dates;
  std::string current;
  int state = 0; // 0 idle, 1 in body, 2 ended awaiting message/discard
  int discards = 0;
  bool order_ok = true;

  void begin(std::uint64_t size) override {
    order_ok = order_ok && state == 0;
    state = 1;
    current.clear();
    current.reserve(size);
  }
  void data(std::string_view chunk) override {
    order_ok = order_ok && state == 1;
    current.append(chunk);
  }
  void end() override {
    order_ok = order_ok && state == 1;
    state = 2;
  }
  void message(std::uint32_t uid, flag_set f, std::string date) override {
    order_ok = order_ok && state == 2;
    state = 0;
    bodies[uid] = std::move(current);
    flags[uid] = f;
    dates[uid] = std::move(date);
  }
  void discard() override {
    state = 0;
    ++discards;
  }
};

template <class F> imap_error error_of(F&& f) {
  try {
    f();
  } catch (const imap_error& e) {
    return e;
  }
  FAIL("no imap_error thrown");
  return imap_error(error_kind::protocol, "unreachable");
}

} // namespace

// One connection of a scripted peer: what it says, and waiting for what it
// reads (false once the client has closed).
struct peer_script {
  int fd;
  std::string got;
  void say(const std::string& text) { (void)!::write(fd, text.data(), text.size()); }
  bool wait_for(const std::string& what) {
    char buf[4096];
    while (got.find(what) == std::string::npos) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0)
        return false;
      got.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }
  // The tag of the command line that carries what (read already).
  std::string tag_of(const std::string& what) const {
    auto at = got.find(what);
    auto start = got.rfind('\n', at);
    start = start == std::string::npos ? 0 : start + 1;
    return got.substr(start, got.find(' ', start) - start);
  }
  // Greets, takes the login with the ENABLE behind it (tags A1 and A2).
  bool log_in(const std::string& capabilities) {
    say("* OK [CAPABILITY IMAP4rev1 SASL-IR ENABLE AUTH=PLAIN] ready\r\n");
    if (!wait_for("A2 ENABLE CONDSTORE QRESYNC\r\n"))
      return false;
    say("A1 OK [CAPABILITY " + capabilities + "] in\r\n");
    return true;
  }
  // log_in, and the ENABLE answered as asked.
  bool log_in_enabled(const std::string& capabilities) {
    if (!log_in(capabilities))
      return false;
    say("* ENABLED CONDSTORE QRESYNC\r\nA2 OK Enabled\r\n");
    return true;
  }
};

// Logs in to the scripted peer on listener; if that fails, the peer is joined
// (the failed session closed its socket: the peer stops reading).
std::unique_ptr<session> connect_scripted(const oimap::test::tcp_listener& listener,
                                          std::thread& peer, trace_log& log) {
  try {
    return session::connect(options_at(listener.port(), "erin", "erin-pw", &log));
  } catch (...) {
    peer.join();
    throw;
  }
}

TEST_CASE("login with AUTHENTICATE PLAIN (SASL-IR) keeps the password out of the trace",
          "[session]") {
  auto user = new_user("plain");
  trace_log log;
  auto s = login(user, &log);
  INFO(log.text());
  CHECK(s->has_capability("imap4rev1"));
  CHECK(s->has_capability("UIDPLUS"));
  CHECK(s->has_qresync());
  CHECK(s->has_condstore());
  // SASL-IR: the response rides on the command line, redacted.
  CHECK(log.contains("AUTHENTICATE PLAIN <redacted>"));
  CHECK(log.lines.at(0).second.rfind("* OK [CAPABILITY ", 0) == 0); // the greeting comes first
  // ENABLE goes out behind the login, before its answer: one round trip.
  const auto enable = log.find('>', "ENABLE CONDSTORE QRESYNC");
  const auto logged_in = log.find('<', "A1 OK");
  REQUIRE(enable != std::string::npos);
  REQUIRE(logged_in != std::string::npos);
  CHECK(enable < logged_in);
  CHECK(log.find('>', "ENABLE", enable + 1) == std::string::npos); // and only once
  s->noop();
  s->logout();
  check_no_secrets(log, user);
  CHECK_THROWS_AS(s->noop(), imap_error);
}

TEST_CASE("an ENABLE answered before the login took effect is sent again", "[session]") {
  // A peer playing a server that reads ahead in the not-authenticated state:
  // it answers the pipelined ENABLE with OK but enables nothing. Dovecot
  // cannot be made to do this, hence the script.
  oimap::test::tcp_listener listener;
  std::thread peer([&] {
    peer_script p{listener.accept(), {}};
    if (p.log_in("IMAP4rev1 ENABLE CONDSTORE QRESYNC UIDPLUS"))
      p.say("A2 OK ENABLE ignored in non-authenticated state.\r\n");
    if (p.wait_for("A3 ENABLE CONDSTORE QRESYNC\r\n")) {
      p.say("* ENABLED CONDSTORE QRESYNC\r\n");
      p.say("A3 OK Enabled\r\n");
    }
    p.wait_for("A4 LOGOUT\r\n");
    p.say("* BYE bye\r\nA4 OK done\r\n");
    ::close(p.fd);
  });
  trace_log log;
  auto s = connect_scripted(listener, peer, log);
  INFO(log.text());
  CHECK(s->has_qresync());
  CHECK(s->has_condstore());
  CHECK(log.find('>', "A3 ENABLE CONDSTORE QRESYNC") != std::string::npos);
  s->logout();
  peer.join();
}

TEST_CASE("login with the LOGIN command when asked to", "[session]") {
  auto user = new_user("login");
  trace_log log;
  auto o = options_for(user, &log);
  o.auth_mechanisms = {"LOGIN"};
  auto s = session::connect(o);
  INFO(log.text());
  CHECK(log.find('>', " LOGIN " + user + " <password>") != std::string::npos);
  CHECK_FALSE(log.contains("AUTHENTICATE"));
  s->noop();
  check_no_secrets(log, user);
}

TEST_CASE("a password that needs a literal works with both mechanisms and stays redacted",
          "[session]") {
  auto user = new_user("utf8");
  for (std::string mech : {"PLAIN", "LOGIN"}) {
    trace_log log;
    auto o = options_for(user, &log);
    o.auth_mechanisms = {mech};
    auto s = session::connect(o);
    s->noop();
    INFO(log.text());
    CHECK(log.contains(mech == "PLAIN" ? " AUTHENTICATE PLAIN <redacted>"
                                       : " LOGIN utf8 <password>"));
    check_no_secrets(log, user);
    CHECK_FALSE(log.contains("ss\\w"));
  }
}

TEST_CASE("a wrong password is an auth error naming user and server", "[session]") {
  auto user = new_user("wrong");
  for (std::string mech : {"PLAIN", "LOGIN"}) {
    trace_log log;
    auto o = options_for(user, &log);
    o.password = "not-the-password";
    o.auth_mechanisms = {mech};
    auto e = error_of([&] { session::connect(o); });
    CHECK(e.kind() == error_kind::auth);
    CHECK(e.code() == "AUTHENTICATIONFAILED");
    CHECK(std::string(e.what())
          == "login failed for user " + user + " on 127.0.0.1:" + std::to_string(dovecot().port())
                 + ": [AUTHENTICATIONFAILED] Authentication failed.");
    CHECK_FALSE(log.contains("not-the-password"));
    CHECK_THAT(e.what(), !Catch::Contains("not-the-password"));
  }
}

TEST_CASE("a closed port is a connect error", "[session]") {
  auto o = options_for("nobody");
  o.port = oimap::test::free_port();
  auto e = error_of([&] { session::connect(o); });
  CHECK(e.kind() == error_kind::connect);
  CHECK(std::string(e.what())
        == "cannot connect to 127.0.0.1:" + std::to_string(o.port) + ": Connection refused");
}

TEST_CASE("STARTTLS upgrades with verification before any credential is sent", "[session][tls]") {
  auto user = new_user("starttls");
  trace_log log;
  auto o = options_for(user, &log);
  o.host = "localhost";
  o.starttls = true;
  o.cafile = dovecot().ca_file().string();
  auto s = session::connect(o);
  INFO(log.text());
  auto starttls = log.find('>', " STARTTLS");
  auto capability = log.find('>', " CAPABILITY");
  auto auth = log.find('>', " AUTHENTICATE PLAIN <redacted>");
  REQUIRE(starttls != std::string::npos);
  REQUIRE(auth != std::string::npos);
  // Capabilities are asked again over TLS, and now lack STARTTLS.
  CHECK(starttls < capability);
  CHECK(capability < auth);
  CHECK_FALSE(s->has_capability("STARTTLS"));
  CHECK(s->select("INBOX", false).uidvalidity != 0);
  check_no_secrets(log, user);
}

TEST_CASE("STARTTLS fails on an untrusted certificate without sending credentials",
          "[session][tls]") {
  auto user = new_user("untrusted");
  trace_log log;
  auto o = options_for(user, &log);
  o.host = "localhost";
  o.starttls = true; // and no cafile: the system store does not know our CA
  auto e = error_of([&] { session::connect(o); });
  CHECK(e.kind() == error_kind::tls);
  CHECK_THAT(e.what(), Catch::StartsWith("TLS certificate verify failed for localhost:"));
  CHECK_FALSE(log.contains("AUTHENTICATE"));
  CHECK_FALSE(log.contains("LOGIN " + user));
}

TEST_CASE("implicit TLS verifies an IP address against the IP SAN", "[session][tls]") {
  auto user = new_user("imaps");
  auto o = options_for(user);
  o.port = dovecot().ssl_port();
  o.ssl = true;
  o.cafile = dovecot().ca_file().string();
  auto s = session::connect(o);
  CHECK(s->status("INBOX").uidvalidity != 0);
}

TEST_CASE("STARTTLS not offered fails closed, never falling back to plaintext", "[session][tls]") {
  private_dovecot plain; // ssl = no: no STARTTLS in the capabilities
  plain.add_user("carol", "carol-pw");
  trace_log log;
  connect_options o;
  o.host = "127.0.0.1";
  o.port = plain.port();
  o.starttls = true;
  o.user = "carol";
  o.password = "carol-pw";
  o.trace = log.callback();
  auto e = error_of([&] { session::connect(o); });
  CHECK(e.kind() == error_kind::tls);
  CHECK(std::string(e.what())
        == "server 127.0.0.1:" + std::to_string(plain.port())
               + " does not offer STARTTLS; refusing to continue without TLS");
  INFO(log.text());
  for (const auto& [dir, line] : log.lines)
    if (dir == '>')
      CHECK_THAT(line, !Catch::Contains("LOGIN") && !Catch::Contains("AUTHENTICATE"));
}

TEST_CASE("LIST, CREATE, SELECT, EXAMINE and STATUS", "[session]") {
  auto user = new_user("mbox");
  auto s = login(user);
  s->create("Archive");
  s->create("Archive"); // [ALREADYEXISTS] is success
  s->create("Archive.2024");
  s->create("Entw&APw-rfe"); // modified UTF-7 for "Entwürfe", passed through raw

  auto boxes = s->list("", "*");
  std::map<std::string, list_entry> by_name;
  for (auto& b : boxes)
    by_name[b.name] = b;
  REQUIRE(by_name.count("INBOX"));
  REQUIRE(by_name.count("Archive"));
  REQUIRE(by_name.count("Archive.2024"));
  REQUIRE(by_name.count("Entw&APw-rfe"));
  CHECK(by_name["Archive"].delimiter == '.');
  CHECK(std::find(by_name["Archive"].attributes.begin(), by_name["Archive"].attributes.end(),
                  "\\HasChildren")
        != by_name["Archive"].attributes.end());
  CHECK(s->list("", "Arch%").size() == 1);

  auto inbox = s->select("INBOX", false);
  CHECK(inbox.uidvalidity != 0);
  CHECK(inbox.uidnext == 1);
  CHECK(inbox.exists == 0);
  CHECK(inbox.highestmodseq > 0); // QRESYNC is on
  CHECK_FALSE(inbox.read_only);
  auto ro = s->select("Archive", true);
  CHECK(ro.read_only);
  CHECK(ro.uidvalidity != 0);

  auto st = s->status("INBOX");
  CHECK(st.uidvalidity == inbox.uidvalidity);
  CHECK(st.uidnext == 1);
  CHECK(st.highestmodseq > 0);

  auto many = s->status_many({"INBOX", "Archive", "Does.Not.Exist", "Archive.2024"});
  REQUIRE(many.size() == 4);
  CHECK(many[0].ok);
  CHECK(many[0].info.uidvalidity == inbox.uidvalidity);
  CHECK(many[1].ok);
  CHECK(many[1].info.uidvalidity == ro.uidvalidity);
  CHECK_FALSE(many[2].ok);
  CHECK_THAT(many[2].error, Catch::StartsWith("NO ") && Catch::Contains("Does.Not.Exist"));
  CHECK(many[3].ok);
  CHECK(many[3].info.uidvalidity != 0);

  // LIST-STATUS: the same listing, and each mailbox's STATUS with it.
  REQUIRE(s->has_capability("LIST-STATUS"));
  auto listing = s->list_status("", "*");
  CHECK(listing.entries.size() == boxes.size());
  std::map<std::string, mailbox_info> status_of;
  for (const auto& r : listing.statuses) {
    CHECK(r.ok);
    status_of[r.mailbox] = r.info;
  }
  CHECK(status_of.size() == boxes.size());
  REQUIRE(status_of.count("INBOX"));
  CHECK(status_of["INBOX"].uidvalidity == inbox.uidvalidity);
  CHECK(status_of["INBOX"].highestmodseq == st.highestmodseq);
  REQUIRE(status_of.count("Entw&APw-rfe"));
  CHECK(status_of["Entw&APw-rfe"].uidvalidity != 0);
  CHECK(status_of["Entw&APw-rfe"].uidnext == 1);

  auto e = error_of([&] { s->select("Does.Not.Exist", false); });
  CHECK(e.kind() == error_kind::no);
  CHECK_THAT(e.what(), Catch::StartsWith("SELECT Does.Not.Exist failed on 127.0.0.1:"));
  s->noop(); // a NO leaves the session usable
}

TEST_CASE("APPEND as one MULTIAPPEND, flags, bodies byte-exact, expunge by uid", "[session]") {
  auto user = new_user("msgs");
  trace_log log;
  auto s = login(user, &log);
  auto inbox = s->select("INBOX", false);

  std::string eight_bit = make_message("eight-bit", "Gr\xc3\xbc\xc3\x9f"
                                                    "e, caf\xe9 \x80\xff\xfe\r\n"
                                                    "binary-ish line \x01\x7f\r\n");
  std::string big_body;
  big_body.reserve(5 * 1024 * 1024 + 100);
  for (int i = 0; big_body.size() < 5 * 1024 * 1024; ++i)
    big_body +=
        "line " + std::to_string(i) + " of a five megabyte message, with some padding text\r\n";
  std::string big = make_message("big", big_body);
  std::string small = make_message("small", "hello\r\n");

  std::vector<append_request> reqs;
  reqs.push_back(request_for(small, flag::seen, "17-Jul-1996 02:44:25 -0700"));
  reqs.push_back(request_for(eight_bit, flag_set(flag::flagged) | flag::replied));
  reqs.push_back(request_for(big));
  log.lines.clear();
  auto results = s->append("INBOX", std::move(reqs));
  REQUIRE(results.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    INFO(results[i].error);
    CHECK(results[i].ok);
    CHECK(results[i].uidvalidity == inbox.uidvalidity);
    CHECK(results[i].uid == i + 1);
  }
  {
    // One MULTIAPPEND (Dovecot has it): one command, the UIDs in order.
    INFO(log.text());
    std::size_t appends = 0;
    for (const auto& [dir, line] : log.lines)
      appends += dir == '>' && line.find(" APPEND INBOX") != std::string::npos;
    CHECK(appends == 1);
    // Each message's options and size are shown, its bytes never.
    CHECK(log.contains("(\\Flagged \\Answered) {" + std::to_string(eight_bit.size()) + " bytes}"));
    CHECK(log.contains("{" + std::to_string(big.size()) + " bytes}"));
    CHECK_FALSE(log.contains("line 1000 of a five megabyte"));
  }

  auto flags = s->fetch_flags("1:*");
  REQUIRE(flags.size() == 3);
  CHECK(flags[0].uid == 1);
  CHECK(flags[0].flags == flag_set(flag::seen));
  CHECK(flags[1].flags == (flag_set(flag::flagged) | flag::replied));
  CHECK(flags[2].flags.empty());
  CHECK(flags[0].modseq > 0);

  // UID SEARCH, as maxsize and maxage ask: the big one, those after 1996.
  CHECK(s->uid_search("LARGER 1000000") == std::vector<std::uint32_t>{3});
  CHECK(s->uid_search("SINCE 1-Jan-2000") == std::vector<std::uint32_t>{2, 3});
  CHECK(s->uid_search("LARGER 100000000").empty());

  // Another client flags uid 3: Dovecot tells us with a flags-only FETCH
  // in the middle of our next command, which must be taken in stride.
  auto other = login(user);
  other->select("INBOX", false);
  other->store_flags("3", flag::flagged, {});

  // Bodies, byte for byte, with uid 99 (never existed) reported missing.
  log.lines.clear();
  collecting_consumer consumer;
  auto missing = s->fetch_bodies({3, 1, 2, 99}, consumer, true);
  {
    INFO(log.text());
    bool flags_only = false;
    for (const auto& [dir, line] : log.lines)
      flags_only = flags_only
                   || (dir == '<' && line.find(" FETCH (") != std::string::npos
                       && line.find("BODY[]") == std::string::npos);
    CHECK(flags_only);
  }
  CHECK(missing == std::vector<std::uint32_t>{99});
  CHECK(consumer.order_ok);
  CHECK(consumer.discards == 0);
  REQUIRE(consumer.bodies.size() == 3);
  CHECK(consumer.bodies[1] == small);
  CHECK(consumer.bodies[2] == eight_bit);
  CHECK(consumer.bodies[3].size() == big.size());
  CHECK(consumer.bodies[3] == big);
  CHECK(consumer.flags[2] == (flag_set(flag::flagged) | flag::replied));
  CHECK(consumer.flags[3] == flag_set(flag::flagged));
  CHECK(consumer.dates[1] == "17-Jul-1996 09:44:25 +0000"); // the same instant, as Dovecot keeps it
  CHECK_FALSE(log.contains("line 1000 of a five megabyte"));
  CHECK(log.contains("{" + std::to_string(big.size()) + " bytes}"));

  // STORE: one change, then a batch where equal changes share a command.
  s->store_flags("1", flag::flagged, flag::seen);
  log.lines.clear();
  s->store_flags(std::vector<flag_change>{
      {1, flag::draft, {}}, {2, flag::draft, {}}, {3, flag::seen, flag::flagged}});
  {
    INFO(log.text());
    CHECK(log.contains("UID STORE 1:2 +FLAGS.SILENT (\\Draft)"));
    CHECK(log.contains("UID STORE 3 +FLAGS.SILENT (\\Seen)"));
    CHECK(log.contains("UID STORE 3 -FLAGS.SILENT (\\Flagged)"));
  }
  flags = s->fetch_flags("1:*");
  REQUIRE(flags.size() == 3);
  CHECK(flags[0].flags == (flag_set(flag::flagged) | flag::draft));
  CHECK(flags[1].flags == (flag_set(flag::flagged) | flag::replied | flag::draft));
  CHECK(flags[2].flags == flag_set(flag::seen));

  // CHANGEDSINCE: only what changed after the given modseq.
  auto since = flags[0].modseq;
  for (auto& f : flags)
    since = std::max(since, f.modseq);
  s->store_flags("2", flag::seen, {});
  auto changed = s->fetch_flags("1:*", since);
  REQUIRE(changed.size() == 1);
  CHECK(changed[0].uid == 2);

  // Expunge: mark 1 and 2 deleted, expunge only 1.
  s->store_flags("1:2", flag::trashed, {});
  s->uid_expunge(std::vector<std::uint32_t>{1});
  flags = s->fetch_flags("1:*");
  REQUIRE(flags.size() == 2);
  CHECK(flags[0].uid == 2);
  CHECK(flags[0].flags.has(flag::trashed));
  CHECK(flags[1].uid == 3);
  // Checked with an independent client, too.
  oimap::test::imap_dialogue raw(dovecot().port());
  raw.login(user, password_of(user));
  raw.command("SELECT INBOX");
  auto search = raw.command("UID SEARCH ALL");
  CHECK(search.lines_with("SEARCH") == std::vector<std::string>{"* SEARCH 2 3"});
  check_no_secrets(log, user);
  if (std::getenv("OIMAP_SHOW_TRACE"))
    WARN(log.text());
}

TEST_CASE("a refused MULTIAPPEND goes again as pipelined APPENDs, one each", "[session]") {
  auto user = new_user("multi");
  trace_log log;
  auto s = login(user, &log);
  REQUIRE(s->has_capability("MULTIAPPEND"));
  s->select("INBOX", false);
  // Dovecot refuses a zero-byte message, and with it the whole MULTIAPPEND;
  // sent again one by one, the others are stored and only it is refused.
  const std::string a = make_message("ma", "first\r\n");
  const std::string c = make_message("mc", "third\r\n");
  std::vector<append_request> reqs;
  reqs.push_back(request_for(a));
  reqs.push_back(request_for(""));
  reqs.push_back(request_for(c));
  log.lines.clear();
  auto results = s->append("INBOX", std::move(reqs));
  REQUIRE(results.size() == 3);
  CHECK(results[0].ok);
  CHECK_FALSE(results[1].ok);
  CHECK_THAT(results[1].error, Catch::StartsWith("NO "));
  CHECK(results[2].ok);
  CHECK(results[0].uid == 1);
  CHECK(results[2].uid == 2);
  {
    // The three single APPENDs were all written before the first reply.
    INFO(log.text());
    std::size_t appends = 0, last_append = 0, first_reply = std::string::npos;
    for (std::size_t i = 0; i < log.lines.size(); ++i) {
      const auto& [dir, line] = log.lines[i];
      if (dir == '>' && line.find(" APPEND INBOX") != std::string::npos) {
        ++appends;
        last_append = i;
      }
      if (appends > 1 && first_reply == std::string::npos && dir == '<'
          && line.find(" OK [APPENDUID") != std::string::npos)
        first_reply = i;
    }
    CHECK(appends == 1 + 3);
    CHECK(last_append < first_reply);
  }
  collecting_consumer consumer;
  CHECK(s->fetch_bodies({1, 2}, consumer).empty());
  CHECK(consumer.bodies[1] == a);
  CHECK(consumer.bodies[2] == c);
}

TEST_CASE("flag changes sent ahead are answered with the command that follows them", "[session]") {
  auto user = new_user("storeappend");
  trace_log log;
  auto s = login(user, &log);
  s->select("INBOX", false);
  std::vector<append_request> first;
  first.push_back(request_for(make_message("s1", "one\r\n")));
  first.push_back(request_for(make_message("s2", "two\r\n")));
  REQUIRE(s->append("INBOX", std::move(first)).size() == 2);

  log.lines.clear();
  s->store_flags_ahead({{1, flag::flagged, {}}, {2, flag::replied, {}}});
  std::vector<append_request> more;
  more.push_back(request_for(make_message("s3", "three\r\n"), flag::seen));
  auto results = s->append("INBOX", std::move(more));
  REQUIRE(results.size() == 1);
  CHECK(results[0].ok);
  CHECK(results[0].uid == 3);
  {
    // Both STOREs and the APPEND were written before the first reply came.
    INFO(log.text());
    const auto store = log.find('>', "UID STORE 1 +FLAGS.SILENT (\\Flagged)");
    const auto append = log.find('>', " APPEND INBOX");
    REQUIRE(store != std::string::npos);
    REQUIRE(append != std::string::npos);
    CHECK(log.find('>', "UID STORE 2 +FLAGS.SILENT (\\Answered)") < append);
    CHECK(store < append);
    CHECK(append < log.find('<', " OK", store));
  }
  auto flags = s->fetch_flags("1:*");
  REQUIRE(flags.size() == 3);
  CHECK(flags[0].flags == flag_set(flag::flagged));
  CHECK(flags[1].flags == flag_set(flag::replied));
  CHECK(flags[2].flags == flag_set(flag::seen));

  // A command whose untagged data matters waits for the STORE's answer (its
  // own untagged FETCH (UID n MODSEQ (m)), which Dovecot may send among the
  // next command's data): a flag fetch behind it sees each message once.
  log.lines.clear();
  s->store_flags_ahead({{3, flag::flagged, {}}});
  flags = s->fetch_flags("1:*");
  {
    INFO(log.text());
    const auto stored = log.find('<', "OK Store completed");
    REQUIRE(stored != std::string::npos);
    CHECK(stored < log.find('>', "UID FETCH 1:*"));
  }
  REQUIRE(flags.size() == 3);
  CHECK(flags[2].uid == 3);
  CHECK(flags[2].flags == (flag_set(flag::seen) | flag::flagged));

  // settle() reads the answers when no command follows.
  s->store_flags_ahead({{1, {}, flag::flagged}});
  s->settle();
  auto other = login(user);
  other->select("INBOX", true);
  flags = other->fetch_flags("1");
  REQUIRE(flags.size() == 1);
  CHECK(flags[0].flags.empty());
}

TEST_CASE("a flag change sent ahead and refused is thrown by what reads its answer", "[session]") {
  // Dovecot stores flags even in a read-only mailbox ("OK Store ignored"), so
  // a refusal is played by a script.
  oimap::test::tcp_listener listener;
  std::thread peer([&] {
    peer_script p{listener.accept(), {}};
    p.log_in_enabled("IMAP4rev1 ENABLE CONDSTORE QRESYNC UIDPLUS LITERAL+");
    for (const char* uid : {"1", "2"})
      if (p.wait_for(std::string("UID STORE ") + uid + " +FLAGS.SILENT (\\Flagged)\r\n"))
        p.say(p.tag_of(std::string("UID STORE ") + uid) + " NO [CANNOT] Store refused\r\n");
    // The APPEND behind the third goes out before any answer; both are answered.
    if (p.wait_for("UID STORE 3 +FLAGS.SILENT (\\Flagged)\r\n")
        && p.wait_for("marker-of-the-append\r\n\r\n"))
      p.say(p.tag_of("UID STORE 3") + " NO [CANNOT] Store refused\r\n" + p.tag_of(" APPEND ")
            + " OK [APPENDUID 7 9] Append completed\r\n");
    if (p.wait_for(" LOGOUT\r\n"))
      p.say("* BYE bye\r\n" + p.tag_of(" LOGOUT") + " OK done\r\n");
    ::close(p.fd);
  });
  trace_log log;
  auto s = connect_scripted(listener, peer, log);
  // Nothing follows: settle() reads the refusal.
  s->store_flags_ahead({{1, flag::flagged, {}}});
  CHECK_THROWS_WITH(s->settle(), Catch::Contains("Store refused"));
  // A command whose untagged data matters reads it first, and does not go.
  s->store_flags_ahead({{2, flag::flagged, {}}});
  CHECK_THROWS_WITH(s->fetch_flags("1:*"), Catch::Contains("Store refused"));
  CHECK(log.find('>', "UID FETCH") == std::string::npos);
  // An APPEND shares the round trip: its own answer is read, then the refusal thrown.
  s->store_flags_ahead({{3, flag::flagged, {}}});
  std::vector<append_request> one;
  one.push_back(request_for(make_message("refused", "marker-of-the-append\r\n")));
  CHECK_THROWS_WITH(s->append("INBOX", std::move(one)), Catch::Contains("Store refused"));
  CHECK(log.find('<', "Append completed") != std::string::npos);
  // The session is still in step with the server.
  s->logout();
  peer.join();
  INFO(log.text());
  CHECK(log.find('<', "OK done") != std::string::npos);
}

TEST_CASE("many APPENDs and a large flag fetch run through the pipeline window", "[session]") {
  auto user = new_user("bulk");
  auto s = login(user);
  s->create("Bulk");
  // More APPENDs than the 1000 commands the pipeline keeps unanswered.
  // (Dovecot's Maildir makes each append slower as the folder grows.)
  const int count = 1200;
  std::vector<append_request> reqs;
  for (int i = 0; i < count; ++i)
    reqs.push_back(
        request_for(make_message("m" + std::to_string(i), "body " + std::to_string(i) + "\r\n"),
                    i % 3 == 0 ? flag_set(flag::seen) : flag_set()));
  auto results = s->append("Bulk", std::move(reqs));
  REQUIRE(results.size() == count);
  CHECK(std::all_of(results.begin(), results.end(), [](const auto& r) { return r.ok; }));
  CHECK(results.back().uid == count);

  s->select("Bulk", false);
  auto flags = s->fetch_flags("1:*");
  REQUIRE(flags.size() == count);
  for (int i = 0; i < count; ++i) {
    CHECK(flags[i].uid == static_cast<std::uint32_t>(i + 1));
    if (flags[i].flags.has(flag::seen) != (i % 3 == 0))
      FAIL("wrong flags for uid " << i + 1);
  }
  // Every other uid up to 20000: a set of ~55 KB, split into several UID
  // FETCH commands; the uids past the end come back as missing.
  std::vector<std::uint32_t> odd, expected_missing;
  for (std::uint32_t u = 1; u <= 20000; u += 2) {
    odd.push_back(u);
    if (u > count)
      expected_missing.push_back(u);
  }
  trace_log log;
  collecting_consumer consumer;
  auto body_session = session::connect(options_for(user, &log));
  body_session->select("Bulk", true);
  log.lines.clear();
  CHECK(body_session->fetch_bodies(odd, consumer) == expected_missing);
  CHECK(consumer.bodies.size() == count / 2);
  CHECK(consumer.bodies[1199] == make_message("m1198", "body 1198\r\n"));
  CHECK(consumer.order_ok);
  std::size_t fetches = 0;
  for (const auto& [dir, line] : log.lines)
    if (dir == '>' && line.find(" UID FETCH ") != std::string::npos) {
      ++fetches;
      CHECK(line.size() < 8000);
    }
  CHECK(fetches >= 7);
}

TEST_CASE("a server without LITERAL+ and SASL-IR gets synchronizing literals and a continuation",
          "[session]") {
  private_dovecot d;
  d.add_user("dave", "dave-pw");
  // Dovecot's own capability override, then a reload; wait until it shows.
  {
    std::ofstream conf(d.dir() / "dovecot.conf", std::ios::app);
    conf << "imap_capability = IMAP4rev1 ID IDLE UIDPLUS\n";
  }
  REQUIRE(d.doveadm({"reload"}).exit_code == 0);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (;;) {
    oimap::test::imap_dialogue probe(d.port());
    if (probe.greeting().find("SASL-IR") == std::string::npos)
      break;
    REQUIRE(std::chrono::steady_clock::now() < deadline);
  }

  trace_log log;
  auto s = session::connect(options_at(d.port(), "dave", "dave-pw", &log));
  INFO(log.text());
  CHECK_FALSE(s->has_capability("LITERAL+"));
  CHECK_FALSE(s->has_condstore());
  // AUTHENTICATE PLAIN, then its response after the server's "+".
  auto auth = log.find('>', " AUTHENTICATE PLAIN");
  REQUIRE(auth != std::string::npos);
  CHECK(log.lines[auth].second == "A1 AUTHENTICATE PLAIN");
  CHECK(log.lines[auth + 1].second == "<redacted>");
  CHECK_FALSE(log.contains("dave-pw"));
  CHECK_FALSE(log.contains(base64_encode(std::string("\0dave\0dave-pw", 13))));

  s->select("INBOX", false);
  std::vector<append_request> reqs;
  std::vector<std::string> msgs;
  for (int i = 0; i < 5; ++i)
    msgs.push_back(
        make_message("sync" + std::to_string(i), std::string(100 + i * 1000, 'x') + "\r\n"));
  for (auto& m : msgs)
    reqs.push_back(request_for(m));
  log.lines.clear();
  auto results = s->append("INBOX", std::move(reqs));
  for (std::size_t i = 0; i < results.size(); ++i) {
    CHECK(results[i].ok);
    CHECK(results[i].uid == i + 1);
  }
  CHECK(log.contains("{" + std::to_string(msgs[0].size()) + " bytes}"));
  CHECK(log.find('<', "+ ") != std::string::npos); // the server's go-ahead

  collecting_consumer consumer;
  CHECK(s->fetch_bodies({1, 2, 3, 4, 5}, consumer).empty());
  for (std::uint32_t u = 1; u <= 5; ++u)
    CHECK(consumer.bodies[u] == msgs[u - 1]);
  // Without CONDSTORE, changedsince is ignored: everything comes back.
  CHECK(s->fetch_flags("1:*", 12345).size() == 5);
}

TEST_CASE("SELECT with QRESYNC and the new bodies in one round trip", "[session]") {
  auto user = new_user("prefetch");
  auto s = login(user);
  std::vector<std::string> msgs;
  for (int i = 0; i < 4; ++i)
    msgs.push_back(make_message("p" + std::to_string(i), "body " + std::to_string(i) + "\r\n"));
  std::vector<append_request> first;
  first.push_back(request_for(msgs[0]));
  first.push_back(request_for(msgs[1]));
  REQUIRE(s->append("INBOX", std::move(first)).size() == 2);
  auto before = s->select("INBOX", false);
  REQUIRE(before.highestmodseq > 0);
  std::vector<append_request> later;
  later.push_back(request_for(msgs[2], flag::seen));
  later.push_back(request_for(msgs[3]));
  REQUIRE(s->append("INBOX", std::move(later)).size() == 2);
  s->store_flags("1", flag::flagged, {});

  trace_log log;
  auto t = session::connect(options_for(user, &log));
  session::resync changes;
  collecting_consumer bodies;
  session::prefetch also{std::to_string(before.uidnext) + ":*", &bodies};
  auto info =
      t->select_qresync("INBOX", true, before.uidvalidity, before.highestmodseq, changes, &also);
  INFO(log.text());
  CHECK(info.exists == 4);
  CHECK(info.uidnext == 5);
  // The FETCH went out before the EXAMINE was answered.
  const auto fetch = log.find('>', "UID FETCH 3:* (UID FLAGS BODY.PEEK[])");
  REQUIRE(fetch != std::string::npos);
  CHECK(fetch < log.find('<', "OK [READ-ONLY]"));
  // The changes QRESYNC reports (the flag on 1, the new 3 and 4) ...
  std::vector<std::uint32_t> changed;
  for (const auto& c : changes.changed)
    changed.push_back(c.uid);
  CHECK(changed == std::vector<std::uint32_t>{1, 3, 4});
  // ... and exactly the new bodies, byte for byte.
  CHECK(bodies.order_ok);
  REQUIRE(bodies.bodies.size() == 2);
  CHECK(bodies.bodies[3] == msgs[2]);
  CHECK(bodies.bodies[4] == msgs[3]);
  CHECK(bodies.flags[3] == flag_set(flag::seen));
}

TEST_CASE("EXAMINEs of many mailboxes in one round trip, each with its new bodies", "[session]") {
  auto user = new_user("examinemany");
  auto s = login(user);
  s->create("A");
  s->create("B");
  // Two messages in each, then the state a sync would have recorded, then
  // one new message in each and a flag on A's first.
  std::map<std::string, mailbox_info> before;
  std::map<std::string, std::string> added;
  for (std::string box : {"A", "B"}) {
    std::vector<append_request> two;
    two.push_back(request_for(make_message(box + "1", "one\r\n")));
    two.push_back(request_for(make_message(box + "2", "two\r\n")));
    REQUIRE(s->append(box, std::move(two)).size() == 2);
    before[box] = s->select(box, false);
    added[box] = make_message(box + "3", "three in " + box + "\r\n");
    std::vector<append_request> one;
    one.push_back(request_for(added[box], flag::seen));
    REQUIRE(s->append(box, std::move(one)).size() == 1);
  }
  s->select("A", false);
  s->store_flags("1", flag::flagged, {});

  trace_log log;
  auto t = session::connect(options_for(user, &log));
  collecting_consumer a_bodies, missing_bodies, b_bodies;
  std::vector<session::examine_request> asked(3);
  asked[0] = {"A", before["A"].uidvalidity, before["A"].highestmodseq,
              session::prefetch{"3:*", &a_bodies}};
  // A mailbox that is not there, between the two: only its part fails.
  asked[1] = {"Missing", before["A"].uidvalidity, before["A"].highestmodseq,
              session::prefetch{"1:*", &missing_bodies}};
  asked[2] = {"B", before["B"].uidvalidity, before["B"].highestmodseq,
              session::prefetch{"3:*", &b_bodies}};
  std::vector<std::size_t> order;
  std::map<std::size_t, session::examined> got;
  t->examine_many(asked, [&](std::size_t i, session::examined&& e) {
    order.push_back(i);
    got[i] = std::move(e);
  });
  INFO(log.text());
  CHECK(order == std::vector<std::size_t>{0, 1, 2});
  // Every command went out before the first answer came.
  const auto last_sent = log.find('>', "EXAMINE B (QRESYNC");
  REQUIRE(last_sent != std::string::npos);
  CHECK(last_sent < log.find('<', "OK [READ-ONLY]"));

  CHECK(got[0].ok);
  CHECK(got[0].info.uidnext == 4);
  CHECK(got[0].info.exists == 3);
  std::vector<std::uint32_t> changed;
  for (const auto& c : got[0].changes.changed)
    changed.push_back(c.uid);
  CHECK(changed == std::vector<std::uint32_t>{1, 3});
  REQUIRE(a_bodies.bodies.size() == 1);
  CHECK(a_bodies.bodies[3] == added["A"]);
  CHECK(a_bodies.flags[3] == flag_set(flag::seen));

  CHECK_FALSE(got[1].ok);
  CHECK(got[1].error.find("NO") == 0);
  CHECK(missing_bodies.bodies.empty());

  CHECK(got[2].ok);
  CHECK(got[2].info.uidvalidity == before["B"].uidvalidity);
  REQUIRE(b_bodies.bodies.size() == 1);
  CHECK(b_bodies.bodies[3] == added["B"]);
  CHECK(t->selected() == "B");
  // The session goes on as usual.
  CHECK(t->fetch_flags("1:*").size() == 3);
}

TEST_CASE("bodies that follow a refused EXAMINE of many go to no mailbox", "[session]") {
  // A server that, after refusing B, answers B's FETCH from the mailbox still
  // selected (RFC 3501 says a failed SELECT closes it; this one does not).
  oimap::test::tcp_listener listener;
  std::thread peer([&] {
    peer_script p{listener.accept(), {}};
    p.log_in_enabled("IMAP4rev1 ENABLE CONDSTORE QRESYNC");
    if (p.wait_for("A8 UID FETCH 2:* (UID FLAGS BODY.PEEK[])\r\n"))
      p.say("* 3 EXISTS\r\n* OK [UIDVALIDITY 1] v\r\n* OK [UIDNEXT 4] n\r\n"
            "* OK [HIGHESTMODSEQ 9] m\r\nA3 OK [READ-ONLY] done\r\n"
            "* 3 FETCH (UID 3 FLAGS () BODY[] {5}\r\nhello)\r\nA4 OK done\r\n"
            "A5 NO [NONEXISTENT] no such mailbox\r\n"
            "* 3 FETCH (UID 3 FLAGS () BODY[] {5}\r\nhello)\r\nA6 OK done\r\n"
            "* OK [CLOSED] closed\r\n* 2 EXISTS\r\n* OK [UIDVALIDITY 3] v\r\n"
            "A7 OK [READ-ONLY] done\r\n"
            "* 2 FETCH (UID 2 FLAGS (\\Seen) BODY[] {3}\r\nabc)\r\nA8 OK done\r\n");
    if (p.wait_for(" LOGOUT\r\n"))
      p.say("* BYE bye\r\n" + p.tag_of(" LOGOUT") + " OK done\r\n");
    ::close(p.fd);
  });
  trace_log log;
  auto s = connect_scripted(listener, peer, log);
  collecting_consumer a, b, c;
  std::vector<session::examine_request> asked(3);
  asked[0] = {"A", 1, 5, session::prefetch{"3:*", &a}};
  asked[1] = {"B", 2, 5, session::prefetch{"5:*", &b}};
  asked[2] = {"C", 3, 5, session::prefetch{"2:*", &c}};
  std::map<std::size_t, session::examined> got;
  s->examine_many(asked,
                  [&](std::size_t i, session::examined&& e) { got.emplace(i, std::move(e)); });
  INFO(log.text());
  REQUIRE(got.size() == 3);
  CHECK(got[0].ok);
  CHECK(got[0].info.uidnext == 4);
  CHECK(a.bodies == std::map<std::uint32_t, std::string>{{3, "hello"}});
  CHECK_FALSE(got[1].ok);
  CHECK(got[1].error.find("no such mailbox") != std::string::npos);
  CHECK(b.bodies.empty());
  CHECK(got[2].ok);
  CHECK(got[2].info.uidvalidity == 3);
  CHECK(c.bodies == std::map<std::uint32_t, std::string>{{2, "abc"}});
  CHECK(c.flags[2] == flag_set(flag::seen));
  CHECK(s->selected() == "C");
  s->logout();
  peer.join();
}

TEST_CASE("EXAMINEs of many answered out of order end the session, no mailbox given data",
          "[session]") {
  // The replies could no longer be told apart by mailbox.
  oimap::test::tcp_listener listener;
  std::thread peer([&] {
    peer_script p{listener.accept(), {}};
    p.log_in_enabled("IMAP4rev1 ENABLE CONDSTORE QRESYNC");
    if (p.wait_for("A6 UID FETCH 4:* (UID FLAGS BODY.PEEK[])\r\n"))
      p.say("A5 OK [READ-ONLY] done\r\nA3 OK [READ-ONLY] done\r\n");
    p.wait_for("never"); // until the client hangs up
    ::close(p.fd);
  });
  trace_log log;
  auto s = connect_scripted(listener, peer, log);
  collecting_consumer a, b;
  std::vector<session::examine_request> asked(2);
  asked[0] = {"A", 1, 5, session::prefetch{"3:*", &a}};
  asked[1] = {"B", 2, 5, session::prefetch{"4:*", &b}};
  int calls = 0;
  const auto e =
      error_of([&] { s->examine_many(asked, [&](std::size_t, session::examined&&) { ++calls; }); });
  CHECK(e.kind() == error_kind::protocol);
  CHECK(calls == 0);
  CHECK_THROWS_AS(s->noop(), imap_error); // the session is done for
  s.reset();
  peer.join();
}

TEST_CASE("a message source writing the wrong size is an error, and the session is closed",
          "[session]") {
  auto user = new_user("size");
  auto s = login(user);
  std::vector<append_request> reqs;
  reqs.push_back(request_for(make_message("short", "x\r\n")));
  reqs.back().size += 10; // announces more than it writes
  auto e = error_of([&] { s->append("INBOX", std::move(reqs)); });
  CHECK(e.kind() == error_kind::protocol);
  CHECK_THAT(e.what(), Catch::Contains("the message source wrote"));
  auto closed = error_of([&] { s->noop(); });
  CHECK(closed.kind() == error_kind::closed);

  auto s2 = login(user);
  std::vector<append_request> more;
  more.push_back(request_for(make_message("long", "x\r\n")));
  more.back().size -= 1; // writes more than announced
  e = error_of([&] { s2->append("INBOX", std::move(more)); });
  CHECK(e.kind() == error_kind::protocol);
  CHECK_THAT(e.what(), Catch::Contains("more than the announced"));
  // Nothing was appended by either attempt.
  CHECK(login(user)->status("INBOX").exists == 0);
}

TEST_CASE("BYE from the server and a local shutdown are closed errors", "[session]") {
  auto user = new_user("kicked");
  auto s = login(user);
  auto other = login(user);

  // The Ctrl-C path (a blocked reader woken from another thread) is tested
  // on the transports; here: after shutdown() every command fails at once.
  other->shutdown();
  auto e = error_of([&] { other->noop(); });
  CHECK(e.kind() == error_kind::closed);

  s->select("INBOX", false);
  // doveadm kick makes the user's imap processes say BYE and exit.
  auto kick = dovecot().doveadm({"kick", user});
  REQUIRE(kick.exit_code == 0);
  // The signal may reach the imap process just after our next command:
  // NOOP until the session reports the loss, with a deadline.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (;;) {
    try {
      s->noop();
    } catch (const imap_error& err) {
      e = err;
      break;
    }
    if (std::chrono::steady_clock::now() > deadline)
      FAIL("no BYE within 20 s of doveadm kick");
  }
  CHECK(e.kind() == error_kind::closed);
  CHECK_THAT(e.what(), Catch::Contains("127.0.0.1:" + std::to_string(dovecot().port())));
  CHECK_THAT(e.what(), Catch::Contains("NOOP"));
  // Unusable from now on, with a message saying so.
  e = error_of([&] { s->noop(); });
  CHECK(e.kind() == error_kind::closed);
  CHECK_THAT(e.what(),
             Catch::StartsWith("session with 127.0.0.1:" + std::to_string(dovecot().port())
                               + " is unusable after an earlier error: server 127.0.0.1:"));
}
