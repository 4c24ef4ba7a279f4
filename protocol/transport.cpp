// Helpers shared by the transports: peer names and IP literal detection.
#include "protocol/transport.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

namespace oimap::protocol {

namespace {

std::string_view strip_brackets(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    return host.substr(1, host.size() - 2);
  return host;
}

} // namespace

std::string format_peer(std::string_view host, std::uint16_t port) {
  std::string out;
  bool v6 = host.find(':') != std::string_view::npos && host.front() != '[';
  if (v6)
    out += '[';
  out += host;
  if (v6)
    out += ']';
  out += ':';
  out += std::to_string(port);
  return out;
}

bool is_ip_literal(std::string_view host) {
  std::string h(strip_brackets(host));
  in6_addr buf{};
  return inet_pton(AF_INET, h.c_str(), &buf) == 1 || inet_pton(AF_INET6, h.c_str(), &buf) == 1;
}

} // namespace oimap::protocol
