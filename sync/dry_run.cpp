// --dry-run: the sync's own pairing and planner, fed by reads only.
#include "sync/dry_run.hpp"

#include "protocol/imap_error.hpp"
#include "storage/storage_error.hpp"
#include "sync/folder_choice.hpp"
#include "sync/plan.hpp"
#include "sync/remote_connect.hpp"

#include <algorithm>
#include <set>

namespace oimap::sync {

folder_preview preview_folder(protocol::session& remote, const storage::maildir_store& local,
                              const storage::status_db* status, const folder_pair& pair,
                              bool create_local, bool create_remote,
                              const folder_sync_options& opt) {
  folder_preview out;
  out.local_name = pair.local_name;
  out.remote_name = pair.remote_name;
  out.create_local = create_local;
  out.create_remote = create_remote;

  std::unique_ptr<storage::maildir_folder> folder;
  std::optional<storage::folder_meta> meta;
  std::vector<storage::status_record> S;
  if (status) {
    meta = status->get_meta(pair.status_name);
    S = status->load(pair.status_name);
  }
  plan_input in;
  bool local_has_uids = false;
  if (!create_local) {
    folder = local.open(pair.local_name, pair.fmd5_name);
    for (auto& e : folder->scan()) {
      local_has_uids |= e.uid.has_value();
      in.local.push_back({std::move(e.key), e.uid, e.flags});
    }
  }
  std::uint32_t uidnext = 0;
  if (!create_remote) {
    const auto info = remote.select(pair.remote_name, true);
    uidnext = info.uidnext;
    in.remote_uidvalidity = info.uidvalidity;
    if (info.exists > 0)
      for (const auto& f : remote.fetch_flags("1:*"))
        in.remote.push_back({f.uid, f.flags});
    std::sort(in.remote.begin(), in.remote.end(),
              [](const remote_message& a, const remote_message& b) { return a.uid < b.uid; });
  } else if (meta) {
    in.remote_uidvalidity = meta->uidvalidity;
  }
  const auto binding = bind_status(meta, in.remote_uidvalidity, S.empty(), local_has_uids);
  if (binding.drop_status)
    S.clear(); // the sync would drop it
  in.stored_uidvalidity = binding.stored_uidvalidity;
  for (const auto& s : S)
    in.status.push_back({s.uid, s.flags});

  if (opt.window.active()) {
    const auto window = create_remote ? message_window{} : find_window(remote, opt.window, uidnext);
    const size_fn no_files = [](const std::string&) { return std::nullopt; };
    out.too_large =
        leave_outside(in, window, opt.window.maxsize, folder ? file_sizes(*folder) : no_files)
            .size();
  }
  const plan_result p = plan(in, opt.plan);
  out.uidvalidity_changed = p.uidvalidity_changed;
  out.download = p.download.size();
  out.upload = p.upload.size();
  out.delete_local = p.delete_local.size();
  out.delete_remote = p.delete_remote.size();
  out.local_flags = p.set_local_flags.size();
  out.remote_flags = p.set_remote_flags.size();
  return out;
}

std::string describe(const folder_preview& p) {
  if (p.uidvalidity_changed)
    return "UIDVALIDITY changed on the server: the folder would be skipped, nothing deleted";
  std::vector<std::string> parts;
  if (p.create_local)
    parts.push_back("create the local folder");
  if (p.create_remote)
    parts.push_back("create '" + p.remote_name + "' on the server");
  const auto count = [&](std::size_t n, const std::string& verb, const std::string& where) {
    if (n)
      parts.push_back(verb + std::to_string(n) + where);
  };
  count(p.download, "copy ", " here");
  count(p.upload, "copy ", " to the server");
  count(p.delete_local, "delete ", " here");
  count(p.delete_remote, "delete ", " on the server");
  count(p.local_flags, "change the flags of ", " here");
  count(p.remote_flags, "change the flags of ", " on the server");
  count(p.too_large, "not upload ", " over maxsize");
  if (parts.empty())
    return "nothing to do";
  std::string out = "would ";
  for (std::size_t i = 0; i < parts.size(); ++i)
    out += (i ? ", " : "") + parts[i];
  return out;
}

account_preview preview_account(const config::settings& settings,
                                const config::account_settings& account,
                                const std::shared_ptr<config::python_evaluator>& python,
                                const std::vector<std::string>& only) {
  const auto& local_repo = settings.local(account);
  const auto* md = local_repo.maildir();
  storage::maildir_options mo;
  mo.windows_compatible = account.maildir_windows_compatible;
  const storage::maildir_store local(md->localfolders, md->sep, mo);
  const auto status = storage::status_db::open_read_only(
      settings.general.metadata / ("Account-" + account.name) / "oimap-status");
  auto session = connect_remote(settings.remote(account), settings.general.socktimeout, {}, nullptr,
                                python.get());
  const auto tree = choose_folders(*session, session->list("", "*"), local.list_folders(), settings,
                                   account, python, only);
  const std::set<std::string> create_local(tree.create_local.begin(), tree.create_local.end());
  const std::set<std::string> create_remote(tree.create_remote.begin(), tree.create_remote.end());
  const auto options = account_sync_options(settings, account);
  account_preview out;
  out.refused = tree.refused;
  for (const auto& pair : tree.pairs) {
    // As the sync: a folder that cannot be read fails alone; a lost
    // connection ends the account.
    try {
      out.folders.push_back(preview_folder(*session, local, status.get(), pair,
                                           create_local.count(pair.local_name) > 0,
                                           create_remote.count(pair.remote_name) > 0, options));
    } catch (const storage::storage_error& e) {
      out.refused.push_back({pair.local_name, e.what()});
    } catch (const protocol::imap_error& e) {
      if (e.kind() != protocol::error_kind::no && e.kind() != protocol::error_kind::bad)
        throw;
      out.refused.push_back({pair.local_name, e.what()});
    }
  }
  session->logout();
  return out;
}

} // namespace oimap::sync
