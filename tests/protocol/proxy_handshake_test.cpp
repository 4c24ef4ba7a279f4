// The proxy handshakes against scripted proxies: the bytes asked, the answers read, the refusals
// named.
#include "protocol/proxy_handshake.hpp"

#include "protocol/imap_error.hpp"
#include "protocol/tcp_transport.hpp"
#include "support/tcp_listener.hpp"

#include <catch2/catch.hpp>

#include <thread>

using namespace oimap::protocol;
using oimap::test::tcp_listener;

namespace {

std::string read_n(int fd, std::size_t n) {
  std::string out(n, '\0');
  for (std::size_t got = 0; got < n;) {
    const ssize_t r = ::read(fd, out.data() + got, n - got);
    if (r <= 0)
      return out.substr(0, got);
    got += static_cast<std::size_t>(r);
  }
  return out;
}

void write_str(int fd, std::string_view s) {
  REQUIRE(::write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size()));
}

// A proxy that reads what the client sends in steps of the given sizes,
// answers each step, then sends the server's greeting; returns what it read.
struct scripted_proxy {
  tcp_listener listener;
  std::string got;
  std::thread thread;

  scripted_proxy(std::vector<std::pair<std::size_t, std::string>> steps) {
    thread = std::thread([this, steps] {
      const int fd = listener.accept();
      for (const auto& [n, answer] : steps) {
        got += read_n(fd, n);
        write_str(fd, answer);
      }
      write_str(fd, "* OK server\r\n");
      ::close(fd);
    });
  }
  ~scripted_proxy() { thread.join(); }
};

std::string greeting_after(transport& t) {
  std::string line;
  char c;
  while (t.read_some(&c, 1) == 1 && c != '\n')
    line += c;
  return line;
}

std::string failure_of(scripted_proxy& p, proxy_kind kind) {
  auto t = tcp_transport::connect("127.0.0.1", p.listener.port(), 5);
  try {
    proxy_handshake(*t, {kind, "127.0.0.1", p.listener.port()}, "imap.example.org", 993);
  } catch (const imap_error& e) {
    CHECK(e.kind() == error_kind::connect);
    return e.what();
  }
  return "(no error)";
}

} // namespace

TEST_CASE("SOCKS5: no authentication, the host name sent for the proxy to resolve",
          "[proxy_handshake]") {
  // method reply; then a success reply with a domain-name bound address.
  scripted_proxy p({{3, std::string("\x05\x00", 2)},
                    {4 + 1 + 16 + 2, std::string("\x05\x00\x00\x03\x04host\x01\xbb", 11)}});
  auto t = tcp_transport::connect("127.0.0.1", p.listener.port(), 5);
  proxy_handshake(*t, {proxy_kind::socks5, "127.0.0.1", p.listener.port()}, "imap.example.org",
                  993);
  // Nothing of the proxy's answer is left for the session to read.
  CHECK(greeting_after(*t) == "* OK server\r");
  CHECK(p.got
        == std::string("\x05\x01\x00"
                       "\x05\x01\x00\x03\x10imap.example.org\x03\xe1",
                       3 + 4 + 1 + 16 + 2));
}

TEST_CASE("SOCKS5 refusals and a proxy that wants a login are named", "[proxy_handshake]") {
  {
    scripted_proxy p({{3, std::string("\x05\xff", 2)}});
    CHECK(failure_of(p, proxy_kind::socks5)
          == "SOCKS5 proxy 127.0.0.1:" + std::to_string(p.listener.port())
                 + " wants a login (SOCKS5 authentication), which oimap does not offer");
  }
  {
    scripted_proxy p(
        {{3, std::string("\x05\x00", 2)}, {23, std::string("\x05\x05\x00\x01\0\0\0\0\0\0", 10)}});
    CHECK_THAT(failure_of(p, proxy_kind::socks5),
               Catch::EndsWith("refused the connection to imap.example.org:993: connection "
                               "refused"));
  }
}

TEST_CASE("HTTP CONNECT: the answer read to its blank line, a refusal shows its status",
          "[proxy_handshake]") {
  const std::string request =
      "CONNECT imap.example.org:993 HTTP/1.1\r\nHost: imap.example.org:993\r\n\r\n";
  {
    scripted_proxy p({{request.size(), "HTTP/1.1 200 Connection established\r\nVia: x\r\n\r\n"}});
    auto t = tcp_transport::connect("127.0.0.1", p.listener.port(), 5);
    proxy_handshake(*t, {proxy_kind::http, "127.0.0.1", p.listener.port()}, "imap.example.org",
                    993);
    CHECK(greeting_after(*t) == "* OK server\r");
    CHECK(p.got == request);
  }
  {
    scripted_proxy p({{request.size(), "HTTP/1.1 407 Proxy Authentication Required\r\n\r\n"}});
    CHECK_THAT(failure_of(p, proxy_kind::http),
               Catch::EndsWith("refused the connection to imap.example.org:993: HTTP/1.1 407 "
                               "Proxy Authentication Required"));
  }
}
