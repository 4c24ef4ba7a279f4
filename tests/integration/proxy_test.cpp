// The proxy option end to end: a SOCKS5 proxy of the test's own between oimap and Dovecot.
#include <catch2/catch.hpp>

#include "support/sync_harness.hpp"
#include "support/tcp_listener.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <mutex>
#include <poll.h>
#include <thread>

using namespace oimap::test;

namespace {

bool read_all(int fd, char* buf, std::size_t n) {
  for (std::size_t got = 0; got < n;) {
    const ssize_t r = ::read(fd, buf + got, n - got);
    if (r <= 0)
      return false;
    got += static_cast<std::size_t>(r);
  }
  return true;
}

// A SOCKS5 proxy (no authentication, CONNECT to an IPv4 address or a host
// name that is 127.0.0.1's) that records the targets asked for and relays.
class socks5_relay {
public:
  socks5_relay() {
    REQUIRE(::pipe2(stop_, O_CLOEXEC) == 0);
    accepter_ = std::thread([this] { accept_loop(); });
  }
  ~socks5_relay() {
    (void)!::write(stop_[1], "x", 1);
    accepter_.join();
    for (auto& t : relays_)
      t.join();
    ::close(stop_[0]);
    ::close(stop_[1]);
  }
  std::uint16_t port() const { return listener_.port(); }
  std::vector<std::string> targets() {
    std::lock_guard lock(mutex_);
    return targets_;
  }

private:
  void accept_loop() {
    for (;;) {
      pollfd p[2] = {{listener_.fd(), POLLIN, 0}, {stop_[0], POLLIN, 0}};
      if (::poll(p, 2, -1) < 0 || p[1].revents)
        return;
      const int fd = listener_.accept();
      if (fd >= 0)
        relays_.emplace_back([this, fd] { serve(fd); });
    }
  }
  void serve(int client) {
    char buf[262];
    std::uint16_t port = 0;
    std::string host;
    if (!read_all(client, buf, 3) || !(::write(client, "\x05\x00", 2) == 2)
        || !read_all(client, buf, 4)) {
      ::close(client);
      return;
    }
    if (buf[3] == '\x01' && read_all(client, buf, 4)) {
      char text[INET_ADDRSTRLEN];
      host = ::inet_ntop(AF_INET, buf, text, sizeof text);
    } else if (buf[3] == '\x03' && read_all(client, buf, 1)) {
      const auto len = static_cast<unsigned char>(buf[0]);
      read_all(client, buf, len);
      host.assign(buf, len);
    }
    unsigned char pb[2];
    read_all(client, reinterpret_cast<char*>(pb), 2);
    port = static_cast<std::uint16_t>(pb[0] << 8 | pb[1]);
    {
      std::lock_guard lock(mutex_);
      targets_.push_back(host + ":" + std::to_string(port));
    }
    const int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::connect(server, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    (void)!::write(client,
                   ok ? "\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x00"
                      : "\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00",
                   10);
    for (pollfd p[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}}; ok;) {
      if (::poll(p, 2, -1) <= 0)
        break;
      const int from = p[0].revents ? client : server, to = from == client ? server : client;
      const ssize_t n = ::read(from, buf, sizeof buf);
      if (n <= 0 || ::write(to, buf, static_cast<std::size_t>(n)) != n)
        break;
    }
    ::close(server);
    ::close(client);
  }

  tcp_listener listener_;
  int stop_[2];
  std::thread accepter_;
  std::vector<std::thread> relays_; // only the accepter adds, only the destructor joins
  std::mutex mutex_;
  std::vector<std::string> targets_;
};

} // namespace

TEST_CASE("proxy = SOCKS5:host:port: every connection goes through the proxy", "[integration]") {
  sync_env env;
  REQUIRE(env.imap().command("CREATE Work").ok());
  REQUIRE(env.imap().append("Work", make_message("w1", "x\r\n")).ok());
  REQUIRE(env.imap().append("INBOX", make_message("i1", "x\r\n")).ok());
  env.close_imap();
  env.write_config();
  socks5_relay relay;
  const auto proxy = "Account_Test:proxy=SOCKS5:127.0.0.1:" + std::to_string(relay.port());
  auto r = env.oimap({"-o", "-k", proxy});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(maildir_messages(env.local_folder("Work")).size() == 1);
  CHECK(maildir_messages(env.local_folder("INBOX")).size() == 1);
  const auto targets = relay.targets();
  REQUIRE_FALSE(targets.empty());
  for (const auto& t : targets)
    CHECK(t == "127.0.0.1:" + std::to_string(env.server().port()));

  // A proxy that is not there: an error naming it, not a connection around it.
  const auto gone = "Account_Test:proxy=SOCKS5:127.0.0.1:1";
  r = env.oimap({"-o", "-k", gone});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("127.0.0.1:1") != std::string::npos);
}
