// A transport over a command's stdin and stdout (pipes): OfflineIMAP's preauthtunnel and
// transporttunnel.
#pragma once

#include "protocol/tcp_transport.hpp"

#include <memory>
#include <string>
#include <sys/types.h>

namespace oimap::protocol {

// The command (run by /bin/sh: `ssh mail.example.org /usr/lib/dovecot/imap`,
// `openssl s_client -quiet -connect host:993`) speaks IMAP on its stdin and
// stdout; its stderr is ours, so what ssh says reaches the user.
class tunnel_transport final : public transport {
public:
  // Throws imap_error(connect) when the command cannot be started.
  static std::unique_ptr<tunnel_transport> start(const std::string& command, int timeout_seconds);
  // Closes our end (the command sees its input end), then waits for the
  // command; one still running after 2 s is killed.
  ~tunnel_transport() override;

  std::size_t read_some(char* buf, std::size_t n) override { return stream_->read_some(buf, n); }
  void write_all(std::string_view data) override { stream_->write_all(data); }
  void shutdown() override { stream_->shutdown(); }
  const std::string& peer() const override { return stream_->peer(); }
  // Wherever the command leads, it is not known to be this machine.
  bool on_this_host() const override { return false; }

private:
  tunnel_transport(std::unique_ptr<tcp_transport> stream, pid_t pid)
      : stream_(std::move(stream)), pid_(pid) {}

  std::unique_ptr<tcp_transport> stream_;
  pid_t pid_;
};

} // namespace oimap::protocol
