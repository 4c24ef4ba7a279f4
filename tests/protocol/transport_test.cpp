// TCP transport against real sockets on 127.0.0.1: connect errors, I/O, timeouts, shutdown.
#include "protocol/imap_error.hpp"
#include "protocol/tcp_transport.hpp"
#include "support/tcp_listener.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace oimap::protocol;
using oimap::test::tcp_listener;

namespace {

// A port nothing listens on: bound, so the kernel reserved it, then released.
std::uint16_t closed_port() {
  tcp_listener l;
  return l.port();
}

template <class F> auto finishes_within(std::future<F>& f, std::chrono::seconds limit) {
  return f.wait_for(limit) == std::future_status::ready;
}

} // namespace

TEST_CASE("connecting to a closed port names the address and the reason", "[transport]") {
  std::uint16_t port = closed_port();
  try {
    tcp_transport::connect("127.0.0.1", port, 5);
    FAIL("connect succeeded");
  } catch (const imap_error& e) {
    CHECK(e.kind() == error_kind::connect);
    CHECK(std::string(e.what())
          == "cannot connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
  }
}

TEST_CASE("ipv6 = yes or no: only that family's addresses are tried", "[transport]") {
  tcp_listener server; // on 127.0.0.1
  // An IPv4 literal has no IPv6 address: refused before any connect.
  try {
    tcp_transport::connect("127.0.0.1", server.port(), 5, address_family::ipv6);
    FAIL("connect succeeded");
  } catch (const imap_error& e) {
    CHECK(e.kind() == error_kind::connect);
    CHECK_THAT(e.what(), Catch::Matchers::StartsWith("cannot resolve 127.0.0.1:"));
    CHECK_THAT(e.what(), Catch::Matchers::EndsWith("(ipv6 = yes: IPv6 addresses only)"));
  }
  auto t = tcp_transport::connect("127.0.0.1", server.port(), 5, address_family::ipv4);
  CHECK(t->peer() == "127.0.0.1:" + std::to_string(server.port()));
}

TEST_CASE("bytes round-trip and a peer close reads as 0", "[transport]") {
  tcp_listener server;
  std::thread echo([&] {
    int fd = server.accept();
    char buf[4096];
    std::string got;
    while (got.find("QUIT\n") == std::string::npos) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0)
        break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    std::string reply = "echo:" + std::to_string(got.size());
    (void)::write(fd, reply.data(), reply.size());
    ::close(fd);
  });

  auto t = tcp_transport::connect("127.0.0.1", server.port(), 5);
  CHECK(t->peer() == "127.0.0.1:" + std::to_string(server.port()));
  CHECK(t->on_this_host());              // both ends are 127.0.0.1
  std::string big(3 * 1024 * 1024, 'x'); // larger than any socket buffer
  t->write_all(big);
  t->write_all("QUIT\n");
  std::string reply;
  char buf[256];
  for (std::size_t n; (n = t->read_some(buf, sizeof buf)) > 0;)
    reply.append(buf, n);
  echo.join();
  CHECK(reply == "echo:" + std::to_string(big.size() + 5));
  CHECK(t->read_some(buf, sizeof buf) == 0);
}

TEST_CASE("a silent server times out a read after socktimeout", "[transport]") {
  tcp_listener server;
  auto t = tcp_transport::connect("127.0.0.1", server.port(), 1);
  int fd = server.accept(); // accepted, then never answers
  char buf[16];
  auto start = std::chrono::steady_clock::now();
  try {
    t->read_some(buf, sizeof buf);
    FAIL("read returned");
  } catch (const imap_error& e) {
    CHECK(e.kind() == error_kind::timeout);
    CHECK(std::string(e.what())
          == "timed out after 1 s reading from 127.0.0.1:" + std::to_string(server.port()));
  }
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(900));
  ::close(fd);
}

TEST_CASE("shutdown from another thread unblocks a reader with no timeout", "[transport]") {
  tcp_listener server;
  auto t = tcp_transport::connect("127.0.0.1", server.port(), 0);
  int fd = server.accept();
  auto reader = std::async(std::launch::async, [&] {
    char buf[16];
    try {
      t->read_some(buf, sizeof buf);
      return std::string("returned");
    } catch (const imap_error& e) {
      return std::string(to_string(e.kind())) + ": " + e.what();
    }
  });
  // Whether shutdown lands before or during the blocking poll, the reader
  // must come back promptly with "closed"; without shutdown it never would.
  CHECK(reader.wait_for(std::chrono::milliseconds(200)) == std::future_status::timeout);
  t->shutdown();
  REQUIRE(finishes_within(reader, std::chrono::seconds(5)));
  CHECK(reader.get()
        == "closed: connection to 127.0.0.1:" + std::to_string(server.port())
               + " was shut down while reading");
  CHECK_THROWS_AS(t->write_all("x"), imap_error);
  t->shutdown(); // idempotent
  // The server sees the connection end, too.
  char buf[4];
  CHECK(::read(fd, buf, sizeof buf) == 0);
  ::close(fd);
}
