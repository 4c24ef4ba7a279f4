// wire_limit: the floor for a full download — logs in and streams
// `UID FETCH 1:* BODY.PEEK[]` of every folder, discarding the bytes.
//
//   wire_limit --port N [--host 127.0.0.1] [--connections C] [--status]
//              [--store DIR] --account USER:PASSWORD [--account ...]
//
// With --store DIR every message is also written, as it arrives, to a file
// of its own (created 0600, bytes as received, closed; no rename, no fsync,
// no line-ending conversion) in a directory per folder under DIR, as a
// Maildir has: the store floor, the least any sync tool must do to have the
// mail on that file system.
//
// With --status it measures the floor of a no-change resync instead: per
// account, log in, LIST, one pipelined STATUS (MESSAGES UIDNEXT UIDVALIDITY
// HIGHESTMODSEQ) per folder, LOGOUT — the least a client must ask to know
// that nothing changed on the server (with CONDSTORE). A server with
// LIST-STATUS gets one LIST ... RETURN (STATUS (...)) and the LOGOUT, in one
// write, instead. Phase 2 is skipped.
//
// Phase 1: C threads log in to the accounts (each once) and LIST their
// folders; those connections are kept for phase 2. Phase 2: C threads, each
// with one connection at a time (reusing phase 1's), take (account, folder)
// jobs off one queue and send EXAMINE + UID FETCH pipelined in one write. The response is scanned only
// far enough to skip literals and find the tagged completion: nothing is
// parsed or stored. Prints one JSON object: messages, bytes (literal bytes,
// i.e. message sizes), folders, seconds (phase 1 + 2, steady clock).
//
// Built by bench/run with g++ -O2; no dependency beyond libc/libstdc++.
#include "tool_args.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

struct account {
  std::string user;
  std::string password;
};

using bench::die;

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Parses a LIST reply's mailbox name (quoted or atom; literals were folded
// into the line by connection::line and are not expected from Dovecot).
void collect_list(const std::string& l, std::vector<std::string>& out) {
  if (l.rfind("* LIST ", 0) != 0) return;
  size_t close = l.find(')');
  if (close == std::string::npos) return;
  std::string attrs = l.substr(7, close - 7);
  for (auto& ch : attrs) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (attrs.find("\\noselect") != std::string::npos || attrs.find("\\nonexistent") != std::string::npos)
    return;
  size_t p = close + 2;  // separator: "x" or NIL
  if (l.compare(p, 3, "NIL") == 0) {
    p += 4;
  } else {
    p = l.find('"', p + 1);  // closing quote of the separator
    if (p != std::string::npos && l[p - 1] == '\\') p = l.find('"', p + 1);
    p += 2;
  }
  std::string name;
  if (p < l.size() && l[p] == '"') {
    for (size_t i = p + 1; i < l.size() && l[i] != '"'; ++i) {
      if (l[i] == '\\' && i + 1 < l.size()) ++i;
      name += l[i];
    }
  } else {
    name = l.substr(p);
  }
  out.push_back(name);
}

// One IMAP connection with a receive buffer; reads whole lines and skips
// literals without copying them anywhere.
class connection {
 public:
  connection(const std::string& host, int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) die("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) die("bad host " + host);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      die("connect to " + host + ":" + std::to_string(port) + " failed");
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    buf_.resize(256 << 10);
    std::string greeting = line();
    if (greeting.rfind("* OK", 0) != 0) die("unexpected greeting: " + greeting);
  }
  ~connection() {
    if (fd_ >= 0) ::close(fd_);
  }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  void send(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::write(fd_, s.data() + off, s.size() - off);
      if (n <= 0) die("write failed");
      off += static_cast<size_t>(n);
    }
  }

  // The next line without CRLF. A line announcing a literal ("{N}") has the
  // literal skipped and the rest of the logical line appended after a space,
  // so a FETCH reply with one literal comes back as one line.
  std::string line() {
    std::string out;
    for (;;) {
      size_t start = out.size();
      raw_line(out);
      // A literal announcement at the end of this physical line?
      if (out.size() > start && out.back() == '}') {
        size_t open = out.rfind('{');
        if (open != std::string::npos && open >= start) {
          uint64_t n = std::strtoull(out.c_str() + open + 1, nullptr, 10);
          skip(n);
          literal_bytes_ += n;
          out += ' ';
          continue;
        }
      }
      return out;
    }
  }

  // Reads until the tagged reply for `tag`; returns it. Counts FETCH lines;
  // collects the selectable mailboxes of LIST replies into `listed`.
  std::string until_tagged(const std::string& tag, std::vector<std::string>* listed = nullptr) {
    const std::string prefix = tag + " ";
    for (;;) {
      std::string l = line();
      if (l.rfind(prefix, 0) == 0) return l.substr(prefix.size());
      if (l.rfind("* ", 0) == 0 && l.find(" FETCH ", 2) != std::string::npos) ++fetches_;
      if (listed) collect_list(l, *listed);
    }
  }

  std::string next_tag() { return "w" + std::to_string(++tag_); }
  // Literals from now on are also written to files in dir.
  void store_in(std::string dir) { store_dir_ = std::move(dir); }

  uint64_t literal_bytes_ = 0;
  uint64_t fetches_ = 0;
  std::string account_user;

 private:
  bool fill() {
    if (begin_ < end_) return true;
    ssize_t n = ::read(fd_, buf_.data(), buf_.size());
    if (n <= 0) return false;
    begin_ = 0;
    end_ = static_cast<size_t>(n);
    return true;
  }

  void raw_line(std::string& out) {
    for (;;) {
      if (!fill()) die("connection closed by the server");
      char* b = buf_.data() + begin_;
      char* nl = static_cast<char*>(std::memchr(b, '\n', end_ - begin_));
      if (nl) {
        out.append(b, static_cast<size_t>(nl - b));
        begin_ += static_cast<size_t>(nl - b) + 1;
        if (!out.empty() && out.back() == '\r') out.pop_back();
        return;
      }
      out.append(b, end_ - begin_);
      begin_ = end_;
    }
  }

  void skip(uint64_t n) {
    int out = -1;
    if (!store_dir_.empty()) {
      static std::atomic<uint64_t> counter{0};
      const std::string path = store_dir_ + "/" + std::to_string(counter.fetch_add(1));
      out = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (out < 0) die("cannot create " + path + ": " + std::strerror(errno));
    }
    while (n > 0) {
      if (!fill()) die("connection closed inside a literal");
      size_t take = std::min<uint64_t>(n, end_ - begin_);
      for (size_t done = 0; out >= 0 && done < take;) {
        ssize_t w = ::write(out, buf_.data() + begin_ + done, take - done);
        if (w <= 0) die(std::string("write to the store failed: ") + std::strerror(errno));
        done += static_cast<size_t>(w);
      }
      begin_ += take;
      n -= take;
    }
    if (out >= 0) ::close(out);
  }

  int fd_ = -1;
  std::string store_dir_;  // where literals go; empty: nowhere
  std::vector<char> buf_;
  size_t begin_ = 0, end_ = 0;
  unsigned tag_ = 0;
};

// Returns the tagged OK (Dovecot puts its post-login CAPABILITY there).
std::string login(connection& c, const account& a) {
  std::string tag = c.next_tag();
  c.send(tag + " LOGIN " + quoted(a.user) + " " + quoted(a.password) + "\r\n");
  std::string r = c.until_tagged(tag);
  if (r.rfind("OK", 0) != 0) die("LOGIN " + a.user + " failed: " + r);
  c.account_user = a.user;
  return r;
}

struct job {
  size_t account_index;
  std::string folder;
};

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 0;
  int connections = 1;
  bool status_only = false;
  std::string store;
  std::vector<account> accounts;
  bench::program_name = "wire_limit";
  bench::for_each_option(argc, argv, [&](const std::string& a, auto value) {
    if (a == "--host") host = value();
    else if (a == "--port") port = std::atoi(value().c_str());
    else if (a == "--connections") connections = std::max(1, std::atoi(value().c_str()));
    else if (a == "--status") status_only = true;
    else if (a == "--store") store = value();
    else if (a == "--account") {
      std::string v = value();
      size_t colon = v.find(':');
      if (colon == std::string::npos) die("--account wants USER:PASSWORD");
      accounts.push_back({v.substr(0, colon), v.substr(colon + 1)});
    } else die("unknown option " + a);
  });
  if (port <= 0 || accounts.empty()) die("usage: wire_limit --port N [--connections C] --account U:P ...");

  auto t0 = std::chrono::steady_clock::now();

  // Phase 1: C threads log in to the accounts and LIST their folders; the
  // connections are kept for phase 2.
  std::vector<std::vector<std::string>> listed(accounts.size());
  std::map<size_t, std::vector<std::unique_ptr<connection>>> idle;
  {
    std::atomic<size_t> next_account{0};
    std::mutex mutex;
    auto lister = [&] {
      for (;;) {
        size_t ai = next_account.fetch_add(1);
        if (ai >= accounts.size()) return;
        auto c = std::make_unique<connection>(host, port);
        const std::string ok = login(*c, accounts[ai]);
        if (status_only && ok.find(" LIST-STATUS") != std::string::npos) {
          // LIST-STATUS (RFC 5819): the listing and every STATUS in one
          // command, with the LOGOUT behind it.
          std::string tag = c->next_tag(), bye = c->next_tag();
          c->send(tag + " LIST \"\" \"*\" RETURN (STATUS (MESSAGES UIDNEXT UIDVALIDITY "
                  "HIGHESTMODSEQ))\r\n" + bye + " LOGOUT\r\n");
          std::vector<std::string> names;
          std::string r = c->until_tagged(tag, &names);
          if (r.rfind("OK", 0) != 0) die("LIST RETURN (STATUS) failed: " + r);
          r = c->until_tagged(bye);
          if (r.rfind("OK", 0) != 0) die("LOGOUT failed: " + r);
          std::lock_guard lock(mutex);
          listed[ai] = std::move(names);
          continue;
        }
        std::string tag = c->next_tag();
        c->send(tag + " LIST \"\" \"*\"\r\n");
        std::vector<std::string> names;
        std::string r = c->until_tagged(tag, &names);
        if (r.rfind("OK", 0) != 0) die("LIST failed: " + r);
        if (status_only) {
          std::string batch, last;
          for (const auto& n : names) {
            last = c->next_tag();
            batch += last + " STATUS " + quoted(n) + " (MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ)\r\n";
          }
          std::string bye = c->next_tag();
          c->send(batch + bye + " LOGOUT\r\n");
          r = c->until_tagged(bye);
          if (r.rfind("OK", 0) != 0) die("LOGOUT failed: " + r);
          std::lock_guard lock(mutex);
          listed[ai] = std::move(names);
          continue;
        }
        std::lock_guard lock(mutex);
        listed[ai] = std::move(names);
        idle[ai].push_back(std::move(c));
      }
    };
    std::vector<std::thread> threads;
    for (int i = 0; i < connections; ++i) threads.emplace_back(lister);
    for (auto& t : threads) t.join();
  }
  std::vector<job> jobs;
  for (size_t ai = 0; ai < accounts.size(); ++ai)
    for (auto& f : listed[ai]) jobs.push_back({ai, f});
  if (status_only) {
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("{\"messages\": 0, \"bytes\": 0, \"folders\": %zu, \"accounts\": %zu, "
                "\"connections\": %d, \"seconds\": %.6f}\n",
                jobs.size(), accounts.size(), connections, seconds);
    return 0;
  }

  // Phase 2: C workers drain the job queue.
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> bytes{0}, messages{0};
  std::mutex idle_mutex;
  auto worker = [&] {
    std::unique_ptr<connection> c;
    size_t current = SIZE_MAX;
    uint64_t done_bytes = 0, done_msgs = 0;
    auto retire = [&] {
      if (!c) return;
      done_bytes += c->literal_bytes_;
      done_msgs += c->fetches_;
      c->literal_bytes_ = c->fetches_ = 0;
    };
    for (;;) {
      size_t i = next.fetch_add(1);
      if (i >= jobs.size()) break;
      const job& j = jobs[i];
      if (j.account_index != current) {
        retire();
        c.reset();
        {
          std::lock_guard lock(idle_mutex);
          auto& pool = idle[j.account_index];
          if (!pool.empty()) {
            c = std::move(pool.back());
            pool.pop_back();
          }
        }
        if (!c) {
          c = std::make_unique<connection>(host, port);
          login(*c, accounts[j.account_index]);
        }
        current = j.account_index;
      }
      if (!store.empty()) {
        std::string dir = store + "/" + std::to_string(j.account_index) + "-" + std::to_string(i);
        if (::mkdir(dir.c_str(), 0700) != 0) die("cannot create " + dir + ": " + std::strerror(errno));
        c->store_in(std::move(dir));
      }
      std::string t1 = c->next_tag(), t2 = c->next_tag();
      c->send(t1 + " EXAMINE " + quoted(j.folder) + "\r\n" + t2 + " UID FETCH 1:* BODY.PEEK[]\r\n");
      std::string r1 = c->until_tagged(t1);
      if (r1.rfind("OK", 0) != 0) die("EXAMINE " + j.folder + " failed: " + r1);
      std::string r2 = c->until_tagged(t2);
      if (r2.rfind("OK", 0) != 0) die("UID FETCH in " + j.folder + " failed: " + r2);
    }
    retire();
    bytes += done_bytes;
    messages += done_msgs;
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < connections; ++i) threads.emplace_back(worker);
  for (auto& t : threads) t.join();

  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("{\"messages\": %llu, \"bytes\": %llu, \"folders\": %zu, \"accounts\": %zu, "
              "\"connections\": %d, \"seconds\": %.6f}\n",
              static_cast<unsigned long long>(messages.load()),
              static_cast<unsigned long long>(bytes.load()), jobs.size(), accounts.size(),
              connections, seconds);
  return 0;
}
