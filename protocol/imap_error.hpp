// The one exception type of the IMAP layer: a kind saying what failed, and a message naming where.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace oimap::protocol {

enum class error_kind {
  connect,  // resolving or connecting the TCP socket
  tls,      // handshake, certificate verification, STARTTLS not offered
  auth,     // login refused or no usable mechanism
  protocol, // the server sent something we cannot parse or did not expect
  timeout,  // socktimeout expired while connecting, reading or writing
  closed,   // BYE, connection lost, or shut down locally
  no,       // tagged NO
  bad,      // tagged BAD
};

constexpr std::string_view to_string(error_kind k) {
  switch (k) {
  case error_kind::connect:
    return "connect";
  case error_kind::tls:
    return "tls";
  case error_kind::auth:
    return "auth";
  case error_kind::protocol:
    return "protocol";
  case error_kind::timeout:
    return "timeout";
  case error_kind::closed:
    return "closed";
  case error_kind::no:
    return "no";
  case error_kind::bad:
    return "bad";
  }
  return "unknown";
}

class imap_error : public std::runtime_error {
public:
  // code: the bracketed response code's first atom, upper-cased (TRYCREATE,
  // AUTHENTICATIONFAILED, ...), so callers can react without parsing text.
  imap_error(error_kind kind, const std::string& message, std::string code = {})
      : std::runtime_error(message), kind_(kind), code_(std::move(code)) {}

  error_kind kind() const noexcept { return kind_; }
  const std::string& code() const noexcept { return code_; }

private:
  error_kind kind_;
  std::string code_;
};

} // namespace oimap::protocol
