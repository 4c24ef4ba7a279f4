// SOCKS5 and HTTP CONNECT, byte by byte: what follows the answer is the server's.
#include "protocol/proxy_handshake.hpp"

#include "protocol/imap_error.hpp"

#include <arpa/inet.h>
#include <array>
#include <string_view>

namespace oimap::protocol {
namespace {

std::string read_exact(transport& t, std::size_t n, const std::string& who) {
  std::string out(n, '\0');
  for (std::size_t got = 0; got < n;) {
    const std::size_t r = t.read_some(out.data() + got, n - got);
    if (r == 0)
      throw imap_error(error_kind::connect, who + " closed the connection during the handshake");
    got += r;
  }
  return out;
}

std::string socks5_reply_text(unsigned char code) {
  static constexpr std::array<const char*, 9> text{
      "succeeded",           "general failure",       "not allowed by its rules",
      "network unreachable", "host unreachable",      "connection refused",
      "TTL expired",         "command not supported", "address type not supported"};
  return code < text.size() ? text[code] : "error " + std::to_string(code);
}

void socks5(transport& t, const std::string& who, const std::string& host, std::uint16_t port) {
  t.write_all(std::string_view("\x05\x01\x00", 3)); // version 5, one method: none
  const auto method = read_exact(t, 2, who);
  if (method[0] != '\x05')
    throw imap_error(error_kind::connect, who + " does not speak SOCKS5");
  if (method[1] != '\x00')
    throw imap_error(error_kind::connect,
                     who + " wants a login (SOCKS5 authentication), which oimap does not offer");
  std::string request("\x05\x01\x00", 3); // CONNECT
  in_addr v4{};
  in6_addr v6{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    request += '\x01';
    request.append(reinterpret_cast<const char*>(&v4), 4);
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    request += '\x04';
    request.append(reinterpret_cast<const char*>(&v6), 16);
  } else {
    if (host.size() > 255)
      throw imap_error(error_kind::connect, "host name too long for SOCKS5: " + host);
    request += '\x03';
    request += static_cast<char>(host.size());
    request += host;
  }
  request += static_cast<char>(port >> 8);
  request += static_cast<char>(port & 0xff);
  t.write_all(request);
  const auto reply = read_exact(t, 4, who);
  if (reply[0] != '\x05')
    throw imap_error(error_kind::connect, who + " gave a malformed SOCKS5 answer");
  if (reply[1] != '\x00')
    throw imap_error(error_kind::connect,
                     who + " refused the connection to " + format_peer(host, port) + ": "
                         + socks5_reply_text(static_cast<unsigned char>(reply[1])));
  // The address the proxy bound, which we have no use for.
  std::size_t skip = 0;
  switch (reply[3]) {
  case '\x01':
    skip = 4;
    break;
  case '\x04':
    skip = 16;
    break;
  case '\x03':
    skip = static_cast<unsigned char>(read_exact(t, 1, who)[0]);
    break;
  default:
    throw imap_error(error_kind::connect, who + " gave a malformed SOCKS5 answer");
  }
  read_exact(t, skip + 2, who);
}

void http_connect(transport& t, const std::string& who, const std::string& host,
                  std::uint16_t port) {
  const std::string target = format_peer(host, port);
  t.write_all("CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n");
  // One byte at a time: the server's greeting may follow the blank line.
  std::string answer;
  while (answer.size() < 4 || answer.compare(answer.size() - 4, 4, "\r\n\r\n") != 0) {
    if (answer.size() > 16384)
      throw imap_error(error_kind::connect, who + " sent an endless answer to CONNECT");
    answer += read_exact(t, 1, who);
  }
  const std::string status = answer.substr(0, answer.find("\r\n"));
  // "HTTP/1.1 200 Connection established"
  const auto sp = status.find(' ');
  if (status.rfind("HTTP/", 0) != 0 || sp == std::string::npos
      || status.compare(sp + 1, 1, "2") != 0)
    throw imap_error(error_kind::connect,
                     who + " refused the connection to " + target + ": " + status);
}

} // namespace

void proxy_handshake(transport& t, const proxy_options& proxy, const std::string& given_host,
                     std::uint16_t port) {
  // "[2001:db8::1]" as remotehost is the address inside the brackets.
  const std::string host =
      given_host.size() >= 2 && given_host.front() == '[' && given_host.back() == ']'
          ? given_host.substr(1, given_host.size() - 2)
          : given_host;
  const std::string who =
      std::string(proxy.kind == proxy_kind::socks5 ? "SOCKS5" : "HTTP") + " proxy " + t.peer();
  if (proxy.kind == proxy_kind::socks5)
    socks5(t, who, host, port);
  else
    http_connect(t, who, host, port);
}

} // namespace oimap::protocol
