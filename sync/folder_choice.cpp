// The folder choice: listing, folderincludes, subscribedonly, folderfilter, nametrans.
#include "sync/folder_choice.hpp"

#include "config/config_error.hpp"
#include "config/python_eval.hpp"
#include "protocol/imap_error.hpp"
#include "protocol/utf7.hpp"
#include "sync/nametrans.hpp"

#include <algorithm>
#include <set>
#include <sstream>

namespace oimap::sync {
namespace {

// folderincludes: folders to sync whether the server lists them or the
// folderfilter wants them, as in OfflineIMAP.
std::set<std::string> included_folders(const config::repository_settings& repo,
                                       config::python_evaluator* python) {
  std::set<std::string> included;
  if (!repo.folderincludes)
    return included;
  const auto where = repo.where + ": repository '" + repo.name + "': folderincludes";
  if (!python)
    throw config::config_error(where + " needs the Python evaluator");
  std::istringstream names(python->call_text(
      "lambda: '\\n'.join(str(f) for f in (" + *repo.folderincludes + "))", {}, where));
  for (std::string name; std::getline(names, name);)
    if (!name.empty())
      included.insert(std::move(name));
  return included;
}

} // namespace

folder_tree choose_folders(protocol::session& session,
                           const std::vector<protocol::list_entry>& listed,
                           const std::vector<std::string>& local_folders,
                           const config::settings& settings,
                           const config::account_settings& account,
                           const std::shared_ptr<config::python_evaluator>& python,
                           const std::vector<std::string>& only) {
  const auto& local_repo = settings.local(account);
  const auto& remote_repo = settings.remote(account);
  // utf8foldernames: the filters and folderincludes name folders in UTF-8,
  // the server in modified UTF-7.
  const bool utf8 = account.utf8foldernames;
  const std::set<std::string> included = included_folders(remote_repo, python.get());
  std::vector<remote_folder> remote;
  for (const auto& entry : listed) {
    bool selectable = true;
    for (const auto& a : entry.attributes)
      if (a == "\\Noselect" || a == "\\NoSelect" || a == "\\NonExistent")
        selectable = false;
    remote.push_back({entry.name, entry.delimiter, selectable});
  }
  std::vector<refused_folder> unselectable;
  for (const auto& name : included) {
    const std::string wire = utf8 ? protocol::try_to_imap_utf7(name).value_or(name) : name;
    if (std::any_of(remote.begin(), remote.end(),
                    [&](const remote_folder& r) { return r.name == wire; }))
      continue;
    // Not listed: as OfflineIMAP, only if the server lets it be selected
    // (a name it does not know must not become a folder here).
    try {
      session.select(wire, true);
      remote.push_back({wire, 0, true});
    } catch (const protocol::imap_error& e) {
      if (e.kind() != protocol::error_kind::no && e.kind() != protocol::error_kind::bad)
        throw;
      unselectable.push_back({name, "folderincludes names '" + name
                                        + "', which the server cannot select: " + e.what()});
    }
  }
  folder_tree_options fo;
  fo.local_sep = local_repo.maildir()->sep;
  fo.create_local = local_repo.createfolders;
  fo.create_remote = remote_repo.createfolders;
  fo.local_readonly = local_repo.readonly;
  fo.remote_readonly = remote_repo.readonly;
  fo.only = only;
  // subscribedonly: a folder the server has but the user has not
  // subscribed to is left out (not created here, nor again there).
  std::set<std::string> unsubscribed;
  if (remote_repo.imap() && remote_repo.imap()->subscribedonly) {
    std::set<std::string> subscribed;
    for (const auto& e : session.lsub("", "*"))
      subscribed.insert(e.name);
    for (const auto& r : remote)
      if (!subscribed.count(r.name))
        unsubscribed.insert(seen_name(r.name, utf8));
  }
  if (local_repo.folderfilter || remote_repo.folderfilter || !unsubscribed.empty())
    // Each repository's filter sees its own side's name, as in OfflineIMAP.
    fo.filter = [&](const std::string& remote_name, const std::string& local_name) {
      if (included.count(remote_name))
        return true;
      if (unsubscribed.count(remote_name))
        return false;
      const auto passes = [&](const config::repository_settings& repo, const std::string& name) {
        if (!repo.folderfilter)
          return true;
        const auto where = repo.where + ": repository '" + repo.name + "': folderfilter";
        if (!python)
          throw config::config_error(where + " needs the Python evaluator");
        return python->call(*repo.folderfilter, {name}, where);
      };
      return passes(remote_repo, remote_name) && passes(local_repo, local_name);
    };
  fo.utf8_names = utf8;
  fo.remote_nametrans = nametrans_of(remote_repo, python);
  fo.local_nametrans = nametrans_of(local_repo, python);
  auto tree = pair_folders(remote, local_folders, fo);
  tree.refused.insert(tree.refused.begin(), unselectable.begin(), unselectable.end());
  return tree;
}

folder_sync_options account_sync_options(const config::settings& settings,
                                         const config::account_settings& account) {
  const auto& remote = settings.remote(account);
  const auto& local = settings.local(account);
  folder_sync_options o;
  o.plan.remote_sync_deletes = remote.sync_deletes;
  o.plan.local_sync_deletes = local.sync_deletes;
  o.plan.remote_readonly = remote.readonly;
  o.plan.local_readonly = local.readonly;
  o.expunge = remote.imap() ? remote.imap()->expunge : true;
  o.plan.expunge = o.expunge;
  o.window = window_of(account, std::time(nullptr));
  return o;
}

} // namespace oimap::sync
