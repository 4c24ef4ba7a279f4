// The tunnel transport: a command's pipes as the connection, and the command reaped after.
#include "protocol/tunnel_transport.hpp"

#include "protocol/imap_error.hpp"

#include <catch2/catch.hpp>

#include <cerrno>
#include <csignal>
#include <thread>

using namespace oimap::protocol;

namespace {

std::string read_line(transport& t) {
  std::string line;
  char c = 0;
  while (line.empty() || line.back() != '\n') {
    REQUIRE(t.read_some(&c, 1) == 1);
    line += c;
  }
  return line;
}

} // namespace

TEST_CASE("a tunnel speaks through the command's stdin and stdout", "[tunnel_transport]") {
  auto t = tunnel_transport::start("printf '* PREAUTH here\\r\\n'; exec cat", 10);
  // Named by its program: the rest may hold a secret.
  CHECK(t->peer() == "tunnel 'printf ...'");
  CHECK_FALSE(t->on_this_host());
  CHECK(read_line(*t) == "* PREAUTH here\r\n");
  // Larger than a pipe's buffer, both ways at once: cat echoes while we
  // write, so writes must not wait for reads that never come.
  const std::string big(200000, 'x');
  std::string back;
  std::thread reader([&] {
    char buf[65536];
    while (back.size() < big.size() + 1)
      back.append(buf, t->read_some(buf, sizeof buf));
  });
  t->write_all(big + "\n");
  reader.join();
  CHECK(back == big + "\n");
}

TEST_CASE("a tunnel's end reads as EOF, and a command that outlives us is ended",
          "[tunnel_transport]") {
  auto gone = tunnel_transport::start("exit 3", 10);
  char c = 0;
  CHECK(gone->read_some(&c, 1) == 0);

  // It says its pid, then ignores EOF on its stdin: the destructor kills it.
  auto stubborn = tunnel_transport::start("echo $$; exec sleep 100", 10);
  const pid_t pid = std::stoi(read_line(*stubborn));
  REQUIRE(::kill(pid, 0) == 0);
  stubborn.reset();
  CHECK(::kill(pid, 0) == -1);
  CHECK(errno == ESRCH); // reaped, not a zombie
}
