// Turns an IMAP repository's settings into connect options and logs in.
#include "sync/remote_connect.hpp"

#include "config/config_error.hpp"
#include "config/netrc.hpp"
#include "config/paths.hpp"
#include "config/python_eval.hpp"
#include "protocol/imap_error.hpp"
#include "protocol/session.hpp"
#include "sync/password_prompt.hpp"

#include <charconv>
#include <map>
#include <mutex>
#include <thread>
#include <unistd.h>

namespace oimap::sync {

namespace {

// Everything but the credentials: enough to connect.
protocol::connect_options connection_options(const config::imap_settings& imap, int socktimeout) {
  protocol::connect_options o;
  o.host = imap.remotehost;
  o.port = static_cast<std::uint16_t>(imap.remoteport);
  o.ssl = imap.ssl;
  o.starttls = !imap.ssl && imap.starttls;
  if (imap.sslcacertfile)
    o.cafile = imap.sslcacertfile->string();
  o.verify = imap.tls_verify;
  if (imap.ipv6)
    o.family = *imap.ipv6 ? protocol::address_family::ipv6 : protocol::address_family::ipv4;
  if (imap.proxy)
    o.proxy = protocol::proxy_options{
        imap.proxy->http ? protocol::proxy_kind::http : protocol::proxy_kind::socks5,
        imap.proxy->host, static_cast<std::uint16_t>(imap.proxy->port)};
  // A tunnel is the transport, as in OfflineIMAP: no TLS on top of it.
  if (const auto& tunnel = imap.preauthtunnel ? imap.preauthtunnel : imap.transporttunnel) {
    o.tunnel = *tunnel;
    o.expect_preauth = imap.preauthtunnel.has_value();
    o.ssl = false;
    o.starttls = false;
  }
  o.fingerprints = imap.cert_fingerprints;
  if (imap.sslclientcert)
    o.client_cert = imap.sslclientcert->string();
  if (imap.sslclientkey)
    o.client_key = imap.sslclientkey->string();
  // socktimeout 0 means "none" to OfflineIMAP, which lets a server that
  // never answers hang a run forever; oimap waits at most 2 minutes then.
  o.timeout_seconds = socktimeout > 0 ? socktimeout : default_socktimeout_seconds;
  return o;
}

// The passwords the user typed, by repository: asked once a run, the other
// connections wait for the answer and take it; one the server refused is
// forgotten (the next login asks again).
std::mutex prompted_mutex;
std::map<std::string, config::secret> prompted_answers;

std::optional<config::secret> prompted_password(const std::string& repository,
                                                const config::imap_settings& imap) {
  auto& answers = prompted_answers;
  std::lock_guard lock(prompted_mutex);
  if (auto it = answers.find(repository); it != answers.end())
    return it->second;
  const int tty = open_terminal();
  if (tty < 0)
    return std::nullopt;
  std::optional<config::secret> answer;
  try {
    answer = ask_password(tty, "Password for " + imap.remoteuser + " on " + imap.remotehost
                                   + " (repository '" + repository + "'): ");
  } catch (const std::runtime_error&) {
    // Not a terminal after all: nobody to ask.
  }
  ::close(tty);
  if (answer)
    answers.emplace(repository, *answer);
  return answer;
}

bool needs_python(const config::imap_settings& imap) {
  return imap.remotehosteval || imap.remoteusereval || imap.remoteporteval;
}

} // namespace

std::unique_ptr<protocol::session> connect_remote(const config::repository_settings& repo,
                                                  int socktimeout, const trace_fn& trace,
                                                  std::unique_ptr<protocol::transport> connected,
                                                  config::python_evaluator* python) {
  const auto* given = repo.imap();
  if (!given)
    throw config::config_error(repo.where + ": repository '" + repo.name
                               + "' is not an IMAP repository");
  const auto where = [&](const char* option) {
    return repo.where + ": repository '" + repo.name + "': " + option;
  };
  if ((needs_python(*given) || given->remotepasseval) && !python)
    throw config::config_error(where("the *eval options") + " need the Python evaluator");
  // The settings with the Python options' values in place.
  config::imap_settings evaluated = *given;
  const auto* imap = &evaluated;
  if (given->remotehosteval)
    evaluated.remotehost = python->value(*given->remotehosteval, where("remotehosteval"));
  if (given->remoteusereval)
    evaluated.remoteuser = python->value(*given->remoteusereval, where("remoteusereval"));
  if (given->remoteporteval) {
    const auto text = python->value(*given->remoteporteval, where("remoteporteval"));
    int port = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (ec != std::errc() || end != text.data() + text.size() || port < 1 || port > 65535)
      throw config::config_error(where("remoteporteval") + ": '" + text
                                 + "' is not a port number (1 to 65535)");
    evaluated.remoteport = port;
  }
  if (given->preauthtunnel) { // logged in by the command: no user, no password
    auto o = connection_options(*given, socktimeout);
    o.trace = trace;
    return protocol::session::connect(o, std::move(connected));
  }
  std::optional<config::secret> password;
  if (given->remotepasseval)
    password = config::secret(python->value(*given->remotepasseval, where("remotepasseval")));
  else
    password = config::read_password(repo);
  // Then, as OfflineIMAP: ~/.netrc, /etc/netrc, for this host and user.
  for (const auto& [file, own] :
       {std::pair{std::filesystem::path(config::expand_user("~")) / ".netrc", true},
        std::pair{std::filesystem::path("/etc/netrc"), false}}) {
    if (password)
      break;
    const auto entry = config::netrc_lookup(file, evaluated.remotehost, own);
    if (entry && entry->password && (entry->login.empty() || entry->login == evaluated.remoteuser))
      password = entry->password;
  }
  // Last, as OfflineIMAP's UIs: ask the user, if there is a terminal.
  bool prompted = false;
  if (!password) {
    password = prompted_password(repo.name, evaluated);
    prompted = password.has_value();
  }
  if (!password)
    throw config::config_error(repo.where + ": repository '" + repo.name
                               + "': no password configured (remotepass, remotepassfile, "
                                 "remotepasseval, or a .netrc entry for "
                               + evaluated.remotehost + "), and no terminal to ask for one");
  auto o = connection_options(*imap, socktimeout);
  o.user = imap->remoteuser;
  o.password = password->reveal();
  o.authzid = imap->remote_identity;
  // Only PLAIN and LOGIN exist so far; the others of OfflineIMAP's default
  // list (GSSAPI, XOAUTH2, CRAM-MD5) are skipped rather than refused.
  for (const auto& m : imap->auth_mechanisms)
    if (m == "PLAIN" || m == "LOGIN")
      o.auth_mechanisms.push_back(m);
  o.trace = trace;
  try {
    return protocol::session::connect(o, std::move(connected));
  } catch (const protocol::imap_error& e) {
    if (prompted && e.kind() == protocol::error_kind::auth) {
      std::lock_guard lock(prompted_mutex);
      prompted_answers.erase(repo.name);
    }
    throw;
  }
}

void early_connections::start(const std::string& key, const config::repository_settings& repo,
                              int socktimeout) {
  const auto* imap = repo.imap();
  if (!imap || needs_python(*imap))
    return;
  std::promise<std::unique_ptr<protocol::transport>> promise;
  auto future = promise.get_future();
  {
    std::lock_guard lock(mutex_);
    if (!pending_.emplace(key, std::move(future)).second)
      return;
  }
  // Detached: a connection nobody takes (the account failed before its
  // login) must not hold up the end of the run, even while it waits out
  // its timeout on a server that does not answer.
  std::thread([promise = std::move(promise),
               options = connection_options(*imap, socktimeout)]() mutable {
    try {
      promise.set_value(protocol::session::open_transport(options));
    } catch (...) {
      promise.set_exception(std::current_exception());
    }
  }).detach();
}

std::unique_ptr<protocol::transport> early_connections::take(const std::string& key) {
  std::future<std::unique_ptr<protocol::transport>> future;
  {
    std::lock_guard lock(mutex_);
    auto it = pending_.find(key);
    if (it == pending_.end() || !it->second.valid())
      return nullptr;
    future = std::move(it->second);
  }
  return future.get();
}

} // namespace oimap::sync
