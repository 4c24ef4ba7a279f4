// End-to-end: the oimap binary against a private Dovecot, both directions.
#include <catch2/catch.hpp>

#include "storage/status_db.hpp"
#include "support/sync_harness.hpp"
#include "support/tcp_listener.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <regex>
#include <set>
#include <sstream>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace oimap::test;
using namespace std::chrono_literals;

namespace {

// How often what occurs in text before until.
std::size_t occurrences(const std::string& text, const std::string& what,
                        std::size_t until = std::string::npos) {
  std::size_t n = 0;
  for (std::size_t pos = 0; (pos = text.find(what, pos)) < until; ++pos)
    ++n;
  return n;
}

// A run with every folder to sync, as the next run's guess at how busy the
// account is counts it (a first sync does not count): one new message in
// each folder on the server. (Not uploads: the run after an upload sees the
// folders it uploaded to changed, so it would count as busy too.)
void busy_run(sync_env& env) {
  int n = 0;
  for (const auto& folder : fs::directory_iterator(env.local_root())) {
    const std::string id = "busy" + std::to_string(n++);
    REQUIRE(env.imap().append(folder.path().filename().string(), make_message(id, "b\r\n")).ok());
  }
  env.close_imap();
  REQUIRE(n > 0);
  REQUIRE(env.oimap({"-o"}).exit_code == 0);
}

// A first sync of alice's generated folders (then a busy run, if asked),
// one new message in INBOX on the server, then the run under test with the
// protocol traced.
command_result resync_after_one_new_message(sync_env& env, const std::string& fill_spec,
                                            bool after_busy_run = false) {
  env.server().fill("alice", fill_spec);
  REQUIRE(env.oimap({"-o"}).exit_code == 0);
  if (after_busy_run)
    busy_run(env);
  REQUIRE(env.imap().append("INBOX", make_message("late", "new\r\n")).ok());
  env.close_imap();
  return env.oimap({"-o", "-d", "imap"});
}

std::string modseq(sync_env& env, const std::string& folder) {
  auto r = env.server().doveadm({"mailbox", "status", "-u", "alice", "highestmodseq", folder});
  return r.out;
}

// Starts oimap without waiting: for kill -9 tests and RSS measurements.
struct child {
  pid_t pid = -1;
  explicit child(const std::vector<std::string>& argv) {
    pid = ::fork();
    if (pid == 0) {
      int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(null, 2);
      std::vector<char*> args;
      for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  // Waits for exit; returns {exit code or 128+signal, max RSS in KiB}.
  std::pair<int, long> wait() {
    int status = 0;
    struct rusage ru {};
    ::wait4(pid, &status, 0, &ru);
    pid = -1;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return {code, ru.ru_maxrss};
  }
  bool running() {
    int status = 0;
    return ::waitpid(pid, &status, WNOHANG) == 0 ? true : (pid = -1, false);
  }
  ~child() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

// bench's latency proxy in front of the test's Dovecot: a server rtt_ms away.
struct far_server {
  pid_t pid = -1;
  std::uint16_t port = 0;
  far_server(std::uint16_t to, int rtt_ms) {
    const std::string to_port = std::to_string(to);
    const std::string rtt = std::to_string(rtt_ms);
    int out[2];
    REQUIRE(::pipe(out) == 0);
    pid = ::fork();
    if (pid == 0) {
      ::dup2(out[1], 1);
      ::execl(OIMAP_LATENCY_PROXY, "latency_proxy", "--to", to_port.c_str(), "--rtt-ms",
              rtt.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    FILE* from = ::fdopen(out[0], "r");
    char line[64] = {};
    const bool said = std::fgets(line, sizeof line, from) != nullptr;
    std::fclose(from);
    REQUIRE(said);
    REQUIRE(std::sscanf(line, "port=%hu", &port) == 1);
  }
  far_server(const far_server&) = delete;
  far_server& operator=(const far_server&) = delete;
  ~far_server() {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
};

std::size_t count_files(const fs::path& folder) {
  return maildir_files(folder).size();
}

// Waits (with a deadline) until pred holds or the child exits.
template <class Pred> bool wait_until(child& c, Pred pred, std::chrono::seconds limit = 60s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    if (!c.running())
      return false;
    std::this_thread::yield();
  }
  return false;
}

// After a kill -9 the server may still be storing what the dead connection
// had sent; a rerun must see the server as that connection left it.
void wait_for_server_to_drop_clients(sync_env& env) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto who = env.server().doveadm({"who"});
    if (who.out.find("alice") == std::string::npos)
      return;
  }
  FAIL("the server kept the killed client's connection for 20 s");
}

std::vector<std::string> oimap_argv(sync_env& env) {
  return {oimap_binary().string(), "-c", env.config().string(), "-o"};
}

void require_same(sync_env& env, const std::string& folder, char sep = '.') {
  auto server = maildir_messages(env.server_folder(folder));
  auto local = maildir_messages(env.local_folder(folder, sep));
  INFO("folder " << folder);
  REQUIRE(server.size() == local.size());
  REQUIRE(server == local);
}

// A sync that must succeed and leave INBOX the same on both sides; returns
// how many messages the local INBOX then holds.
std::size_t resync_inbox(sync_env& env) {
  auto r = env.oimap({"-o"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  require_same(env, "INBOX");
  return maildir_messages(env.local_folder("INBOX")).size();
}

// n messages m1..mn in INBOX on the server, then a first sync.
// Server folders made (INBOX is there already), each with one message.
void seed_folders(sync_env& env, std::initializer_list<std::string> folders) {
  auto& imap = env.imap();
  for (const auto& f : folders) {
    if (f != "INBOX")
      REQUIRE(imap.command("CREATE " + f).ok());
    REQUIRE(imap.append(f, make_message(f + "1", "x\r\n")).ok());
  }
}

void seed_inbox_and_sync(sync_env& env, int n) {
  auto& imap = env.imap();
  for (int i = 1; i <= n; ++i)
    REQUIRE(imap.append("INBOX", make_message("m" + std::to_string(i), "x\r\n")).ok());
  env.close_imap();
  REQUIRE(env.oimap({"-o"}).exit_code == 0);
}

// An INBOX of 1,100 generated messages, big enough for the incremental
// path (sync/folder_sync.cpp's watch_threshold), synced once.
void seed_big_inbox_and_sync(sync_env& env, int seed) {
  env.server().fill("alice", "folders=1,messages=1100,seed=" + std::to_string(seed));
  REQUIRE(env.oimap({"-o"}).exit_code == 0);
}

// The mtimes of a local folder's new/ and cur/, to put back after a change
// made behind the sync's back (the stamps it sealed then vouch for it).
class folder_stamps {
public:
  explicit folder_stamps(const fs::path& folder) : folder_(folder) {
    for (int i = 0; i < 2; ++i) {
      struct stat st {};
      REQUIRE(::stat((folder_ / subdirs[i]).c_str(), &st) == 0);
      mtimes_[i] = st.st_mtim;
    }
  }
  void restore() const {
    for (int i = 0; i < 2; ++i) {
      const struct timespec times[2] = {{0, UTIME_OMIT}, mtimes_[i]};
      REQUIRE(::utimensat(AT_FDCWD, (folder_ / subdirs[i]).c_str(), times, 0) == 0);
    }
  }

private:
  static constexpr const char* subdirs[2] = {"new", "cur"};
  fs::path folder_;
  struct timespec mtimes_[2]{};
};

void seed_nested(sync_env& env) {
  auto& imap = env.imap();
  REQUIRE(imap.command("CREATE Work").ok());
  REQUIRE(imap.command("CREATE Work.Projects").ok());
  REQUIRE(imap.append("INBOX", make_message("m1", "seen\r\n"), "\\Seen").ok());
  REQUIRE(imap.append("INBOX", make_message("m2", "answered flagged\r\n"), "\\Answered \\Flagged")
              .ok());
  REQUIRE(imap.append("INBOX", make_message("m3", "draft\r\n"), "\\Draft").ok());
  REQUIRE(imap.append("INBOX", make_message("m4", "deleted\r\n"), "\\Deleted").ok());
  REQUIRE(imap.append("INBOX", make_message("m5", "no flags\r\n")).ok());
  REQUIRE(imap.append("Work.Projects", make_message("p1", "nested\r\n"), "\\Seen \\Flagged").ok());
  env.close_imap();
}

} // namespace

TEST_CASE("initial sync of nested folders with all five flags, then a no-op rerun",
          "[integration]") {
  for (char sep : {'.', '/'}) {
    DYNAMIC_SECTION("local sep " << sep) {
      sync_env env;
      env.write_config({}, std::string("sep = ") + sep + "\n");
      seed_nested(env);
      auto r = env.oimap({"-o"});
      INFO(r.out << r.err);
      REQUIRE(r.exit_code == 0);
      require_same(env, "INBOX", sep);
      require_same(env, "Work.Projects", sep);
      require_same(env, "Work", sep);
      auto flags = maildir_messages(env.local_folder("INBOX", sep));
      std::set<std::string> seen;
      for (const auto& m : flags)
        seen.insert(m.flags);
      CHECK(seen == std::set<std::string>{"S", "FR", "D", "T", ""});
      const auto owner_rw = fs::perms::owner_read | fs::perms::owner_write;
      for (const auto& [name, path] : maildir_files(env.local_folder("INBOX", sep)))
        CHECK((fs::status(path).permissions() & fs::perms::all) == owner_rw);
      const auto status_dir = env.metadata() / "Account-Test" / "oimap-status";
      REQUIRE(fs::is_directory(status_dir));
      CHECK((fs::status(status_dir).permissions() & fs::perms::all) == fs::perms::owner_all);

      const auto files_before = maildir_files(env.local_folder("INBOX", sep));
      const auto modseq_before = modseq(env, "INBOX");
      auto again = env.oimap({"-o"});
      INFO(again.out << again.err);
      REQUIRE(again.exit_code == 0);
      CHECK(maildir_files(env.local_folder("INBOX", sep)) == files_before);
      CHECK(modseq(env, "INBOX") == modseq_before);
    }
  }
}

TEST_CASE("changes on each side and on both sides meet", "[integration]") {
  sync_env env;
  auto& imap = env.imap();
  for (int i = 1; i <= 4; ++i)
    REQUIRE(imap.append("INBOX", make_message("c" + std::to_string(i), "body\r\n")).ok());
  env.close_imap();
  REQUIRE(env.oimap({"-o"}).exit_code == 0);
  require_same(env, "INBOX");

  // Server: a new message, a flag on c1, c2 deleted, c4 flagged.
  auto& s = env.imap();
  REQUIRE(s.append("INBOX", make_message("server-new", "from server\r\n"), "\\Seen").ok());
  REQUIRE(s.command("SELECT INBOX").ok());
  REQUIRE(s.command("UID STORE 1 +FLAGS (\\Flagged)").ok());
  REQUIRE(s.command("UID STORE 2 +FLAGS (\\Deleted)").ok());
  REQUIRE(s.command("EXPUNGE").ok());
  REQUIRE(s.command("UID STORE 4 +FLAGS (\\Flagged)").ok());
  env.close_imap();

  // Local: a new message, c3 read (S), c4 replied (R): c4 changed on both sides.
  const auto inbox = env.local_folder("INBOX");
  write_file(inbox / "new" / "1700000000.local1.host",
             lf(make_message("local-new", "from local\r\n")));
  for (auto& [name, path] : maildir_files(inbox)) {
    auto body = read_file(path);
    std::string flags;
    if (body.find("Subject: c3") != std::string::npos)
      flags = "S";
    else if (body.find("Subject: c4") != std::string::npos)
      flags = "R";
    else
      continue;
    auto base = name.substr(0, name.find(":2,"));
    fs::rename(path, inbox / "cur" / (base + ":2," + flags));
  }

  auto r = env.oimap({"-o"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  require_same(env, "INBOX");
  auto msgs = maildir_messages(inbox);
  REQUIRE(msgs.size() == 5); // c1 c3 c4 + server-new + local-new; c2 gone
  auto flags_of = [&](const std::string& subject) {
    for (const auto& m : msgs)
      if (m.body.find("Subject: " + subject + "\n") != std::string::npos)
        return m.flags;
    return std::string("missing");
  };
  CHECK(flags_of("c1") == "F");
  CHECK(flags_of("c2") == "missing");
  CHECK(flags_of("c3") == "S");
  CHECK(flags_of("c4") == "FR");
  CHECK(flags_of("server-new") == "S");
  CHECK(flags_of("local-new") == "");

  // Local deletion reaches the server.
  for (auto& [name, path] : maildir_files(inbox))
    if (read_file(path).find("Subject: c3\n") != std::string::npos)
      fs::remove(path);
  REQUIRE(env.oimap({"-o"}).exit_code == 0);
  require_same(env, "INBOX");
  CHECK(maildir_messages(env.server_folder("INBOX")).size() == 4);

  // And then nothing more to do.
  const auto files = maildir_files(inbox);
  const auto ms = modseq(env, "INBOX");
  REQUIRE(env.oimap({"-o"}).exit_code == 0);
  CHECK(maildir_files(inbox) == files);
  CHECK(modseq(env, "INBOX") == ms);
}

TEST_CASE("bodies are copied byte for byte both ways", "[integration]") {
  sync_env env;
  std::string binary;
  for (int i = 0; i < 3000; ++i)
    binary.push_back(static_cast<char>(0x80 + (i * 7) % 0x7f)); // 8-bit, no NUL/CR/LF
  std::string big = make_message("big", "");
  while (big.size() < 20 * 1024 * 1024)
    big += "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefg\r\n";
  const std::vector<std::string> bodies = {
      make_message("utf8", "Grüße aus Köln, 日本語のテキスト, emoji 🎉\r\n"),
      make_message("bare-lf", "line one\nline two\r\nline three\n"),
      make_message("no-final-newline", "the end"),
      "From: a@b\r\nSubject: binary\r\nMIME-Version: 1.0\r\nContent-Type: "
      "application/octet-stream\r\n"
      "Content-Transfer-Encoding: 8bit\r\n\r\n"
          + binary + "\r\n",
      big,
  };
  auto& imap = env.imap();
  for (const auto& b : bodies)
    REQUIRE(imap.append("INBOX", b).ok());
  env.close_imap();
  auto r = env.oimap({"-o"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  require_same(env, "INBOX");

  // Upload direction: the same kinds of bodies written locally.
  REQUIRE(env.oimap({"-o"}).exit_code == 0);
  int n = 0;
  for (const auto& b : bodies)
    write_file(env.local_folder("Sent") / "new" / ("1700000000.up" + std::to_string(++n) + ".host"),
               lf(b));
  fs::create_directories(env.local_folder("Sent") / "cur");
  fs::create_directories(env.local_folder("Sent") / "tmp");
  r = env.oimap({"-o"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  require_same(env, "Sent");
  // Every uploaded file now carries its UID; a rerun uploads nothing more.
  REQUIRE(env.oimap({"-o"}).exit_code == 0);
  CHECK(maildir_messages(env.server_folder("Sent")).size() == bodies.size());
}

// Peak RSS of one oimap run in KiB, measured by /usr/bin/time: a child forked
// from this (large) test process would count the parent's pages until exec.
long oimap_peak_rss(sync_env& env) {
  auto argv = oimap_argv(env);
  argv.insert(argv.begin(), {"/usr/bin/time", "-f", "peak-rss-kib=%M"});
  auto r = run_command(argv, {}, 120s);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  auto pos = r.err.rfind("peak-rss-kib=");
  REQUIRE(pos != std::string::npos);
  return std::stol(r.err.substr(pos + 13));
}

TEST_CASE("a 20 MB message is streamed, not held in memory", "[integration]") {
  sync_env env;
  REQUIRE(env.imap().append("INBOX", make_message("small", "small\r\n")).ok());
  env.close_imap();
  const long small_rss = oimap_peak_rss(env);
  {
    std::string big = make_message("big", "");
    while (big.size() < 20 * 1024 * 1024)
      big += "The quick brown fox jumps over the lazy dog, again and again and again.\r\n";
    REQUIRE(env.imap().append("INBOX", big).ok());
    env.close_imap();
  }
  const long rss = oimap_peak_rss(env);
  require_same(env, "INBOX");
  INFO("max RSS without the big message " << small_rss << " KiB, with it " << rss << " KiB");
  // Held even once, the 20 MB body would add 20 MB to the peak.
  CHECK(rss - small_rss < 8 * 1024);
}

TEST_CASE("maxconnections = 3 really uses 3 connections", "[integration]") {
  sync_env env;
  env.write_config("maxconnections = 3\n");
  auto& imap = env.imap();
  for (const char* f : {"A", "B", "C", "D", "E", "F"}) {
    REQUIRE(imap.command(std::string("CREATE ") + f).ok());
    for (int i = 0; i < 30; ++i)
      REQUIRE(imap.append(f, make_message(std::string(f) + std::to_string(i), "x\r\n")).ok());
  }
  env.close_imap();
  auto r = env.oimap({"-o", "-d", "imap"});
  INFO(r.err.substr(0, 4000));
  REQUIRE(r.exit_code == 0);
  // Every session's trace shows its own LOGIN/AUTHENTICATE exchange.
  std::size_t logins = 0;
  for (std::size_t pos = 0; (pos = r.err.find("AUTHENTICATE PLAIN", pos)) != std::string::npos;
       ++pos)
    ++logins;
  for (std::size_t pos = 0; (pos = r.err.find(" LOGIN ", pos)) != std::string::npos; ++pos)
    ++logins;
  CHECK(logins == 3);
  for (const char* f : {"A", "B", "C", "D", "E", "F"})
    require_same(env, f);

  // -1: one connection, whatever maxconnections says.
  fs::remove_all(env.local_root());
  fs::remove_all(env.metadata());
  r = env.oimap({"-o", "-1", "-d", "imap"});
  REQUIRE(r.exit_code == 0);
  logins = 0;
  for (std::size_t pos = 0; (pos = r.err.find("AUTHENTICATE PLAIN", pos)) != std::string::npos;
       ++pos)
    ++logins;
  CHECK(logins == 1);
  for (const char* f : {"A", "B", "C", "D", "E", "F"})
    require_same(env, f);
}

// One account of a multi-account config: its name, server user (password
// "pw") and Maildir.
struct account_spec {
  std::string name, user;
  fs::path root;
};

// A config with these accounts, all on env's server with maxconnections = 3.
void write_accounts_config(sync_env& env, int maxsyncaccounts,
                           const std::vector<account_spec>& accounts) {
  std::ostringstream c;
  c << "[general]\naccounts = ";
  for (std::size_t i = 0; i < accounts.size(); ++i)
    c << (i ? ", " : "") << accounts[i].name;
  c << "\nmetadata = " << env.metadata().string() << "\nmaxsyncaccounts = " << maxsyncaccounts
    << "\n\n";
  for (const auto& [a, user, root] : accounts)
    c << "[Account " << a << "]\nlocalrepository = " << a << "Local\nremoterepository = " << a
      << "Remote\n\n[Repository " << a << "Local]\ntype = Maildir\nlocalfolders = " << root.string()
      << "\n\n[Repository " << a
      << "Remote]\ntype = IMAP\nremotehost = 127.0.0.1\nremoteport = " << env.server().port()
      << "\nremoteuser = " << user
      << "\nremotepass = pw\nssl = no\nstarttls = no\nmaxconnections = 3\n\n";
  write_file(env.config(), c.str());
}

// How many sessions the account opened: each one's trace starts with its
// login, under the account's name.
std::size_t account_logins(const command_result& r, const std::string& account) {
  std::size_t n = 0;
  std::istringstream lines(r.err);
  for (std::string line; std::getline(lines, line);)
    n += line.starts_with("imap " + account + " ")
         && line.find("AUTHENTICATE PLAIN") != std::string::npos;
  return n;
}

TEST_CASE("accounts syncing at once with a server on this host share its CPUs' worth of "
          "connections",
          "[integration]") {
  sync_env env;
  const std::vector<std::string> folders = {"A", "B", "C", "D", "E", "F"};
  for (const auto& f : folders) {
    REQUIRE(env.imap().command("CREATE " + f).ok());
    for (int i = 0; i < 30; ++i)
      REQUIRE(env.imap().append(f, make_message(f + std::to_string(i), "x\r\n")).ok());
  }
  env.close_imap();
  // Two accounts download the same mailbox into Maildirs of their own.
  const std::vector<std::string> accounts = {"One", "Two"};
  auto root = [&](const std::string& a) { return env.dir() / ("Mail" + a); };
  auto write_config = [&](int maxsyncaccounts) {
    write_accounts_config(env, maxsyncaccounts,
                          {{"One", "alice", root("One")}, {"Two", "alice", root("Two")}});
  };
  auto require_downloaded = [&] {
    for (const auto& a : accounts)
      for (const auto& f : folders) {
        INFO("account " << a << ", folder " << f);
        REQUIRE(maildir_messages(root(a) / f) == maildir_messages(env.server_folder(f)));
      }
  };

  // Both at once: each gets half the CPUs' worth of connections, at least
  // one (on 2 CPUs, as in CI, the one it set up with). The one done first
  // keeps to that; the other may take up more once alone (see the next
  // test), up to maxconnections.
  write_config(2);
  const auto cpus = std::max(1u, std::thread::hardware_concurrency());
  const std::size_t share = std::clamp<std::size_t>(cpus / 2, 1, 3);
  auto r = env.oimap({"-o", "-d", "imap"});
  INFO(r.err.substr(0, 4000));
  REQUIRE(r.exit_code == 0);
  const auto one = account_logins(r, "One"), two = account_logins(r, "Two");
  CHECK(std::min(one, two) == share);
  CHECK(std::max(one, two) <= 3);
  require_downloaded();

  // One after the other, the same first sync spreads over all three.
  for (const auto& a : accounts)
    fs::remove_all(root(a));
  fs::remove_all(env.metadata());
  write_config(1);
  r = env.oimap({"-o", "-d", "imap"});
  INFO(r.err.substr(0, 4000));
  REQUIRE(r.exit_code == 0);
  CHECK(account_logins(r, "One") == 3);
  CHECK(account_logins(r, "Two") == 3);
  require_downloaded();
}

TEST_CASE("an account still syncing when the others are done takes up their share of "
          "connections",
          "[integration]") {
  sync_env env({}, {{"alice", "pw"}, {"bob", "pw"}});
  // Big (alice) has ten folders to download; Tiny (bob) an empty INBOX, and
  // is done while Big's folders still wait for a connection.
  env.server().fill("alice", "folders=10,messages=80,seed=21");
  write_accounts_config(
      env, 2, {{"Big", "alice", env.local_root()}, {"Tiny", "bob", env.dir() / "MailTiny"}});

  auto r = env.oimap({"-o", "-d", "imap"});
  INFO(r.err.substr(0, 4000));
  REQUIRE(r.exit_code == 0);
  // Both at once, Big started with half the CPUs' worth (one on 2 CPUs, as
  // in CI); alone, it may use all of maxconnections. (From 6 CPUs on, half
  // is 3 already.)
  CHECK(account_logins(r, "Big") == 3);
  for (const auto& e : fs::directory_iterator(env.local_root()))
    require_same(env, e.path().filename().string());
}

TEST_CASE("small changes in many folders on a near server go over one connection, many new "
          "messages over all of them",
          "[integration]") {
  sync_env env;
  env.write_config("maxconnections = 3\n");
  const std::vector<std::string> folders = {"A", "B", "C", "D", "E", "F"};
  auto add = [&](int per_folder, int round) {
    auto& imap = env.imap();
    for (const auto& f : folders)
      for (int i = 0; i < per_folder; ++i)
        REQUIRE(imap.append(f, make_message(f + std::to_string(round) + "-" + std::to_string(i),
                                            "x\r\n"))
                    .ok());
    env.close_imap();
  };
  auto logins_of = [](const command_result& r) { return occurrences(r.err, "AUTHENTICATE PLAIN"); };
  for (const auto& f : folders)
    REQUIRE(env.imap().command("CREATE " + f).ok());
  add(2, 0);
  REQUIRE(env.oimap({"-o"}).exit_code == 0);

  // Six changed folders, a few new messages each: the setup's connection
  // (a login on 127.0.0.1 takes milliseconds) does them all.
  add(3, 1);
  auto r = env.oimap({"-o", "-d", "imap"});
  INFO(r.err.substr(0, 4000));
  REQUIRE(r.exit_code == 0);
  CHECK(logins_of(r) == 1);
  CHECK(occurrences(r.err, " EXAMINE ") == folders.size());
  for (const auto& f : folders)
    require_same(env, f);

  // 300 new messages: worth downloading in parallel.
  add(50, 2);
  r = env.oimap({"-o", "-d", "imap"});
  REQUIRE(r.exit_code == 0);
  CHECK(logins_of(r) == 3);
  for (const auto& f : folders)
    require_same(env, f);
}

TEST_CASE("many folders share their STATUS round over two connections after a busy run and "
          "use one after a quiet one",
          "[integration]") {
  sync_env env;
  env.write_config("maxconnections = 2\n");
  for (int i = 0; i < 16; ++i) {
    const std::string f = "F" + std::to_string(i);
    REQUIRE(env.imap().command("CREATE " + f).ok());
    REQUIRE(env.imap().append(f, make_message(f, "x\r\n")).ok());
  }
  env.close_imap();
  auto logins_of = [](const command_result& r) { return occurrences(r.err, "AUTHENTICATE PLAIN"); };
  // STATUS commands sent, not the answers (which LIST-STATUS brings too).
  auto status_commands = [](const command_result& r) {
    return occurrences(r.err, " STATUS F") - occurrences(r.err, "* STATUS F");
  };
  REQUIRE(env.oimap({"-o"}).exit_code == 0);
  busy_run(env);

  auto r = env.oimap({"-o", "-d", "imap"});
  INFO(r.err.substr(0, 4000));
  REQUIRE(r.exit_code == 0);
  CHECK(logins_of(r) == 2);
  CHECK(status_commands(r) == 16);

  // Nothing changed last time: the first connection starts the round alone,
  // and on a server this near it is over before a second one would join.
  r = env.oimap({"-o", "-d", "imap"});
  INFO(r.err.substr(0, 4000));
  REQUIRE(r.exit_code == 0);
  CHECK(logins_of(r) == 1);
  CHECK(status_commands(r) == 16);
  for (int i = 0; i < 16; ++i)
    require_same(env, "F" + std::to_string(i));
}

TEST_CASE("a run records how many folders it found changed, not those it synced for the first "
          "time",
          "[integration]") {
  sync_env env;
  for (const char* f : {"A", "B", "C"}) {
    REQUIRE(env.imap().command(std::string("CREATE ") + f).ok());
    REQUIRE(env.imap().append(f, make_message(f, "x\r\n")).ok());
  }
  env.close_imap();
  const auto recorded = [&] {
    return oimap::storage::status_db::open(env.metadata() / "Account-Test" / "oimap-status", false)
        ->folders_to_sync_last_run();
  };
  REQUIRE(env.oimap({"-o"}).exit_code == 0);
  CHECK(recorded() == 0u);
  REQUIRE(env.imap().append("B", make_message("B2", "y\r\n")).ok());
  env.close_imap();
  REQUIRE(env.oimap({"-o"}).exit_code == 0);
  CHECK(recorded() == 1u);
  REQUIRE(env.oimap({"-o"}).exit_code == 0);
  CHECK(recorded() == 0u);
  for (const char* f : {"A", "B", "C"})
    require_same(env, f);
}

TEST_CASE("a burst after a quiet run cuts the STATUS round short and syncs every folder",
          "[integration]") {
  sync_env env;
  env.write_config("maxconnections = 2\n");
  const int folders = 24;
  for (int i = 0; i < folders; ++i) {
    const std::string f = "F" + std::to_string(i);
    REQUIRE(env.imap().command("CREATE " + f).ok());
    REQUIRE(env.imap().append(f, make_message(f, "x\r\n")).ok());
  }
  env.close_imap();
  REQUIRE(env.oimap({"-o"}).exit_code == 0); // the first sync: not counted as busy

  // Every folder changes on the server: the first chunk of STATUS answers
  // (4) shows it, and the rest go to their EXAMINE without one. A helper
  // joining meanwhile asks one chunk (8) more at most.
  for (int i = 0; i < folders; ++i) {
    const std::string f = "F" + std::to_string(i);
    REQUIRE(env.imap().append(f, make_message(f + "-new", "y\r\n")).ok());
  }
  env.close_imap();
  auto r = env.oimap({"-o", "-d", "imap"});
  INFO(r.err.substr(0, 4000));
  REQUIRE(r.exit_code == 0);
  const auto status_commands = occurrences(r.err, " STATUS F") - occurrences(r.err, "* STATUS F");
  CHECK(status_commands >= 4);
  CHECK(status_commands <= 12);
  CHECK(occurrences(r.err, " EXAMINE F") + occurrences(r.err, " SELECT F")
        >= static_cast<std::size_t>(folders));
  for (int i = 0; i < folders; ++i)
    require_same(env, "F" + std::to_string(i));
}

TEST_CASE("the imap debug trace (-d imap) never shows the password", "[integration]") {
  sync_env env({}, {{"alice", "S3cr3t-P4ss;#"}});
  auto r = env.oimap({"-o", "-d", "imap"});
  INFO(r.err.substr(0, 2000));
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("AUTHENTICATE") != std::string::npos);
  CHECK(r.err.find("S3cr3t") == std::string::npos);
  // base64("\0alice\0S3cr3t-P4ss;#") and its prefix
  CHECK(r.err.find("AGFsaWNlAFMzY3IzdC1QNHNzOyM=") == std::string::npos);
  CHECK(r.err.find("AGFsaWNlAFMzY3Iz") == std::string::npos);
}

TEST_CASE("the imap debug trace stamps each line with the seconds since start", "[integration]") {
  sync_env env;
  auto r = env.oimap({"-o", "-d", "imap"});
  INFO(r.err.substr(0, 2000));
  REQUIRE(r.exit_code == 0);
  const std::regex line(R"(^imap Test (\d+\.\d{4}) ([<>]) .*$)");
  std::istringstream lines(r.err);
  std::size_t stamped = 0;
  double last_login = -1;
  for (std::string l; std::getline(lines, l);) {
    std::smatch m;
    if (!std::regex_match(l, m, line))
      continue;
    ++stamped;
    if (l.find(" > A1 AUTHENTICATE") != std::string::npos)
      last_login = std::stod(m[1]);
  }
  CHECK(stamped >= 5);
  CHECK(last_login >= 0);
  CHECK(last_login < 60);
}

TEST_CASE("two accounts with maxsyncaccounts = 2", "[integration]") {
  sync_env env({}, {{"alice", "pw"}, {"bob", "pw2"}});
  {
    imap_dialogue a(env.server().port());
    a.login("alice", "pw");
    REQUIRE(a.append("INBOX", make_message("for-alice", "a\r\n")).ok());
    imap_dialogue b(env.server().port());
    b.login("bob", "pw2");
    REQUIRE(b.append("INBOX", make_message("for-bob", "b\r\n")).ok());
  }
  const auto port = std::to_string(env.server().port());
  const auto root = env.dir().string();
  write_file(
      env.config(),
      "[general]\naccounts = A, B\nmaxsyncaccounts = 2\nmetadata = " + root
          + "/state\nui = basic\n\n[Account A]\nlocalrepository = AL\nremoterepository = AR\n"
            "\n[Account B]\nlocalrepository = BL\nremoterepository = BR\n\n"
            "[Repository AL]\ntype = Maildir\nlocalfolders = "
          + root
          + "/MailA\n\n"
            "[Repository BL]\ntype = Maildir\nlocalfolders = "
          + root
          + "/MailB\n\n"
            "[DEFAULT]\nremotehost = 127.0.0.1\nremoteport = "
          + port
          + "\nssl = no\nstarttls = no\n\n"
            "[Repository AR]\ntype = IMAP\nremoteuser = alice\nremotepass = pw\n\n"
            "[Repository BR]\ntype = IMAP\nremoteuser = bob\nremotepass = pw2\n");
  auto r = env.oimap({"-o"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  auto a = maildir_messages(env.dir() / "MailA" / "INBOX");
  auto b = maildir_messages(env.dir() / "MailB" / "INBOX");
  REQUIRE(a.size() == 1);
  REQUIRE(b.size() == 1);
  CHECK(a[0].body.find("for-alice") != std::string::npos);
  CHECK(b[0].body.find("for-bob") != std::string::npos);
}

TEST_CASE("wrong password and closed port: clear error, exit 1, local mail untouched",
          "[integration]") {
  sync_env env;
  REQUIRE(env.imap().append("INBOX", make_message("keep", "keep me\r\n")).ok());
  env.close_imap();
  REQUIRE(env.oimap({"-o"}).exit_code == 0);
  const auto before = maildir_files(env.local_folder("INBOX"));
  REQUIRE(before.size() == 1);

  env.write_config({}, {}, {}, "wrong-password");
  auto r = env.oimap({"-o"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("alice") != std::string::npos);
  CHECK(r.err.find("wrong-password") == std::string::npos);
  CHECK(maildir_files(env.local_folder("INBOX")) == before);

  // ipv6 = yes for a server with an IPv4 address only; no reaches it.
  env.write_config("ipv6 = yes\n");
  r = env.oimap({"-o"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("(ipv6 = yes: IPv6 addresses only)") != std::string::npos);
  env.write_config("ipv6 = no\n");
  CHECK(env.oimap({"-o"}).exit_code == 0);

  env.write_config();
  env.server().stop();
  r = env.oimap({"-o"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("127.0.0.1") != std::string::npos);
  CHECK(r.err.find("refused") != std::string::npos);
  CHECK(maildir_files(env.local_folder("INBOX")) == before);
}

TEST_CASE("UIDVALIDITY change: exit 2, local mail untouched", "[integration]") {
  sync_env env;
  REQUIRE(env.imap().append("INBOX", make_message("v1", "one\r\n"), "\\Seen").ok());
  env.close_imap();
  REQUIRE(env.oimap({"-o"}).exit_code == 0);
  const auto before = maildir_files(env.local_folder("INBOX"));
  auto u =
      env.server().doveadm({"mailbox", "update", "-u", "alice", "--uid-validity", "4242", "INBOX"});
  INFO(u.out << u.err);
  REQUIRE(u.exit_code == 0);
  auto r = env.oimap({"-o"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("UIDVALIDITY") != std::string::npos);
  CHECK(maildir_files(env.local_folder("INBOX")) == before);

  // The way out the message names: move the messages away, run again.
  const auto aside = env.dir() / "aside";
  fs::create_directories(aside);
  for (const auto& [name, path] : before)
    fs::rename(path, aside / name);
  r = env.oimap({"-o"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  require_same(env, "INBOX");
  CHECK(maildir_messages(env.local_folder("INBOX")).size() == 1);
}

TEST_CASE("SIGINT stops a sync cleanly and the next run completes it", "[integration]") {
  sync_env env;
  auto& imap = env.imap();
  for (int i = 0; i < 1500; ++i)
    REQUIRE(
        imap.append("INBOX", make_message("s" + std::to_string(i), std::string(4000, 'z') + "\r\n"))
            .ok());
  env.close_imap();
  env.write_config({}, {}, "fsync = yes\n");
  {
    child run(oimap_argv(env));
    wait_until(run, [&] { return count_files(env.local_folder("INBOX")) >= 1; });
    ::kill(run.pid, SIGINT);
    auto [code, rss] = run.wait();
    CHECK(code == 1); // interrupted: not a success, not a crash
  }
  // Whatever the interrupted run left is consistent: the rerun finishes the job.
  CHECK(resync_inbox(env) == 1500);
}

TEST_CASE("a new local folder, nested, is created on the server, parents first", "[integration]") {
  sync_env env;
  env.write_config({}, "sep = /\n");
  REQUIRE(env.oimap({"-o"}).exit_code == 0);
  const auto nested = env.local_root() / "Projects" / "2026" / "Q4";
  for (const char* sub : {"cur", "new", "tmp"})
    fs::create_directories(nested / sub);
  write_file(nested / "new" / "1700000000.n1.host", lf(make_message("nested-new", "hello\r\n")));
  auto r = env.oimap({"-o"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  auto list = env.imap().command("LIST \"\" \"*\"");
  INFO(list.text());
  CHECK(list.text().find("\".\" Projects.2026.Q4") != std::string::npos);
  CHECK(list.text().find("\".\" Projects\n") != std::string::npos);
  CHECK(list.text().find("\".\" Projects.2026\n") != std::string::npos);
  env.close_imap();
  require_same(env, "Projects.2026.Q4", '/');
  // The parents now exist on both sides; a rerun creates nothing and changes nothing.
  r = env.oimap({"-o"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("created") == std::string::npos);
  CHECK(fs::exists(env.local_root() / "Projects" / "2026" / "cur"));
}

TEST_CASE("the -f option limits the sync to the named folders", "[integration]") {
  sync_env env;
  auto& imap = env.imap();
  REQUIRE(imap.command("CREATE Other").ok());
  REQUIRE(imap.append("INBOX", make_message("in", "x\r\n")).ok());
  REQUIRE(imap.append("Other", make_message("other", "y\r\n")).ok());
  env.close_imap();
  auto r = env.oimap({"-o", "-f", "Other"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(maildir_messages(env.local_folder("Other")).size() == 1);
  CHECK_FALSE(fs::exists(env.local_folder("INBOX")));
}

TEST_CASE("TLS: implicit TLS and STARTTLS verify the server with sslcacertfile",
          "[integration][tls]") {
  sync_env env(dovecot_options{.ssl = true});
  REQUIRE(env.imap().append("INBOX", make_message("tls", "secret mail\r\n")).ok());
  env.close_imap();
  const auto ca = env.server().ca_file().string();
  // The harness's config says ssl = no on the plain port; -k overrides it.
  const auto with = [&](std::vector<std::string> k) {
    std::vector<std::string> args{"-o"};
    for (auto& o : k) {
      args.push_back("-k");
      args.push_back("Repository_TestRemote:" + o);
    }
    return env.oimap(args);
  };
  auto r = with({"ssl=yes", "remoteport=" + std::to_string(env.server().ssl_port()),
                 "sslcacertfile=" + ca, "remotehost=localhost"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  require_same(env, "INBOX");

  r = with({"ssl=no", "starttls=yes", "sslcacertfile=" + ca, "remotehost=127.0.0.1"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);

  // Without the CA the self-signed server is refused, by name.
  r = with({"ssl=yes", "remoteport=" + std::to_string(env.server().ssl_port())});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("certif") != std::string::npos);

  // Its pinned fingerprint (cert_fingerprint, as the openssl CLI shows it)
  // is trust enough without the CA; another one is refused.
  const auto fingerprint =
      run_command({"openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in",
                   (env.server().ca_file().parent_path() / "server.pem").string()});
  REQUIRE(fingerprint.exit_code == 0);
  const auto pin = fingerprint.out.substr(fingerprint.out.find('=') + 1, 95);
  r = with({"ssl=yes", "remoteport=" + std::to_string(env.server().ssl_port()),
            "cert_fingerprint=" + pin});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  r = with({"ssl=yes", "remoteport=" + std::to_string(env.server().ssl_port()),
            "cert_fingerprint=" + std::string(64, 'e')});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("matches no cert_fingerprint") != std::string::npos);
}

TEST_CASE("kill -9 during an initial sync, then rerun: every message exactly once",
          "[integration][crash]") {
  for (std::size_t kill_at : {1u, 60u, 150u}) {
    DYNAMIC_SECTION("killed after " << kill_at << " files") {
      sync_env env;
      auto& imap = env.imap();
      for (int i = 0; i < 200; ++i)
        REQUIRE(imap.append("INBOX", make_message("k" + std::to_string(i),
                                                  std::string(2000 + i * 37, 'x') + "\r\n"))
                    .ok());
      env.close_imap();
      {
        child run(oimap_argv(env));
        wait_until(run, [&] { return count_files(env.local_folder("INBOX")) >= kill_at; });
        ::kill(run.pid, SIGKILL);
        run.wait();
      }
      wait_for_server_to_drop_clients(env);
      CHECK(resync_inbox(env) == 200);
    }
  }
}

TEST_CASE("a message the server refuses does not hold back the rest of its upload",
          "[integration]") {
  sync_env env;
  REQUIRE(env.oimap({"-o"}).exit_code == 0);
  // Uploaded together (MULTIAPPEND), Dovecot refuses them all for the empty
  // file; sent again one by one, only that one stays behind, with a warning.
  const auto inbox = env.local_folder("INBOX");
  for (int i = 0; i < 4; ++i)
    write_file(inbox / "new" / ("1700000000.M" + std::to_string(i) + ".h"),
               lf(make_message("up" + std::to_string(i), "upload " + std::to_string(i) + "\r\n")));
  write_file(inbox / "new" / "1700000000.Mempty.h", "");
  auto r = env.oimap({"-o", "-d", "imap"});
  INFO(r.out << r.err.substr(0, 6000));
  CHECK(r.err.find("1700000000.Mempty.h") != std::string::npos);
  CHECK(r.err.find("refused") != std::string::npos);
  CHECK(occurrences(r.err, " APPEND INBOX") == 1 + 5); // together, then each on its own
  auto server = maildir_messages(env.server_folder("INBOX"));
  CHECK(server.size() == 4);
  // The next run uploads nothing twice.
  r = env.oimap({"-o"});
  INFO(r.out << r.err);
  CHECK(maildir_messages(env.server_folder("INBOX")).size() == 4);
  CHECK(maildir_messages(inbox).size() == 5);
}

TEST_CASE("pythonfile, remotepasseval and each side's folderfilter, as OfflineIMAP evaluates "
          "them",
          "[integration]") {
  sync_env env;
  seed_folders(env, {"Keep", "Skip", "INBOX"});
  env.close_imap();
  const auto helpers = env.dir() / "helpers.py";
  write_file(helpers, "def password():\n"
                      "    return 'p' + 'w'\n"
                      "def wanted(folder):\n"
                      "    return folder != 'Skip'\n");
  // Only here, and the server's password is not in the config.
  fs::create_directories(env.local_folder("LocalOnly") / "cur");
  fs::create_directories(env.local_folder("LocalOnly") / "new");
  fs::create_directories(env.local_folder("LocalOnly") / "tmp");
  env.write_config("folderfilter = wanted\nremotepasseval = password()\n",
                   "folderfilter = lambda f: f != 'LocalOnly'\n",
                   "pythonfile = " + helpers.string() + "\n", "wrong");

  auto r = env.oimap({"-o"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  require_same(env, "INBOX");
  require_same(env, "Keep");
  CHECK_FALSE(fs::exists(env.local_folder("Skip")));
  CHECK_FALSE(fs::exists(env.server_folder("LocalOnly")));

  // A filter that fails names its repository and Python's exception.
  env.write_config("folderfilter = lambda f: f.nosuchmethod()\nremotepasseval = password()\n", {},
                   "pythonfile = " + helpers.string() + "\n", "wrong");
  r = env.oimap({"-o"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("repository 'TestRemote': folderfilter: 'lambda f: f.nosuchmethod()' failed: "
                   "AttributeError")
        != std::string::npos);

  // folderincludes: synced whatever the filter says; one the server does not
  // have fails alone.
  env.write_config("folderfilter = wanted\nremotepasseval = password()\n"
                   "folderincludes = ['Skip'] + extra\n",
                   {}, "pythonfile = " + helpers.string() + "\n", "wrong");
  write_file(helpers, read_file(helpers) + "extra = []\n");
  r = env.oimap({"-o"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  require_same(env, "Skip");
  write_file(helpers, read_file(helpers) + "extra = ['Ghost']\n");
  r = env.oimap({"-o"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("folderincludes names 'Ghost', which the server cannot select")
        != std::string::npos);
  CHECK_FALSE(fs::exists(env.local_folder("Ghost")));
  require_same(env, "Keep");
}

TEST_CASE("autorefresh: SIGUSR1 syncs at once, SIGUSR2 ends the run after the round",
          "[integration]") {
  sync_env env;
  REQUIRE(env.imap().append("INBOX", make_message("r1", "x\r\n")).ok());
  env.close_imap();
  // A round every 10 minutes: only a signal can bring the next one within
  // the deadlines below.
  child run(
      {oimap_binary().string(), "-c", env.config().string(), "-k", "Account_Test:autorefresh=10"});
  const auto inbox_holds = [&](std::size_t n) {
    return [&env, n] {
      return fs::exists(env.local_folder("INBOX") / "cur")
             && maildir_messages(env.local_folder("INBOX")).size() == n;
    };
  };
  REQUIRE(wait_until(run, inbox_holds(1)));
  REQUIRE(env.imap().append("INBOX", make_message("r2", "x\r\n")).ok());
  env.close_imap();
  ::kill(run.pid, SIGUSR1);
  CHECK(wait_until(run, inbox_holds(2)));

  ::kill(run.pid, SIGUSR2);
  int status = -1;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline)
    if (::waitpid(run.pid, &status, WNOHANG) == run.pid) {
      run.pid = -1;
      break;
    } else {
      std::this_thread::yield();
    }
  REQUIRE(run.pid == -1); // it ended
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("mbnames: the mailbox list is written from every account's record, as OfflineIMAP",
          "[integration]") {
  sync_env env;
  REQUIRE(env.imap().command("CREATE Lists.dev").ok());
  env.close_imap();
  // Another account's record, as OfflineIMAP left it (not synced in this run).
  fs::create_directories(env.metadata() / "mbnames");
  write_file(env.metadata() / "mbnames" / "Other.json",
             R"([{"accountname": "Other", "foldername": "Archive", "localfolders": "/x"}])");
  const auto list = env.dir() / "muttrc.mailboxes";
  const auto mbnames = [&](const std::string& extra) {
    return "\n[mbnames]\nenabled = yes\nfilename = " + list.string()
           + "\nheader = \"mailboxes \"\nperitem = +%(accountname)s/%(foldername)s\n"
             "sep = \" \"\nfooter = \"\\n\"\n"
           + extra;
  };
  env.write_config({}, {}, mbnames(""));
  auto r = env.oimap({"-o"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(read_file(list) == "mailboxes +Other/Archive +Test/INBOX +Test/Lists.dev\n");
  CHECK(read_file(env.metadata() / "mbnames" / "Test.json").find(env.local_root().string())
        != std::string::npos);

  env.write_config({}, {}, mbnames("folderfilter = lambda a, f: f != 'Lists.dev'\n"));
  r = env.oimap({"-o"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(read_file(list) == "mailboxes +Other/Archive +Test/INBOX\n");

  env.write_config({}, {}, "\n[mbnames]\nenabled = yes\nfilename = " + list.string() + "\n");
  r = env.oimap({"-o"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("[mbnames]: 'header' is required when enabled = yes") != std::string::npos);
}

TEST_CASE("restoreatime: new/ and cur/ keep their access times through a sync", "[integration]") {
  sync_env env;
  REQUIRE(env.imap().append("INBOX", make_message("a1", "x\r\n")).ok());
  env.close_imap();
  REQUIRE(env.oimap({"-o"}).exit_code == 0);
  const auto inbox = env.local_folder("INBOX");
  // Access times from long ago, older than the directories' changes: a
  // relatime file system (as here) moves them when a sync reads the folder.
  const auto age = [&] {
    const timespec old[2] = {{1000000000, 0}, {0, UTIME_OMIT}};
    for (const char* sub : {"new", "cur"})
      REQUIRE(::utimensat(AT_FDCWD, (inbox / sub).c_str(), old, 0) == 0);
  };
  const auto atime = [&](const char* sub) {
    struct stat st;
    REQUIRE(::stat((inbox / sub).c_str(), &st) == 0);
    return st.st_atim.tv_sec;
  };
  const auto sync_new_mail = [&](const std::string& id, const std::vector<std::string>& args) {
    REQUIRE(env.imap().append("INBOX", make_message(id, "y\r\n")).ok());
    env.close_imap();
    auto r = env.oimap(args);
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
  };

  age();
  sync_new_mail("a2", {"-o"});
  const bool file_system_moves_atime = atime("new") != 1000000000 || atime("cur") != 1000000000;
  if (!file_system_moves_atime)
    WARN("this file system keeps access times (noatime): restoreatime shows nothing here");

  age();
  sync_new_mail("a3", {"-o", "-k", "Repository_TestLocal:restoreatime=yes"});
  CHECK(atime("new") == 1000000000);
  CHECK(atime("cur") == 1000000000);
  CHECK(maildir_messages(inbox).size() == 3);
}

TEST_CASE("utime_from_header and filename_use_mail_timestamp take the Date: header's time",
          "[integration]") {
  sync_env env;
  auto& imap = env.imap();
  // The second is big enough to come in several pieces; the third has no date.
  REQUIRE(imap.append("INBOX", "Date: Tue, 3 Jun 2008 13:05:30 +0200\r\nSubject: a\r\n"
                               "Message-ID: <d1@x>\r\n\r\nbody\r\n")
              .ok());
  REQUIRE(imap.append("INBOX", "Subject: b\r\nMessage-ID: <d2@x>\r\nDate: 1 Jan 2020 00:00:00 GMT"
                               "\r\n\r\n"
                                   + std::string(300000, 'x') + "\r\n")
              .ok());
  REQUIRE(imap.append("INBOX", "Subject: c\r\nMessage-ID: <d3@x>\r\n\r\nno date\r\n").ok());
  env.close_imap();
  env.write_config({}, "utime_from_header = yes\nfilename_use_mail_timestamp = yes\n");
  auto r = env.oimap({"-o"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  std::map<std::string, std::int64_t> mtime_of; // by Subject
  std::map<std::string, std::string> name_of;
  for (const auto& [name, path] : maildir_files(env.local_folder("INBOX"))) {
    struct stat st;
    REQUIRE(::stat(path.c_str(), &st) == 0);
    const auto text = read_file(path);
    const auto subject = text.substr(text.find("Subject: ") + 9, 1);
    mtime_of[subject] = st.st_mtim.tv_sec;
    name_of[subject] = name;
  }
  REQUIRE(mtime_of.size() == 3);
  CHECK(mtime_of["a"] == 1212491130);
  CHECK(mtime_of["b"] == 1577836800);
  CHECK(mtime_of["c"] > 1577836800); // no date: the time it was written
  // filename_use_mail_timestamp: the same times begin the names.
  CHECK(name_of["a"].rfind("1212491130_", 0) == 0);
  CHECK(name_of["b"].rfind("1577836800_", 0) == 0);
  CHECK(name_of["c"].rfind("15", 0) != 0);
}

TEST_CASE("a status database lost or moved aside is rebuilt, nothing copied twice",
          "[integration]") {
  sync_env env;
  seed_inbox_and_sync(env, 20);
  // Changes on both sides since, then the status is gone.
  REQUIRE(env.imap().append("INBOX", make_message("later-remote", "r\r\n")).ok());
  env.close_imap();
  write_file(env.local_folder("INBOX") / "new" / "1700000000.L1.h",
             lf(make_message("later-local", "l\r\n")));
  fs::remove_all(env.metadata());
  CHECK(resync_inbox(env) == 22);
  // And the rebuilt status serves the next run: nothing to do.
  auto r = env.oimap({"-o"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(maildir_messages(env.server_folder("INBOX")).size() == 22);
}

TEST_CASE("newmail_hook is called when new mail came down to INBOX, as in OfflineIMAP",
          "[integration]") {
  sync_env env;
  REQUIRE(env.imap().command("CREATE Other").ok());
  REQUIRE(env.imap().command("CREATE Quiet").ok());
  env.close_imap();
  const auto calls = env.dir() / "calls.log";
  const auto helpers = env.dir() / "helpers.py";
  write_file(helpers, "def notify():\n    open('" + calls.string() + "', 'a').write('new\\n')\n");
  env.write_config("newmail_hook = notify\n", {}, "pythonfile = " + helpers.string() + "\n");
  REQUIRE(env.oimap({"-o"}).exit_code == 0); // empty folders: nothing new
  CHECK_FALSE(fs::exists(calls));

  // New mail in another folder only: not called (OfflineIMAP's hook is INBOX's).
  REQUIRE(env.imap().append("Other", make_message("Other1", "x\r\n")).ok());
  env.close_imap();
  REQUIRE(env.oimap({"-o"}).exit_code == 0);
  CHECK_FALSE(fs::exists(calls));
  for (const std::string f : {"INBOX", "Other"})
    REQUIRE(env.imap().append(f, make_message(f + "2", "x\r\n")).ok());
  env.close_imap();
  auto r = env.oimap({"-o"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(read_file(calls) == "new\n");
  // Nothing new: not called; nor for mail already read elsewhere (\Seen).
  REQUIRE(env.oimap({"-o"}).exit_code == 0);
  CHECK(read_file(calls) == "new\n");
  REQUIRE(env.imap().append("INBOX", make_message("read", "x\r\n"), "\\Seen").ok());
  env.close_imap();
  REQUIRE(env.oimap({"-o"}).exit_code == 0);
  CHECK(maildir_messages(env.local_folder("INBOX")).size() == 2);
  CHECK(read_file(calls) == "new\n");
}

TEST_CASE("subscribedonly: only the folders the user subscribed to sync", "[integration]") {
  sync_env env;
  seed_folders(env, {"Subscribed", "Other"});
  REQUIRE(env.imap().command("SUBSCRIBE INBOX").ok());
  REQUIRE(env.imap().command("SUBSCRIBE Subscribed").ok());
  env.close_imap();
  env.write_config("subscribedonly = yes\n");
  auto r = env.oimap({"-o"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  require_same(env, "Subscribed");
  CHECK_FALSE(fs::exists(env.local_folder("Other")));

  // Here but not subscribed there: left alone, not created on the server again.
  fs::create_directories(env.local_folder("Other") / "cur");
  fs::create_directories(env.local_folder("Other") / "new");
  fs::create_directories(env.local_folder("Other") / "tmp");
  r = env.oimap({"-o", "-d", "imap"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("CREATE Other") == std::string::npos);
  CHECK(maildir_messages(env.local_folder("Other")).empty());
}

TEST_CASE("with no password in the config, ~/.netrc's entry for the host logs in",
          "[integration]") {
  sync_env env;
  REQUIRE(env.imap().append("INBOX", make_message("n1", "x\r\n")).ok());
  env.close_imap();
  env.write_config();
  auto config = read_file(env.config());
  config.replace(config.find("remotepass = pw\n"), 16, "");
  write_file(env.config(), config);
  const auto home = env.dir() / "home";
  fs::create_directories(home);
  write_file(home / ".netrc", "machine 127.0.0.1 login alice password pw\n");
  fs::permissions(home / ".netrc", fs::perms::owner_read | fs::perms::owner_write);
  const std::vector<std::string> argv{oimap_binary().string(), "-c", env.config().string(), "-o"};

  auto r = run_command(argv, {{"HOME", home.string()}}, 120s);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  require_same(env, "INBOX");

  // Readable by others: not used, and said so.
  fs::permissions(home / ".netrc", fs::perms::others_read, fs::perm_options::add);
  r = run_command(argv, {{"HOME", home.string()}}, 120s);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find(".netrc may be read by others") != std::string::npos);
}

// oimap with a pseudo-terminal as its controlling terminal and its output,
// as a user at a terminal runs it (HOME without a .netrc).
class on_terminal {
public:
  on_terminal(const std::vector<std::string>& args, const fs::path& home) {
    int slave = -1;
    REQUIRE(::openpty(&master_, &slave, nullptr, nullptr, nullptr) == 0);
    // Everything for the child is made before fork().
    const std::string home_var = "HOME=" + home.string();
    std::vector<std::string> copy = args;
    std::vector<char*> argv;
    for (auto& a : copy)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp{const_cast<char*>(home_var.c_str()), nullptr};
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setsid();
      ::ioctl(slave, TIOCSCTTY, 0);
      ::dup2(slave, 0);
      ::dup2(slave, 1);
      ::dup2(slave, 2);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(slave);
  }
  ~on_terminal() {
    ::close(master_);
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  on_terminal(const on_terminal&) = delete;
  on_terminal& operator=(const on_terminal&) = delete;

  // Reads the screen until it shows `text` `times` times in all, or the
  // process ends, or 60 s pass; whether it does.
  bool shows(const std::string& text, std::size_t times = 1) {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (occurrences(screen, text) < times && std::chrono::steady_clock::now() < deadline) {
      pollfd p{master_, POLLIN, 0};
      if (::poll(&p, 1, 100) > 0) {
        char buf[4096];
        const ssize_t n = ::read(master_, buf, sizeof buf);
        if (n > 0)
          screen.append(buf, static_cast<std::size_t>(n));
        else if (pid_ < 0)
          break;
      } else if (pid_ < 0) {
        break;
      }
      if (pid_ > 0 && ::waitpid(pid_, &status_, WNOHANG) == pid_)
        pid_ = -1;
    }
    return occurrences(screen, text) >= times;
  }
  void type(const std::string& keys) {
    REQUIRE(::write(master_, keys.data(), keys.size()) == static_cast<ssize_t>(keys.size()));
  }
  void signal(int sig) { ::kill(pid_, sig); }
  // The exit status once it ends (60 s at most), or -1.
  int exit_code() {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (pid_ > 0 && std::chrono::steady_clock::now() < deadline) {
      shows("\x01never\x01"); // drains the screen until the end or the deadline
      if (pid_ > 0 && ::waitpid(pid_, &status_, WNOHANG) == pid_)
        pid_ = -1;
    }
    return pid_ < 0 && WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
  }

  std::string screen;

private:
  int master_ = -1;
  pid_t pid_ = -1;
  int status_ = 0;
};

// The harness's config without its remotepass line.
void forget_password(sync_env& env) {
  auto config = read_file(env.config());
  config.replace(config.find("remotepass = pw\n"), 16, "");
  write_file(env.config(), config);
}

TEST_CASE("with no password anywhere, the terminal is asked, once for every connection",
          "[integration]") {
  sync_env env;
  auto& imap = env.imap();
  REQUIRE(imap.command("CREATE Other").ok());
  for (const std::string f : {"INBOX", "Other"})
    for (int i = 0; i < 20; ++i)
      REQUIRE(imap.append(f, make_message(f + std::to_string(i), "x\r\n")).ok());
  env.close_imap();
  env.write_config("maxconnections = 2\n");
  forget_password(env);

  on_terminal run({oimap_binary().string(), "-c", env.config().string(), "-o", "-d", "imap"},
                  env.dir());
  REQUIRE(run.shows("Password for alice on 127.0.0.1"));
  run.type("pw\n");
  const int code = run.exit_code();
  INFO(run.screen);
  CHECK(code == 0);
  CHECK(occurrences(run.screen, "Password for") == 1);
  CHECK(occurrences(run.screen, "AUTHENTICATE PLAIN <redacted>") == 2); // two logins, one question
  CHECK(run.screen.find("pw\r\n") == std::string::npos);                // never echoed
  require_same(env, "INBOX");
  require_same(env, "Other");
}

TEST_CASE("a password the server refused is asked again at the next login", "[integration]") {
  sync_env env;
  REQUIRE(env.imap().append("INBOX", make_message("t1", "x\r\n")).ok());
  env.close_imap();
  env.write_config();
  forget_password(env);
  // Rounds every 10 minutes: SIGUSR1 brings the second at once.
  on_terminal run(
      {oimap_binary().string(), "-c", env.config().string(), "-k", "Account_Test:autorefresh=10"},
      env.dir());
  REQUIRE(run.shows("Password for alice"));
  run.type("typo\n");
  REQUIRE(run.shows("ERROR"));
  run.signal(SIGUSR1);
  REQUIRE(run.shows("Password for alice", 2));
  run.type("pw\n");
  REQUIRE(run.shows("Finished account Test", 2));
  run.signal(SIGUSR2);
  INFO(run.screen);
  CHECK(run.exit_code() >= 0);
  require_same(env, "INBOX");
}

TEST_CASE("presynchook runs before anything, postsynchook after the sync, each told the mode",
          "[integration]") {
  sync_env env;
  REQUIRE(env.imap().append("INBOX", make_message("h1", "x\r\n")).ok());
  env.close_imap();
  const auto log = (env.dir() / "hooks.log").string();
  const auto inbox = env.local_folder("INBOX").string();
  const auto messages = "$(find " + inbox + "/cur " + inbox + "/new -type f 2>/dev/null | wc -l)";
  // Connections established to the server as the presynchook runs: none,
  // as it may be what makes the server reachable (an ssh tunnel).
  char server[32];
  std::snprintf(server, sizeof server, "0100007F:%04X", env.server().port());
  const std::string connections =
      std::string("$(awk '$3 == \"") + server + "\" && $4 == \"01\"' /proc/net/tcp | wc -l)";
  const std::vector<std::string> hooks{
      "-k",
      "Account_Test:presynchook=echo pre $OFFLINEIMAPSYNCMODE " + messages + " " + connections
          + " >> " + log + "; echo said-pre",
      "-k", "Account_Test:postsynchook=echo post $OFFLINEIMAPSYNCMODE " + messages + " >> " + log};
  const auto run = [&](std::vector<std::string> args) {
    args.insert(args.end(), hooks.begin(), hooks.end());
    return env.oimap(args);
  };

  auto r = run({"-o"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("presynchook: said-pre") != std::string::npos);
  r = run({"-o", "-q"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(read_file(log) == "pre full 0 0\npost full 1\npre quick 1 0\npost quick 1\n");

  // A hook that fails is a warning with what it said; the sync still counts.
  r = env.oimap({"-o", "-u", "quiet", "-k", "Account_Test:postsynchook=echo broken; exit 7"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("postsynchook exited with status 7: broken") != std::string::npos);
}

TEST_CASE("a folder that cannot be created here fails alone while the others sync",
          "[integration]") {
  sync_env env;
  seed_folders(env, {"Blocked", "Other", "INBOX"});
  env.close_imap();
  // A file where the new folder's tmp/ must go.
  const auto blocked = env.local_folder("Blocked");
  fs::create_directories(blocked);
  write_file(blocked / "tmp", "in the way\n");

  auto r = env.oimap({"-o"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find(":Blocked: cannot create directory " + (blocked / "tmp").string())
        != std::string::npos);
  require_same(env, "INBOX");
  require_same(env, "Other");

  fs::remove(blocked / "tmp");
  r = env.oimap({"-o"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  require_same(env, "Blocked");
}

TEST_CASE("a message that cannot be written here fails its folder alone, and the rerun with room "
          "completes",
          "[integration]") {
  sync_env env;
  // One connection: whichever folder comes after the failed one gets what
  // that left in the pool.
  env.write_config("maxconnections = 1\n");
  auto& imap = env.imap();
  const std::vector<std::string> folders{"Alpha", "Big", "Gamma", "INBOX", "Omega"};
  for (const auto& f : folders) {
    if (f != "INBOX")
      REQUIRE(imap.command("CREATE " + f).ok());
    for (int i = 0; i < 3; ++i)
      REQUIRE(imap.append(f, make_message(f + std::to_string(i), "small\r\n")).ok());
  }
  std::string big_body;
  for (int i = 0; i < 20000; ++i)
    big_body += "a line of a large attachment, written out to make it big\r\n";
  REQUIRE(imap.append("Big", make_message("big", big_body)).ok());
  env.close_imap();

  // A file size limit fails the big message's write as a full disk would
  // (with SIGXFSZ ignored, write() reports EFBIG); everything else is small.
  const std::string limited = "ulimit -f 256 && trap '' XFSZ && exec \"$0\" \"$@\"";
  auto r = run_command(
      {"sh", "-c", limited, oimap_binary().string(), "-c", env.config().string(), "-o"}, {}, 120s);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find(env.local_folder("Big").string() + "/tmp/") != std::string::npos);
  CHECK(r.err.find("File too large") != std::string::npos);
  CHECK(r.err.find("unusable") == std::string::npos);
  for (const auto& f : folders)
    if (f != "Big")
      require_same(env, f);
  CHECK(fs::is_empty(env.local_folder("Big") / "tmp"));

  resync_inbox(env);
  for (const auto& f : folders)
    require_same(env, f);
}

TEST_CASE("kill -9 during a two-way sync with uploads, then rerun: exactly once each side",
          "[integration][crash]") {
  for (std::size_t kill_at : {1u, 40u, 90u}) {
    DYNAMIC_SECTION("killed after " << kill_at << " uploads") {
      sync_env env;
      auto& imap = env.imap();
      for (int i = 0; i < 50; ++i)
        REQUIRE(imap.append("INBOX", make_message("r" + std::to_string(i), "remote\r\n")).ok());
      env.close_imap();
      REQUIRE(env.oimap({"-o"}).exit_code == 0);
      for (int i = 0; i < 120; ++i)
        write_file(env.local_folder("INBOX") / "new" / ("1700000000.L" + std::to_string(i) + ".h"),
                   lf(make_message("l" + std::to_string(i), std::string(3000, 'y') + "\r\n")));
      REQUIRE(env.imap().append("INBOX", make_message("r-late", "late\r\n")).ok());
      env.close_imap();
      {
        child run(oimap_argv(env));
        wait_until(run, [&] { return count_files(env.server_folder("INBOX")) >= 51 + kill_at; });
        ::kill(run.pid, SIGKILL);
        run.wait();
      }
      wait_for_server_to_drop_clients(env);
      auto r = env.oimap({"-o"});
      INFO(r.out << r.err);
      REQUIRE(r.exit_code == 0);
      require_same(env, "INBOX");
      auto msgs = maildir_messages(env.server_folder("INBOX"));
      CHECK(msgs.size() == 171);
      std::set<std::string> unique;
      for (const auto& m : msgs)
        unique.insert(m.body);
      CHECK(unique.size() == msgs.size());
    }
  }
}

TEST_CASE("config errors name the file and line and exit 1", "[integration]") {
  sync_env env;
  write_file(env.config(), "[general]\naccounts = Test\nthis line has no delimiter\n");
  auto r = env.oimap({"-o"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find(env.config().string() + ":3") != std::string::npos);

  // An option oimap does not act on: refused where ignoring it would sync
  // another mailbox, else a warning naming its line, and the sync.
  env.write_config();
  r = env.oimap({"-o", "-k", "Repository_TestRemote:reference=Mail"});
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("option 'reference' is not supported") != std::string::npos);
  CHECK_FALSE(fs::exists(env.local_root()));
  // A proxy that is not one is a config error naming the line.
  r = env.oimap({"-o", "-k", "Account_Test:proxy=SOCKS4:localhost:9050"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("SOCKS4 is not supported") != std::string::npos);
  r = env.oimap({"-o", "-k", "Repository_TestRemote:idlefolders=['INBOX']"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("WARNING: command line (-k Repository_TestRemote:idlefolders): repository "
                   "'TestRemote': option 'idlefolders' is not supported")
        != std::string::npos);

  r = run_command({oimap_binary().string(), "-c", (env.dir() / "missing").string(), "-o"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("missing") != std::string::npos);

  r = run_command({oimap_binary().string(), "--no-such-option"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("usage") != std::string::npos);
}

TEST_CASE("the -k option overrides settings, -l writes a 0600 log", "[integration]") {
  sync_env env;
  REQUIRE(env.imap().append("INBOX", make_message("k", "x\r\n")).ok());
  env.close_imap();
  env.write_config({}, {}, {}, "wrong");
  const auto log = env.dir() / "oimap.log";
  auto r = env.oimap({"-o", "-k", "Repository_TestRemote:remotepass=pw", "-l", log.string()});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  require_same(env, "INBOX");
  REQUIRE(fs::exists(log));
  CHECK((fs::status(log).permissions() & fs::perms::all)
        == (fs::perms::owner_read | fs::perms::owner_write));
  CHECK(read_file(log).find("Finished account Test") != std::string::npos);
}

TEST_CASE("an unchanged folder is skipped without SELECT, and a change right after is still seen",
          "[integration]") {
  sync_env env;
  auto& imap = env.imap();
  for (int i = 0; i < 5; ++i)
    REQUIRE(imap.append("INBOX", make_message("q" + std::to_string(i), "x\r\n")).ok());
  env.close_imap();
  REQUIRE(env.oimap({"-o"}).exit_code == 0);

  auto r = env.oimap({"-o", "-d", "imap"});
  INFO(r.err.substr(0, 3000));
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("STATUS") != std::string::npos);
  CHECK(r.err.find(" SELECT ") == std::string::npos);
  CHECK(r.err.find(" FETCH ") == std::string::npos);

  // Immediately (same clock tick, likely) mark a message read locally.
  const auto inbox = env.local_folder("INBOX");
  auto files = maildir_files(inbox);
  REQUIRE(!files.empty());
  const auto& [name, path] = *files.begin();
  fs::rename(path, inbox / "cur" / (name.substr(0, name.find(":2,")) + ":2,S"));
  r = env.oimap({"-o"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  require_same(env, "INBOX");
  auto server = maildir_messages(env.server_folder("INBOX"));
  CHECK(std::count_if(server.begin(), server.end(),
                      [](const message_view& m) { return m.flags == "S"; })
        == 1);
}

TEST_CASE("server changes come with the QRESYNC SELECT, expunges as VANISHED, no flag listing",
          "[integration]") {
  sync_env env;
  seed_inbox_and_sync(env, 6);

  // Listing every flag would be "UID FETCH 1:* (UID FLAGS...)" without CHANGEDSINCE.
  auto full_listings = [](const std::string& trace) {
    std::size_t n = 0;
    for (std::size_t pos = 0; (pos = trace.find("FETCH 1:* (UID FLAGS", pos)) != std::string::npos;
         ++pos) {
      const auto eol = trace.find('\n', pos);
      n += trace.substr(pos, eol - pos).find("CHANGEDSINCE") == std::string::npos;
    }
    return n;
  };

  auto& s = env.imap();
  REQUIRE(s.command("SELECT INBOX").ok());
  REQUIRE(s.command("UID STORE 3 +FLAGS (\\Flagged)").ok());
  REQUIRE(s.append("INBOX", make_message("m7", "new\r\n"), "\\Seen").ok());
  env.close_imap();
  auto r = env.oimap({"-o", "-d", "imap"});
  INFO(r.err.substr(0, 4000));
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("QRESYNC (") != std::string::npos);
  CHECK(full_listings(r.err) == 0);
  require_same(env, "INBOX");
  CHECK(maildir_messages(env.local_folder("INBOX")).size() == 7);

  auto& t = env.imap();
  REQUIRE(t.command("SELECT INBOX").ok());
  REQUIRE(t.command("UID STORE 5 +FLAGS (\\Deleted)").ok());
  REQUIRE(t.command("EXPUNGE").ok());
  REQUIRE(t.command("UID STORE 1 +FLAGS (\\Answered)").ok());
  env.close_imap();
  r = env.oimap({"-o", "-d", "imap"});
  INFO(r.err.substr(0, 4000));
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("VANISHED") != std::string::npos);
  CHECK(full_listings(r.err) == 0);
  require_same(env, "INBOX");
  CHECK(maildir_messages(env.local_folder("INBOX")).size() == 6);
}

TEST_CASE("only the server changed a big folder: its changes are applied without a scan",
          "[integration]") {
  sync_env env;
  seed_big_inbox_and_sync(env, 5);
  require_same(env, "INBOX");

  auto& s = env.imap();
  REQUIRE(s.command("SELECT INBOX").ok());
  REQUIRE(s.command("UID STORE 3 +FLAGS (\\Flagged)").ok());
  REQUIRE(s.command("UID STORE 10 -FLAGS (\\Seen)").ok());
  REQUIRE(s.command("UID STORE 20 +FLAGS (\\Deleted)").ok());
  REQUIRE(s.command("EXPUNGE").ok());
  REQUIRE(s.append("INBOX", make_message("fresh", "new on the server\r\n"), "\\Seen").ok());
  env.close_imap();

  // A file the sync cannot know of without listing the folder: dropped in,
  // with the directory's stamp put back as the last sync sealed it.
  const fs::path new_dir = env.local_folder("INBOX") / "new";
  folder_stamps sealed(env.local_folder("INBOX"));
  write_file(new_dir / "1700000000.foreign.host", lf(make_message("foreign", "hidden\r\n")));
  sealed.restore();

  auto r = env.oimap({"-o"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  // Every server change arrived; the hidden file was not seen, so not uploaded.
  auto server = maildir_messages(env.server_folder("INBOX"));
  auto local = maildir_messages(env.local_folder("INBOX"));
  CHECK(server.size() == 1100);
  REQUIRE(local.size() == 1101);
  std::erase_if(local,
                [](const message_view& m) { return m.body.find("hidden") != std::string::npos; });
  CHECK(local == server);

  // Once the folder's stamp moves, the next sync lists it and takes the file up.
  REQUIRE(::utimensat(AT_FDCWD, new_dir.c_str(), nullptr, 0) == 0);
  REQUIRE(env.oimap({"-o"}).exit_code == 0);
  require_same(env, "INBOX");
  CHECK(maildir_messages(env.server_folder("INBOX")).size() == 1101);
}

TEST_CASE("a big folder's own uploads are known when only the server changes next",
          "[integration]") {
  sync_env env;
  seed_big_inbox_and_sync(env, 6);
  // A message written here goes up; its UID lies beyond the UIDNEXT the
  // sync recorded, and the server reports it as changed next time.
  write_file(env.local_folder("INBOX") / "new" / "1700000000.local.host",
             lf(make_message("uploaded", "from here\r\n")));
  REQUIRE(env.oimap({"-o"}).exit_code == 0);
  REQUIRE(maildir_messages(env.server_folder("INBOX")).size() == 1101);

  auto& s = env.imap();
  REQUIRE(s.command("SELECT INBOX").ok());
  REQUIRE(s.append("INBOX", make_message("fresh", "new on the server\r\n")).ok());
  env.close_imap();
  CHECK(resync_inbox(env) == 1102);
}

TEST_CASE("a folder examined as unchanged is selected again when a change must go up",
          "[integration]") {
  sync_env env;
  seed_inbox_and_sync(env, 3);

  // A flag change made here, behind the stamp the last sync sealed: the
  // sync takes the folder for unchanged (EXAMINE), yet its scan finds the
  // change, which must reach the server.
  const fs::path folder = env.local_folder("INBOX");
  folder_stamps sealed(folder);
  auto files = maildir_files(folder);
  REQUIRE(files.size() == 3);
  const fs::path from = files.begin()->second;
  fs::rename(from, folder / "cur" / (from.filename().string() + "S"));
  sealed.restore();
  // And one on the server, so that the folder is synced at all.
  auto& s = env.imap();
  REQUIRE(s.command("SELECT INBOX").ok());
  REQUIRE(s.command("UID STORE 3 +FLAGS (\\Flagged)").ok());
  env.close_imap();

  auto r = env.oimap({"-o", "-d", "imap"});
  INFO(r.err.substr(0, 4000));
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("EXAMINE INBOX") != std::string::npos);
  CHECK(r.err.find("SELECT INBOX") != std::string::npos);
  require_same(env, "INBOX");
}

TEST_CASE("many folders: the STATUS round is shared by two connections", "[integration]") {
  sync_env env;
  env.write_config("maxconnections = 3\n");
  auto r = resync_after_one_new_message(env, "folders=20,messages=2,seed=9", true);
  INFO(r.err.substr(0, 6000));
  REQUIRE(r.exit_code == 0);
  auto count = [&](const std::string& what, std::size_t until = std::string::npos) {
    return occurrences(r.err, what, until);
  };
  // Both connections logged in during the setup and shared the STATUS
  // round (each numbers its own tags, so a tag seen twice among the STATUS
  // commands means two connections), each folder was asked about once, and
  // only the changed one was synced.
  const auto first_select = std::min(r.err.find(" SELECT "), r.err.find(" EXAMINE "));
  REQUIRE(first_select != std::string::npos);
  CHECK(count("AUTHENTICATE PLAIN", first_select) == 2);
  CHECK(count(" STATUS ") - count("* STATUS ") == 20);
  CHECK(count("* STATUS ") == 20);
  std::istringstream lines(r.err);
  std::set<std::string> tags;
  std::size_t asked = 0;
  for (std::string line; std::getline(lines, line);)
    if (auto at = line.find(" > A");
        at != std::string::npos && line.find(" STATUS ", at) != std::string::npos) {
      ++asked;
      tags.insert(line.substr(at + 3, line.find(' ', at + 3) - at - 3));
    }
  CHECK(asked == 20);
  CHECK(tags.size() < asked);
  CHECK(count(" SELECT ") + count(" EXAMINE ") == 1);
  for (const auto& e : fs::directory_iterator(env.local_root()))
    require_same(env, e.path().filename().string());
}

TEST_CASE("a first sync fetches each folder's bodies in the SELECT's round trip", "[integration]") {
  sync_env env;
  env.server().fill("alice", "folders=3,messages=4,seed=5");
  REQUIRE(env.imap().command("CREATE Empty").ok());
  env.close_imap();
  auto r = env.oimap({"-o", "-d", "imap"});
  INFO(r.err.substr(0, 6000));
  REQUIRE(r.exit_code == 0);
  // Each EXAMINE (a first sync only reads) is followed by its UID FETCH 1:*
  // before any reply: sent in one go. The empty folder too (an empty answer).
  std::size_t selects = 0;
  std::istringstream lines(r.err);
  std::string line, previous;
  while (std::getline(lines, line)) {
    if (line.find(" UID FETCH 1:* (UID FLAGS BODY.PEEK[])") != std::string::npos) {
      CHECK(previous.find(" > ") != std::string::npos);
      CHECK(previous.find(" EXAMINE ") != std::string::npos);
      ++selects;
    }
    previous = line;
  }
  CHECK(selects == 4);
  for (const auto& e : fs::directory_iterator(env.local_root()))
    require_same(env, e.path().filename().string());
  CHECK(maildir_messages(env.local_folder("Empty")).empty());
  // And the next run finds nothing to do.
  r = env.oimap({"-o", "-d", "imap"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find(" SELECT ") == std::string::npos);
}

TEST_CASE("few folders: the listing brings their STATUS (LIST-STATUS)", "[integration]") {
  sync_env env;
  auto r = resync_after_one_new_message(env, "folders=5,messages=3,seed=4");
  INFO(r.err.substr(0, 6000));
  REQUIRE(r.exit_code == 0);
  auto count = [&](const std::string& what) { return occurrences(r.err, what); };
  // One command lists and asks; the unchanged folders are skipped on its
  // answers alone, the changed one is synced.
  CHECK(count(" LIST \"\" \"*\" RETURN (STATUS (") == 1);
  CHECK(count(" STATUS ") - count("* STATUS ") == 0);
  CHECK(count("* STATUS ") == 5);
  CHECK(count(" SELECT ") + count(" EXAMINE ") == 1);
  for (const auto& e : fs::directory_iterator(env.local_root()))
    require_same(env, e.path().filename().string());
}

namespace {

// A first sync of alice's generated folders (spec), then one new message
// on the server in `changed` of them; returns their names.
std::vector<std::string> new_mail_after_first_sync(sync_env& env, const std::string& spec,
                                                   std::size_t changed) {
  env.server().fill("alice", spec);
  REQUIRE(env.oimap({"-o"}).exit_code == 0);
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(env.local_root())) {
    if (names.size() == changed)
      break;
    const std::string name = e.path().filename().string();
    REQUIRE(env.imap().append(name, make_message("new-in-" + name, "n\r\n")).ok());
    names.push_back(name);
  }
  env.close_imap();
  return names;
}

// The run logged in once, and every changed folder's EXAMINE went out before
// the first was answered; all folders are the server's.
void examined_together(sync_env& env, const command_result& r,
                       const std::vector<std::string>& changed) {
  CHECK(occurrences(r.err, "AUTHENTICATE PLAIN") == 1);
  const auto first_answer = r.err.find("Examine completed");
  REQUIRE(first_answer != std::string::npos);
  for (const auto& name : changed)
    CHECK(r.err.find(" EXAMINE " + name + " (QRESYNC") < first_answer);
  for (const auto& e : fs::directory_iterator(env.local_root()))
    require_same(env, e.path().filename().string());
}

} // namespace

TEST_CASE("folders with a little new mail on the server are examined together, on the one "
          "connection",
          "[integration]") {
  sync_env env;
  env.write_config("maxconnections = 3\n");
  const auto changed = new_mail_after_first_sync(env, "folders=5,messages=3,seed=5", 3);
  auto r = env.oimap({"-o", "-d", "imap"});
  INFO(r.err.substr(0, 6000));
  REQUIRE(r.exit_code == 0);
  examined_together(env, r, changed);
  // None was selected again afterwards.
  CHECK(occurrences(r.err, " EXAMINE ") == changed.size());
  CHECK(occurrences(r.err, " SELECT ") == 0);
}

TEST_CASE("a server far away: one connection examines the changed folders together, and the "
          "run does not wait for its goodbye",
          "[integration]") {
  sync_env env;
  env.write_config("maxconnections = 3\n");
  // Five: too many to be light work with a slow login (one connection is
  // enough for three).
  const auto changed = new_mail_after_first_sync(env, "folders=6,messages=3,seed=6", 5);
  // 60 ms away: the login takes two round trips, well over the 30 ms that
  // tell a server nearby from one elsewhere.
  far_server far(env.server().port(), 60);
  auto r = env.oimap(
      {"-o", "-d", "imap", "-k", "Repository_TestRemote:remoteport=" + std::to_string(far.port)});
  INFO(r.err.substr(0, 6000));
  REQUIRE(r.exit_code == 0);
  examined_together(env, r, changed);
  // LOGOUT went, and the server's BYE was not waited for.
  CHECK(occurrences(r.err, " LOGOUT") == 1);
  CHECK(occurrences(r.err, "* BYE") == 0);
}

TEST_CASE("expunge = no: a local deletion only flags Deleted, and stays done", "[integration]") {
  sync_env env;
  env.write_config("expunge = no\n");
  auto& imap = env.imap();
  for (int i = 1; i <= 3; ++i)
    REQUIRE(imap.append("INBOX", make_message("e" + std::to_string(i), "x\r\n")).ok());
  env.close_imap();
  REQUIRE(env.oimap({"-o"}).exit_code == 0);
  for (auto& [name, path] : maildir_files(env.local_folder("INBOX")))
    if (read_file(path).find("Subject: e2\n") != std::string::npos)
      fs::remove(path);
  auto r = env.oimap({"-o"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  // Still on the server, flagged; not back in the Maildir.
  auto server = maildir_messages(env.server_folder("INBOX"));
  REQUIRE(server.size() == 3);
  CHECK(std::count_if(server.begin(), server.end(),
                      [](const message_view& m) { return m.flags == "T"; })
        == 1);
  CHECK(maildir_messages(env.local_folder("INBOX")).size() == 2);
  // And the next run neither downloads it again nor writes to the server.
  const auto ms = modseq(env, "INBOX");
  r = env.oimap({"-o"});
  REQUIRE(r.exit_code == 0);
  CHECK(maildir_messages(env.local_folder("INBOX")).size() == 2);
  CHECK(modseq(env, "INBOX") == ms);
}

TEST_CASE("readonly = yes on the server: changes come down, nothing goes up", "[integration]") {
  sync_env env;
  env.write_config("readonly = yes\n");
  auto& imap = env.imap();
  REQUIRE(imap.append("INBOX", make_message("ro1", "x\r\n")).ok());
  env.close_imap();
  REQUIRE(env.oimap({"-o"}).exit_code == 0);
  const auto inbox = env.local_folder("INBOX");
  write_file(inbox / "new" / "1700000000.ro.host", lf(make_message("local-only", "y\r\n")));
  for (auto& [name, path] : maildir_files(inbox))
    if (name.find(",U=") != std::string::npos)
      fs::rename(path, inbox / "cur" / (name.substr(0, name.find(":2,")) + ":2,F"));
  const auto ms = modseq(env, "INBOX");
  auto r = env.oimap({"-o"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(modseq(env, "INBOX") == ms);
  CHECK(maildir_messages(env.server_folder("INBOX")).size() == 1);
  CHECK(maildir_messages(env.server_folder("INBOX"))[0].flags == "");
  CHECK(maildir_messages(inbox).size() == 2);
}

TEST_CASE("a server that never greets ends in a timeout error, not a hang", "[integration]") {
  sync_env env;
  // A listening socket nobody accepts on: the connection is made, no greeting comes.
  oimap::test::tcp_listener silent;
  env.write_config("", "", "socktimeout = 1\n");
  auto r = env.oimap(
      {"-o", "-k", "Repository_TestRemote:remoteport=" + std::to_string(silent.port())}, 30s);
  INFO(r.out << r.err);
  CHECK_FALSE(r.timed_out);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("timed out") != std::string::npos);
}

TEST_CASE("remote_identity: a master user syncs another user's mailbox (SASL PLAIN authzid)",
          "[integration]") {
  sync_env env({}, {{"alice", "pw"}});
  REQUIRE(env.imap().append("INBOX", make_message("alices", "for alice\r\n")).ok());
  env.close_imap();
  const auto added = run_command({(source_dir() / "scripts" / "private-dovecot").string(),
                                  "add-master", env.server().dir().string(), "admin", "adminpw"});
  INFO(added.out << added.err);
  REQUIRE(added.exit_code == 0);
  // The master's login and password, acting for alice.
  env.write_config("remote_identity = alice\n", {}, {}, "adminpw");
  std::string text = read_file(env.config());
  text.replace(text.find("remoteuser = alice"), std::string("remoteuser = alice").size(),
               "remoteuser = admin");
  write_file(env.config(), text);
  auto r = env.oimap({"-o", "-d", "imap"});
  INFO(r.out << r.err.substr(0, 3000));
  REQUIRE(r.exit_code == 0);
  require_same(env, "INBOX");
  CHECK(r.err.find("adminpw") == std::string::npos);
  // LOGIN cannot act for another user: with only LOGIN allowed, no login.
  write_file(env.config(), read_file(env.config()) + "auth_mechanisms = LOGIN\n");
  r = env.oimap({"-o"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("LOGIN (cannot act for remote_identity)") != std::string::npos);
}
