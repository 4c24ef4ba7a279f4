// Opens a logged-in IMAP session for a repository's settings.
#pragma once

#include "config/settings.hpp"

#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace oimap::config {
class python_evaluator;
} // namespace oimap::config

namespace oimap::protocol {
class session;
class transport;
} // namespace oimap::protocol

namespace oimap::sync {

using trace_fn = std::function<void(char direction, std::string_view line)>;

// The socket timeout when the configuration sets none (socktimeout = 0).
constexpr int default_socktimeout_seconds = 120;

// Throws protocol::imap_error (connect, TLS, auth) or config::config_error
// (password file unreadable, no password configured, a Python option that
// failed); neither names the password. connected: a connection to the
// repository's server begun earlier (see early_connections); null to
// connect here. python: evaluates remotehosteval, remoteporteval,
// remoteusereval and remotepasseval, which win over their plain forms as in
// OfflineIMAP; without it they are refused.
std::unique_ptr<protocol::session>
connect_remote(const config::repository_settings& repo, int socktimeout, const trace_fn& trace,
               std::unique_ptr<protocol::transport> connected = nullptr,
               config::python_evaluator* python = nullptr);

// Connections begun before anything asks for them, so that the server's
// greeting (5 ms for Dovecot here: it starts a login process) is on its way
// while the program starts its actors, opens its status database and lists
// its Maildir. Each is taken once, by whichever login comes first; one never
// taken is closed when its thread and this object are both done with it.
class early_connections {
public:
  // Starts connecting, on a thread of its own, to repo's server; nothing for
  // a repository connect_remote would refuse before connecting.
  void start(const std::string& key, const config::repository_settings& repo, int socktimeout);
  // The connection begun for key, waiting for it if need be; null if none
  // was, or it was taken already. Throws what connecting failed with.
  std::unique_ptr<protocol::transport> take(const std::string& key);

private:
  std::mutex mutex_;
  std::map<std::string, std::future<std::unique_ptr<protocol::transport>>> pending_;
};

} // namespace oimap::sync
