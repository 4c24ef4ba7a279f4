// The EXAMINE round ahead of the syncers: which folders go in it, and handing each its part.
#include "sync/examine_ahead.hpp"

#include "storage/maildir_store.hpp"
#include "storage/status_db.hpp"
#include "storage/storage_error.hpp"

namespace oimap::sync {

namespace {
// Each folder's part keeps its Maildir's directories open (three
// descriptors) until its sync takes it: a far server with thousands of
// re-flagged folders must not run the process out of descriptors. The
// others EXAMINE as usual.
constexpr std::size_t max_folders = 32;
} // namespace

examine_ahead::examine_ahead(std::shared_ptr<storage::maildir_store> local,
                             const storage::status_db& status,
                             const std::vector<folder_pair>& pairs, const folder_sync_options& opt,
                             std::uint32_t max_new)
    : local_(std::move(local)) {
  // The syncer would EXAMINE (not SELECT) such a folder, and prefetch the
  // same bodies: see folder_run::run.
  if (opt.plan.remote_readonly || opt.plan.local_readonly)
    return;
  std::uint64_t total_new = 0;
  folders_.reserve(pairs.size());
  for (const auto& p : pairs) {
    if (folders_.size() == max_folders)
      break;
    const auto meta = status.get_meta(p.status_name);
    if (!meta || meta->highestmodseq == 0 || !p.remote_status
        || p.remote_status->uidvalidity != meta->uidvalidity || !local_->has_folder(p.local_name))
      continue;
    try {
      if (!local_unchanged(*local_, p, meta))
        continue;
    } catch (const storage::storage_error&) {
      continue; // its own sync meets the error and reports it
    }
    const std::uint32_t first = first_unrecorded_uid(status.last_uid(p.status_name), *meta);
    const std::uint32_t uidnext = p.remote_status->uidnext;
    const std::uint64_t arriving = uidnext > first ? uidnext - first : 0;
    // More than a batch would need a FETCH of its own, after the round, on a
    // connection selecting the folder again.
    if (arriving > opt.batch || total_new + arriving > max_new)
      continue;
    total_new += arriving;
    folder f;
    f.pair = p;
    f.uidvalidity = meta->uidvalidity;
    f.modseq = meta->highestmodseq;
    if (arriving > 0)
      f.prefetch_set = std::to_string(first) + ":*";
    f.future = f.promise.get_future().share();
    folders_.push_back(std::move(f));
  }
  for (std::size_t i = 0; i < folders_.size(); ++i)
    by_name_.emplace(folders_[i].pair.remote_name, i);
}

examine_ahead::~examine_ahead() {
  for (auto& f : folders_)
    settle(f, nullptr);
}

examined_ahead examine_ahead::future(const std::string& remote_name) const {
  const auto it = by_name_.find(remote_name);
  return it == by_name_.end() ? examined_ahead{} : folders_[it->second].future;
}

void examine_ahead::settle(folder& f, std::shared_ptr<examined_folder> got) {
  if (f.settled)
    return;
  f.settled = true;
  f.promise.set_value(std::move(got));
}

void examine_ahead::run(protocol::session& session) {
  std::vector<protocol::session::examine_request> requests;
  std::vector<std::shared_ptr<examined_folder>> parts;
  std::vector<std::size_t> folder_of; // per request
  try {
    for (std::size_t i = 0; i < folders_.size(); ++i) {
      auto& f = folders_[i];
      auto part = std::make_shared<examined_folder>();
      try {
        part->folder = local_->open(f.pair.local_name, f.pair.fmd5_name);
      } catch (const storage::storage_error&) {
        settle(f, nullptr); // its syncer meets the error and reports it
        continue;
      }
      protocol::session::examine_request q;
      q.mailbox = f.pair.remote_name;
      q.uidvalidity = f.uidvalidity;
      q.modseq = f.modseq;
      if (f.prefetch_set) {
        part->prefetched = std::make_unique<prefetched_bodies>(*part->folder);
        q.also = protocol::session::prefetch{*f.prefetch_set, part->prefetched.get()};
      }
      requests.push_back(std::move(q));
      parts.push_back(std::move(part));
      folder_of.push_back(i);
    }
    session.examine_many(requests, [&](std::size_t i, protocol::session::examined&& got) {
      auto& f = folders_[folder_of[i]];
      if (!got.ok) {
        settle(f, nullptr); // its syncer asks again, and reports the refusal
        return;
      }
      parts[i]->info = got.info;
      parts[i]->resync = std::move(got.changes);
      settle(f, std::move(parts[i]));
    });
  } catch (...) {
    for (auto& f : folders_)
      settle(f, nullptr);
    throw;
  }
}

} // namespace oimap::sync
