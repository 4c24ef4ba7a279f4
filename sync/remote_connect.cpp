// Turns an IMAP repository's settings into connect options and logs in.
#include "sync/remote_connect.hpp"

#include "config/config_error.hpp"
#include "protocol/session.hpp"

namespace oimap::sync {

std::unique_ptr<protocol::session> connect_remote(const config::repository_settings& repo,
                                                  int socktimeout, const trace_fn& trace) {
  const auto* imap = repo.imap();
  if (!imap)
    throw config::config_error(repo.where + ": repository '" + repo.name
                               + "' is not an IMAP repository");
  if (imap->remotehosteval || imap->remoteusereval || imap->remoteporteval)
    throw config::config_error(repo.where + ": repository '" + repo.name
                               + "': the *eval options need the Python evaluator, which oimap "
                                 "does not have yet");
  auto password = config::read_password(repo);
  if (!password) {
    if (imap->remotepasseval)
      throw config::config_error(repo.where + ": repository '" + repo.name
                                 + "': remotepasseval needs the Python evaluator, which oimap "
                                   "does not have yet; use remotepass or remotepassfile");
    throw config::config_error(repo.where + ": repository '" + repo.name
                               + "': no password configured (remotepass or remotepassfile)");
  }
  protocol::connect_options o;
  o.host = imap->remotehost;
  o.port = static_cast<std::uint16_t>(imap->remoteport);
  o.ssl = imap->ssl;
  o.starttls = !imap->ssl && imap->starttls;
  if (imap->sslcacertfile)
    o.cafile = imap->sslcacertfile->string();
  o.verify = imap->tls_verify;
  // socktimeout 0 means "none" to OfflineIMAP, which lets a server that
  // never answers hang a run forever; oimap waits at most 2 minutes then.
  o.timeout_seconds = socktimeout > 0 ? socktimeout : default_socktimeout_seconds;
  o.user = imap->remoteuser;
  o.password = password->reveal();
  // Only PLAIN and LOGIN exist so far; the others of OfflineIMAP's default
  // list (GSSAPI, XOAUTH2, CRAM-MD5) are skipped rather than refused.
  for (const auto& m : imap->auth_mechanisms)
    if (m == "PLAIN" || m == "LOGIN")
      o.auth_mechanisms.push_back(m);
  o.trace = trace;
  return protocol::session::connect(o);
}

} // namespace oimap::sync
