// --info's report, from the same folder choice the sync makes.
#include "app/info.hpp"

#include "app/account_report.hpp"
#include "storage/maildir_store.hpp"
#include "sync/folder_choice.hpp"
#include "sync/remote_connect.hpp"

#include <algorithm>
#include <map>

namespace oimap::app {
namespace {

// How the connection is made, as connect_remote makes it.
std::string way_of(const config::imap_settings& imap, const protocol::session& session) {
  if (imap.preauthtunnel || imap.transporttunnel)
    return session.peer() + " (" + (imap.preauthtunnel ? "preauthtunnel" : "transporttunnel")
           + "), no TLS";
  std::string out =
      imap.proxy
          ? protocol::format_peer(imap.remotehost, static_cast<std::uint16_t>(imap.remoteport))
                + " via " + (imap.proxy->http ? "HTTP" : "SOCKS5") + " proxy " + session.peer()
          : session.peer();
  out += ", ";
  out += imap.ssl ? "TLS" : imap.starttls ? "STARTTLS" : "no TLS";
  if (imap.ssl || imap.starttls) {
    if (!imap.cert_fingerprints.empty())
      out += ", certificate pinned (cert_fingerprint)";
    else if (!imap.tls_verify)
      out += ", certificate NOT verified (ssl_verify = no)";
    else
      out += imap.sslcacertfile ? ", verified against " + imap.sslcacertfile->string()
                                : ", verified against the system store";
  }
  return out;
}

std::string joined(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& i : items)
    out += (out.empty() ? "" : sep) + i;
  return out;
}

// The account's report; throws what connecting or listing throws.
int describe_account(const config::settings& settings, const config::account_settings& account,
                     const std::shared_ptr<config::python_evaluator>& python,
                     const std::vector<std::string>& only, std::ostream& out, std::ostream& err) {
  const auto& remote_repo = settings.remote(account);
  const auto& local_repo = settings.local(account);
  const auto& imap = *remote_repo.imap();
  const auto* md = local_repo.maildir();
  auto session =
      sync::connect_remote(remote_repo, settings.general.socktimeout, {}, nullptr, python.get());
  out << "Remote repository '" << remote_repo.name << "' (IMAP): " << way_of(imap, *session)
      << ", user " << (session->user().empty() ? "(preauthenticated)" : session->user()) << "\n";
  std::vector<std::string> caps(session->capabilities().begin(), session->capabilities().end());
  out << "Server capabilities: " << joined(caps, " ") << "\n";

  const storage::maildir_store local(md->localfolders, md->sep);
  const auto listed = session->list("", "*");
  const auto tree =
      sync::choose_folders(*session, listed, local.list_folders(), settings, account, python, only);
  std::map<std::string, std::string> local_of;
  for (const auto& p : tree.pairs)
    local_of[p.remote_name] = p.local_name;
  out << "Server folders (name on the server -> name here):\n";
  for (const auto& e : listed) {
    const bool noselect = std::any_of(e.attributes.begin(), e.attributes.end(), [](auto& a) {
      return a == "\\Noselect" || a == "\\NoSelect" || a == "\\NonExistent";
    });
    const auto it = local_of.find(e.name);
    out << "  " << e.name;
    if (it != local_of.end())
      out << " -> " << it->second << "\n";
    else if (noselect)
      out << " (holds folders only: not synced)\n";
    else
      out << " (not synced: -f, a folderfilter, subscribedonly or createfolders)\n";
  }
  for (const auto& p : tree.pairs)
    if (std::none_of(listed.begin(), listed.end(),
                     [&](const protocol::list_entry& e) { return e.name == p.remote_name; }))
      out << "  " << p.remote_name << " -> " << p.local_name
          << (std::count(tree.create_remote.begin(), tree.create_remote.end(), p.remote_name)
                  ? " (to be created on the server)\n"
                  : " (folderincludes)\n");
  session->logout();

  out << "Local repository '" << local_repo.name << "' (Maildir): " << md->localfolders.string()
      << ", sep '" << md->sep << "'\n";
  if (!tree.create_local.empty())
    out << "Local folders to be created: " << joined(tree.create_local, ", ") << "\n";
  return report_refused(account.name, tree.refused, err);
}

} // namespace

int info(const config::settings& settings, const std::shared_ptr<config::python_evaluator>& python,
         const std::vector<std::string>& only, std::ostream& out, std::ostream& err) {
  out << "metadata: " << settings.general.metadata.string() << "\n";
  return for_each_account(settings, out, err, [&](const config::account_settings& account) {
    return describe_account(settings, account, python, only, out, err);
  });
}

} // namespace oimap::app
