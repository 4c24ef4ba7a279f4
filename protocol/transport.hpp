// The byte-stream interface the IMAP session runs over: TCP, or TLS layered on another transport.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace oimap::protocol {

// Which addresses of a host to try (OfflineIMAP's ipv6 option: unset, yes, no).
enum class address_family { any, ipv6, ipv4 };

// Blocking, so the session reads like the protocol; every wait is bounded by
// the socket timeout, and shutdown() lets another thread cut a wait short.
// Failures throw imap_error (timeout, closed, ...).
class transport {
public:
  virtual ~transport() = default;

  // Reads at least one byte, up to n; returns 0 once the peer has closed.
  virtual std::size_t read_some(char* buf, std::size_t n) = 0;

  // Writes every byte of data or throws.
  virtual void write_all(std::string_view data) = 0;

  // Thread-safe and idempotent: a read or write blocked in another thread,
  // and every later one, fails with imap_error(closed). Used for Ctrl-C.
  virtual void shutdown() = 0;

  // "host:port" as the user named it, for error messages.
  virtual const std::string& peer() const = 0;

  // The server runs on this machine (it answered on one of our own
  // addresses, e.g. loopback): its processes share our CPUs.
  virtual bool on_this_host() const = 0;
};

// "host:port", with IPv6 literals bracketed ("[::1]:143").
std::string format_peer(std::string_view host, std::uint16_t port);

// True for an IPv4 or IPv6 address literal (optionally in brackets): those
// are verified against IP SANs and never sent as SNI.
bool is_ip_literal(std::string_view host);

} // namespace oimap::protocol
