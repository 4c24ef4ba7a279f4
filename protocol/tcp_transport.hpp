// A TCP connection (or a command's two pipes) as a transport: non-blocking, poll() for timeouts and
// cancellation.
#pragma once

#include "protocol/transport.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace oimap::protocol {

// Owns one file descriptor; closes it once.
class unique_fd {
public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  ~unique_fd();
  unique_fd(unique_fd&& o) noexcept : fd_(o.release()) {}
  unique_fd& operator=(unique_fd&& o) noexcept;
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;

  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  explicit operator bool() const { return fd_ >= 0; }

private:
  int fd_ = -1;
};

class tcp_transport final : public transport {
public:
  // Resolves host, tries every address of the family in turn, each with
  // timeout_seconds (0 = no timeout) for the connect. Throws
  // imap_error(connect|timeout) naming host:port and each address's
  // failure. The timeout then applies to every read and write. Name
  // resolution itself is not bounded by it.
  static std::unique_ptr<tcp_transport> connect(const std::string& host, std::uint16_t port,
                                                int timeout_seconds,
                                                address_family family = address_family::any);

  // A command's stdout (read here) and stdin (written here), as pipes
  // (tunnel_transport; Dovecot's imap refuses a socket on its stdin): the
  // same reads, writes, timeouts and shutdown; peer names it in errors.
  static std::unique_ptr<tcp_transport> over_pipes(unique_fd from, unique_fd to, std::string peer,
                                                   int timeout_seconds);

  ~tcp_transport() override = default;

  std::size_t read_some(char* buf, std::size_t n) override;
  void write_all(std::string_view data) override;
  void shutdown() override;
  const std::string& peer() const override { return peer_; }
  bool on_this_host() const override { return on_this_host_; }

  void set_timeout(int seconds) { timeout_ms_ = seconds > 0 ? seconds * 1000 : -1; }

private:
  tcp_transport(unique_fd fd, unique_fd wake, std::string peer, int timeout_seconds);

  // Waits until the socket is ready for events (POLLIN or POLLOUT); throws
  // on timeout or shutdown.
  void wait(short events);
  [[noreturn]] void throw_shut_down(const char* doing) const;

  unique_fd fd_;
  unique_fd to_; // over pipes: where writes go (fd_ is then only read)
  // An eventfd that shutdown() signals: poll() watches it next to the socket,
  // so a reader blocked in another thread wakes up at once.
  unique_fd wake_;
  std::string peer_;
  bool on_this_host_ = false;
  int timeout_ms_;
  std::atomic<bool> shut_down_{false};
};

} // namespace oimap::protocol
