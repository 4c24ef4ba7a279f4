// The proxy option: a tunnel through a SOCKS5 or HTTP proxy to the IMAP server.
#pragma once

#include "protocol/transport.hpp"

#include <cstdint>
#include <string>

namespace oimap::protocol {

enum class proxy_kind { socks5, http };

struct proxy_options {
  proxy_kind kind = proxy_kind::socks5;
  std::string host;
  std::uint16_t port = 1080;
  bool operator==(const proxy_options&) const = default;
};

// Over t, connected to the proxy, asks for a connection to host:port:
// SOCKS5 (RFC 1928, no authentication; the host name goes to the proxy,
// which resolves it, so no DNS query leaks here) or HTTP CONNECT. On return
// t carries the server's bytes, nothing of the proxy's answer left unread.
// Throws imap_error(connect) naming the proxy and its refusal.
void proxy_handshake(transport& t, const proxy_options& proxy, const std::string& host,
                     std::uint16_t port);

} // namespace oimap::protocol
