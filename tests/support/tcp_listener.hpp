// A listening socket on 127.0.0.1 with a kernel-chosen port, for tests that
// play a peer whose behaviour a real server cannot be made to show.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace oimap::test {

class tcp_listener {
public:
  tcp_listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_, 4) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  tcp_listener(const tcp_listener&) = delete;
  tcp_listener& operator=(const tcp_listener&) = delete;
  ~tcp_listener() { ::close(fd_); }
  std::uint16_t port() const { return port_; }
  int fd() const { return fd_; }
  int accept() { return ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC); }

private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

} // namespace oimap::test
