// TCP transport: getaddrinfo over all addresses, non-blocking I/O waited on with poll().
#include "protocol/tcp_transport.hpp"

#include "protocol/imap_error.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace oimap::protocol {

unique_fd::~unique_fd() {
  if (fd_ >= 0)
    ::close(fd_);
}

unique_fd& unique_fd::operator=(unique_fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

namespace {

std::string errno_text(int err) {
  return std::strerror(err);
}

std::string address_text(const sockaddr* sa) {
  char host[NI_MAXHOST];
  char serv[NI_MAXSERV];
  socklen_t len = sa->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (getnameinfo(sa, len, host, sizeof host, serv, sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV)
      != 0)
    return "?";
  return format_peer(host, static_cast<std::uint16_t>(std::stoi(serv)));
}

struct addrinfo_deleter {
  void operator()(addrinfo* ai) const { freeaddrinfo(ai); }
};

// Large buffers let a pipelined burst of commands sit in the kernel while the
// server is busy answering earlier ones; the session bounds what it has in
// flight well below this, which is what keeps pipelining deadlock-free.
void tune_socket(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int size = 1 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
}

// The connection's two ends have the same address (loopback, or one of our
// own): the server is on this machine.
bool same_host(int fd) {
  sockaddr_storage local{}, remote{};
  socklen_t local_len = sizeof local, remote_len = sizeof remote;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0
      || getpeername(fd, reinterpret_cast<sockaddr*>(&remote), &remote_len) != 0
      || local.ss_family != remote.ss_family)
    return false;
  if (local.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(local).sin_addr;
    const auto& b = reinterpret_cast<const sockaddr_in&>(remote).sin_addr;
    return a.s_addr == b.s_addr;
  }
  if (local.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(local).sin6_addr;
    const auto& b = reinterpret_cast<const sockaddr_in6&>(remote).sin6_addr;
    return std::memcmp(&a, &b, sizeof a) == 0;
  }
  return false;
}

} // namespace

tcp_transport::tcp_transport(unique_fd fd, unique_fd wake, std::string peer, int timeout_seconds)
    : fd_(std::move(fd)), wake_(std::move(wake)), peer_(std::move(peer)),
      on_this_host_(same_host(fd_.get())) {
  set_timeout(timeout_seconds);
}

std::unique_ptr<tcp_transport> tcp_transport::over_pipes(unique_fd from, unique_fd to,
                                                         std::string peer, int timeout_seconds) {
  unique_fd wake(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake)
    throw imap_error(error_kind::connect, "cannot use " + peer + ": eventfd: " + errno_text(errno));
  for (int fd : {from.get(), to.get()})
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  std::unique_ptr<tcp_transport> t(
      new tcp_transport(std::move(from), std::move(wake), std::move(peer), timeout_seconds));
  t->to_ = std::move(to);
  return t;
}

std::unique_ptr<tcp_transport> tcp_transport::connect(const std::string& host, std::uint16_t port,
                                                      int timeout_seconds, address_family family) {
  std::string peer = format_peer(host, port);
  std::string name = host;
  if (name.size() >= 2 && name.front() == '[' && name.back() == ']')
    name = name.substr(1, name.size() - 2);

  addrinfo hints{};
  hints.ai_family = family == address_family::ipv6   ? AF_INET6
                    : family == address_family::ipv4 ? AF_INET
                                                     : AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* raw = nullptr;
  std::string service = std::to_string(port);
  int rc = getaddrinfo(name.c_str(), service.c_str(), &hints, &raw);
  if (rc != 0) {
    std::string why = rc == EAI_SYSTEM ? errno_text(errno) : gai_strerror(rc);
    if (family != address_family::any)
      why += family == address_family::ipv6 ? " (ipv6 = yes: IPv6 addresses only)"
                                            : " (ipv6 = no: IPv4 addresses only)";
    throw imap_error(error_kind::connect, "cannot resolve " + peer + ": " + why);
  }
  std::unique_ptr<addrinfo, addrinfo_deleter> list(raw);

  unique_fd wake(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake)
    throw imap_error(error_kind::connect,
                     "cannot connect to " + peer + ": eventfd: " + errno_text(errno));

  std::string failures;
  bool all_timed_out = true;
  auto note = [&](const addrinfo* ai, const std::string& why) {
    // One address (the usual case) reads "host:port: why"; several list each.
    if (!failures.empty())
      failures += "; ";
    if (list->ai_next)
      failures += address_text(ai->ai_addr) + ": ";
    failures += why;
  };

  for (const addrinfo* ai = list.get(); ai; ai = ai->ai_next) {
    unique_fd fd(
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol));
    if (!fd) {
      note(ai, errno_text(errno));
      all_timed_out = false;
      continue;
    }
    tune_socket(fd.get());
    if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        note(ai, errno_text(errno));
        all_timed_out = false;
        continue;
      }
      pollfd p{fd.get(), POLLOUT, 0};
      int n;
      do
        n = ::poll(&p, 1, timeout_seconds > 0 ? timeout_seconds * 1000 : -1);
      while (n < 0 && errno == EINTR);
      if (n == 0) {
        note(ai, "timed out after " + std::to_string(timeout_seconds) + " s");
        continue;
      }
      int err = 0;
      socklen_t len = sizeof err;
      if (n < 0)
        err = errno;
      else if (getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
      if (err != 0) {
        note(ai, errno_text(err));
        all_timed_out = false;
        continue;
      }
    }
    return std::unique_ptr<tcp_transport>(
        new tcp_transport(std::move(fd), std::move(wake), peer, timeout_seconds));
  }
  throw imap_error(all_timed_out && !failures.empty() ? error_kind::timeout : error_kind::connect,
                   "cannot connect to " + peer + ": " + failures);
}

void tcp_transport::throw_shut_down(const char* doing) const {
  throw imap_error(error_kind::closed, "connection to " + peer_ + " was shut down while " + doing);
}

void tcp_transport::wait(short events) {
  const bool reading = events & POLLIN;
  const char* doing = reading ? "reading" : "writing";
  const int fd = !reading && to_ ? to_.get() : fd_.get();
  pollfd p[2] = {{fd, events, 0}, {wake_.get(), POLLIN, 0}};
  for (;;) {
    if (shut_down_.load(std::memory_order_acquire))
      throw_shut_down(doing);
    int n = ::poll(p, 2, timeout_ms_);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      throw imap_error(error_kind::closed,
                       "poll failed on " + peer_ + " while " + doing + ": " + errno_text(errno));
    }
    if (n == 0)
      throw imap_error(error_kind::timeout, "timed out after " + std::to_string(timeout_ms_ / 1000)
                                                + " s " + doing + (reading ? " from " : " to ")
                                                + peer_);
    if (p[1].revents)
      throw_shut_down(doing);
    // Errors and hang-ups are reported by the recv/send that follows.
    return;
  }
}

std::size_t tcp_transport::read_some(char* buf, std::size_t n) {
  for (;;) {
    if (shut_down_.load(std::memory_order_acquire))
      throw_shut_down("reading");
    ssize_t got = to_ ? ::read(fd_.get(), buf, n) : ::recv(fd_.get(), buf, n, 0);
    if (got >= 0)
      return static_cast<std::size_t>(got);
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      wait(POLLIN);
      continue;
    }
    throw imap_error(error_kind::closed,
                     "connection to " + peer_ + " lost while reading: " + errno_text(errno));
  }
}

void tcp_transport::write_all(std::string_view data) {
  while (!data.empty()) {
    if (shut_down_.load(std::memory_order_acquire))
      throw_shut_down("writing");
    // MSG_NOSIGNAL: a peer that went away must be an error, not a SIGPIPE
    // (which the program ignores, for pipes).
    ssize_t sent = to_ ? ::write(to_.get(), data.data(), data.size())
                       : ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (sent >= 0) {
      data.remove_prefix(static_cast<std::size_t>(sent));
      continue;
    }
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      wait(POLLOUT);
      continue;
    }
    throw imap_error(error_kind::closed,
                     "connection to " + peer_ + " lost while writing: " + errno_text(errno));
  }
}

void tcp_transport::shutdown() {
  if (shut_down_.exchange(true, std::memory_order_acq_rel))
    return;
  std::uint64_t one = 1;
  // Best effort: the flag alone already stops every later call.
  [[maybe_unused]] auto w = ::write(wake_.get(), &one, sizeof one);
  // Tells the server at once rather than when we get round to closing.
  ::shutdown(fd_.get(), SHUT_RDWR);
}

} // namespace oimap::protocol
