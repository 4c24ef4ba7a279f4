// The password prompt on a real pseudo-terminal: echo off while typing, restored after.
#include "sync/password_prompt.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <fcntl.h>
#include <future>
#include <poll.h>
#include <pty.h>
#include <string>
#include <termios.h>
#include <unistd.h>

using oimap::sync::ask_password;

namespace {

struct pty_pair {
  int master = -1, slave = -1;
  pty_pair() { REQUIRE(::openpty(&master, &slave, nullptr, nullptr, nullptr) == 0); }
  ~pty_pair() {
    ::close(master);
    ::close(slave);
  }
  // What the terminal shows, read until it contains `until` (20 s at most).
  std::string screen_until(const std::string& until) {
    std::string seen;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (seen.find(until) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{master, POLLIN, 0};
      if (::poll(&p, 1, 100) > 0) {
        char buf[256];
        const ssize_t n = ::read(master, buf, sizeof buf);
        if (n > 0)
          seen.append(buf, static_cast<std::size_t>(n));
      }
    }
    return seen;
  }
};

bool echoes(int fd) {
  termios t{};
  REQUIRE(::tcgetattr(fd, &t) == 0);
  return (t.c_lflag & ECHO) != 0;
}

} // namespace

TEST_CASE("the password is read with echo off, and echo comes back", "[password_prompt]") {
  pty_pair tty;
  REQUIRE(echoes(tty.slave));
  auto answer = std::async(std::launch::async,
                           [&] { return ask_password(tty.slave, "Password for alice: "); });
  const auto prompt = tty.screen_until("Password for alice: ");
  CHECK(prompt.find("Password for alice: ") != std::string::npos);
  CHECK_FALSE(echoes(tty.slave)); // while it waits for the answer
  const std::string typed = "s3cret word\n";
  REQUIRE(::write(tty.master, typed.data(), typed.size()) == static_cast<ssize_t>(typed.size()));
  REQUIRE(answer.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  const auto got = answer.get();
  REQUIRE(got);
  CHECK(got->reveal() == "s3cret word");
  CHECK(echoes(tty.slave));
  // The terminal never showed what was typed: only the line's end.
  const auto after = tty.screen_until("\n");
  CHECK(after.find("s3cret") == std::string::npos);
}

TEST_CASE("a file that is no terminal cannot be asked", "[password_prompt]") {
  const int null = ::open("/dev/null", O_RDWR);
  REQUIRE(null >= 0);
  CHECK_THROWS_AS(ask_password(null, "Password: "), std::runtime_error);
  ::close(null);
}
