// The folder sync executor: snapshot, plan, then carry out each action durably.
#include "sync/folder_sync.hpp"

#include "protocol/imap_error.hpp"
#include "protocol/session.hpp"
#include "storage/maildir_store.hpp"
#include "storage/md5.hpp"
#include "storage/status_db.hpp"
#include "storage/storage_error.hpp"
#include "sync/examined_folder.hpp"
#include "sync/prefetched_bodies.hpp"

#include <algorithm>
#include <ctime>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_map>
#include <unordered_set>

namespace oimap::sync {
namespace {

using storage::md5_hasher;
using storage::status_db;

// Folders from this many messages on are watched while they sync (see
// maildir_folder::scan), which also lets a sync skip their scan.
constexpr std::uint32_t watch_threshold = 1000;

// INTERNALDATE for an upload: the file's mtime, as OfflineIMAP does.
std::string imap_date_of(const std::filesystem::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0)
    return {};
  std::tm tm{};
  gmtime_r(&st.st_mtime, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%d-%b-%Y %H:%M:%S +0000", &tm);
  return buf;
}

// How many of the messages come without \Seen: new mail, to OfflineIMAP.
std::uint64_t unseen(const std::vector<storage::staged_message>& msgs) {
  return static_cast<std::uint64_t>(std::count_if(
      msgs.begin(), msgs.end(), [](const auto& m) { return !m.flags.has(storage::flag::seen); }));
}

// Streams bodies straight from the FETCH literal into Maildir tmp/ files.
// Each finished message is staged; every batch of them goes to the
// committer, which makes them durable and puts them in place.
class download_copier final : public protocol::body_consumer {
public:
  download_copier(storage::maildir_folder& folder, folder_counts& counts, std::size_t batch,
                  stage_committer& committer, std::function<void()> on_batch)
      : folder_(folder), counts_(counts), batch_(batch), committer_(committer),
        on_batch_(std::move(on_batch)) {}

  void begin(std::uint64_t size) override {
    writer_.emplace(folder_.begin_message());
    counts_.bytes += size;
  }
  void data(std::string_view chunk) override { writer_->write(chunk); }
  void end() override {}
  void message(std::uint32_t uid, storage::flag_set flags, std::string /*internaldate*/) override {
    if (!writer_)
      return; // a FETCH without a body (unsolicited flags update)
    staged_.push_back(writer_->stage(uid, flags));
    writer_.reset();
    if (staged_.size() >= batch_)
      flush();
  }
  void discard() override { writer_.reset(); } // a body nobody asked for: its tmp file goes

  void flush() {
    if (staged_.empty())
      return;
    counts_.downloaded += staged_.size();
    counts_.downloaded_unseen += unseen(staged_);
    committer_.submit(std::move(staged_));
    staged_.clear();
    on_batch_();
  }

  ~download_copier() {
    // Staged files never handed on (an error cut the fetch short) are removed.
    for (const auto& m : staged_)
      ::unlink(m.tmp_path.c_str());
  }

private:
  storage::maildir_folder& folder_;
  folder_counts& counts_;
  std::size_t batch_;
  stage_committer& committer_;
  std::function<void()> on_batch_;
  std::optional<storage::message_writer> writer_;
  std::vector<storage::staged_message> staged_;
};

class inline_committer final : public stage_committer {
public:
  inline_committer(storage::maildir_folder& folder, std::string status_name,
                   status_write_fn write_status)
      : folder_(folder), status_name_(std::move(status_name)),
        write_status_(std::move(write_status)) {}
  void submit(std::vector<storage::staged_message> batch) override {
    auto stored = commit_batch(folder_, batch, status_name_, write_status_);
    std::move(stored.begin(), stored.end(), std::back_inserter(stored_));
  }
  std::vector<stored_message> drain() override { return std::move(stored_); }

private:
  storage::maildir_folder& folder_;
  std::string status_name_;
  status_write_fn write_status_;
  std::vector<stored_message> stored_;
};

// Hashes fetched bodies, to find which candidate UID is a journaled upload.
class hashing_consumer final : public protocol::body_consumer {
public:
  void begin(std::uint64_t) override { hasher_.emplace(); }
  void data(std::string_view chunk) override { hasher_->update(chunk); }
  void end() override {}
  void message(std::uint32_t uid, storage::flag_set, std::string) override {
    if (hasher_)
      by_md5.emplace(hasher_->hex(), uid);
    hasher_.reset();
  }
  void discard() override { hasher_.reset(); }
  std::unordered_multimap<std::string, std::uint32_t> by_md5;

private:
  std::optional<md5_hasher> hasher_;
};

// The Maildir's new/ and cur/ still carry the stamps the last sync sealed.
bool local_stamp_matches(const storage::dir_stamp& stamp,
                         const std::optional<storage::folder_meta>& meta) {
  return meta && meta->local_new_mtime != 0 && meta->local_new_mtime == stamp.new_ns
         && meta->local_cur_mtime == stamp.cur_ns;
}

// With CONDSTORE, the same HIGHESTMODSEQ, UIDNEXT and message count mean the
// server holds exactly what the status recorded. A readonly server may hold
// flags the status never took on, so its state is no stand-in for a fetch.
bool remote_matches(const std::optional<storage::folder_meta>& meta, const remote_snapshot& r,
                    bool readonly) {
  return !readonly && meta && r.highestmodseq != 0 && meta->uidvalidity == r.uidvalidity
         && meta->highestmodseq == r.highestmodseq && meta->uidnext == r.uidnext
         && meta->exists == r.exists;
}

// The plan's flag changes for the server, as the session takes them.
std::vector<protocol::flag_change> remote_flag_changes(const plan_result& p) {
  std::vector<protocol::flag_change> changes;
  changes.reserve(p.set_remote_flags.size());
  for (const auto& c : p.set_remote_flags)
    changes.push_back({c.uid, c.add, c.remove});
  return changes;
}

class folder_run {
public:
  folder_run(const acquire_fn& acquire, storage::maildir_store& local, status_db& status,
             const status_write_fn& write_status, const folder_pair& pair,
             const folder_sync_options& opt, const std::atomic<bool>& stop,
             const progress_fn& progress, const committer_factory& make_committer,
             const remote_done_fn& remote_done, const examined_ahead* ahead)
      : acquire_(acquire), local_(local), status_(status), write_status_(write_status), pair_(pair),
        opt_(opt), stop_(stop), progress_(progress), make_committer_(make_committer),
        remote_done_(remote_done), ahead_(ahead) {}

  folder_result run();

private:
  // A download committed batch by batch as the bodies stream in.
  struct streaming_download {
    std::unique_ptr<stage_committer> committer;
    std::optional<download_copier> copier;
  };
  // MD5 of a local message in wire form (CRLF), as the server returns it.
  std::string wire_md5(const std::string& key);
  void recover_pending_uploads(std::vector<local_message>& L, const std::vector<remote_message>& R,
                               const std::vector<storage::status_record>& S);
  // Downloads msgs, or every message of whole_set (e.g. "1:*").
  std::vector<stored_message> download(const std::vector<remote_message>& msgs,
                                       std::optional<std::string_view> whole_set = {});
  // A download whose batches are committed as the bodies arrive; expected
  // is how many (a guess is fine): many get a committer thread.
  std::unique_ptr<streaming_download> start_download(std::size_t expected);
  std::vector<stored_message> finish_download(streaming_download& d);
  // A folder never synced, with no status and no messages here, is all
  // download: prepares early_ so that the bodies follow the SELECT.
  bool start_first_sync(const std::optional<storage::folder_meta>& meta);
  void upload(const std::vector<local_message>& msgs);
  void delete_local(const std::vector<local_delete>& dels);
  void delete_remote(const std::vector<uid_t>& uids);
  void apply_flags(const plan_result& p);
  // The STORE of store_with_upload_ was answered: its records join the batch.
  // (A refused one throws from the command that read its answer.)
  void flags_stored() {
    for (const auto& r : records_after_store_)
      batch_.set_record(pair_.status_name, r);
    result_.counts.flags_remote += store_with_upload_.size();
    records_after_store_.clear();
    store_with_upload_.clear();
  }
  // Where the SELECT's prefetch starts (see sync::first_unrecorded_uid).
  std::uint32_t first_unrecorded_uid(const storage::folder_meta& meta) const {
    if (!read_ahead_)
      return sync::first_unrecorded_uid(status_.last_uid(pair_.status_name), meta);
    const auto& S = read_ahead_->status;
    return sync::first_unrecorded_uid(S.empty() ? std::nullopt : std::optional(S.back().uid), meta);
  }
  // After EXAMINE: SELECT again, read-write, for STORE and EXPUNGE.
  void select_for_writing() {
    reselect_ = false; // selected here in any case
    auto again = remote().select(pair_.remote_name, false);
    examined_ = false;
    if (again.uidvalidity != info_.uidvalidity)
      throw protocol::imap_error(protocol::error_kind::no,
                                 "folder '" + pair_.remote_name
                                     + "' changed its UIDVALIDITY during the sync; run again");
  }
  // The plan's input from what the server says changed (QRESYNC) and the
  // recorded keys of those messages' files, without scanning the folder or
  // loading its whole status. False when anything needed is not at hand:
  // then the folder is scanned as usual.
  bool snapshot_changes(const storage::folder_meta& meta, const protocol::session::resync& changes,
                        plan_input& in);
  // The plan's input from the whole folder: its scan, its status and the
  // server's flags (or, for a first sync, its messages, downloaded on the
  // way). Returns whether this was the folder's first sync.
  bool snapshot_all(const std::optional<storage::folder_meta>& meta,
                    const protocol::session::resync* resync, bool remote_unchanged, plan_input& in);
  // Records where the message's file is, unless the key names a duplicate.
  void record_key(uid_t uid, std::string_view key) {
    if (key.find('/') == std::string_view::npos)
      batch_.set_key(pair_.status_name, uid, key);
  }
  // Makes renames durable, then writes the status batch: S only ever
  // describes what is already on disk and on the server.
  void commit_status();
  // The server's uid -> flags, as cheaply as the recorded CONDSTORE state allows.
  std::vector<remote_message> fetch_remote_flags(const std::optional<storage::folder_meta>& meta,
                                                 const std::vector<storage::status_record>& S,
                                                 const protocol::session::resync* resync);
  void report() {
    if (progress_)
      progress_(result_.counts);
  }
  protocol::session& remote() {
    if (released_)
      throw std::logic_error("folder '" + pair_.remote_name + "': session used after release");
    if (!remote_) {
      remote_ = &acquire_();
      if (reselect_)
        select_again();
    }
    return *remote_;
  }
  // The EXAMINE round that examined this folder went on to others (on this
  // connection or another): the folder is selected again, as it was.
  void select_again() {
    reselect_ = false;
    if (remote_->selected() == pair_.remote_name)
      return; // the round's last folder, on the round's connection
    const auto again = remote_->select(pair_.remote_name, opt_.plan.remote_readonly || examined_);
    if (again.uidvalidity != info_.uidvalidity)
      throw protocol::imap_error(protocol::error_kind::no,
                                 "folder '" + pair_.remote_name
                                     + "' changed its UIDVALIDITY during the sync; run again");
  }
  // Whether carrying out p needs the server: a STORE, an EXPUNGE, an APPEND,
  // or a body that did not come with the SELECT.
  bool needs_remote(const plan_result& p) const {
    if (!p.set_remote_flags.empty() || !p.delete_remote.empty() || !p.upload.empty())
      return true;
    return std::any_of(p.download.begin(), p.download.end(), [&](const remote_message& m) {
      return !prefetched_ || !prefetched_->has(m.uid);
    });
  }
  // The rest is Maildir and status work: the session can serve another
  // folder meanwhile (the caller hands it on).
  void release_remote() {
    if (remote_ && remote_done_) {
      remote_ = nullptr;
      released_ = true;
      remote_done_();
    }
  }
  bool stopping() const { return stop_.load(std::memory_order_relaxed); }

  const acquire_fn& acquire_;
  protocol::session* remote_ = nullptr; // until acquired, and once released
  bool released_ = false;
  storage::maildir_store& local_;
  status_db& status_;
  const status_write_fn& write_status_;
  const folder_pair& pair_;
  const folder_sync_options& opt_;
  const std::atomic<bool>& stop_;
  const progress_fn& progress_;
  const committer_factory& make_committer_;
  const remote_done_fn& remote_done_;

  std::unique_ptr<storage::maildir_folder> folder_;
  status_db::batch batch_;
  protocol::mailbox_info info_{};
  bool examined_ = false; // selected read-only, though the server is writable
  const examined_ahead* ahead_ = nullptr;
  // The round's folder object, which its prefetched bodies were written with.
  std::unique_ptr<storage::maildir_folder> ahead_folder_;
  bool reselect_ = false; // examined by the round: select again when the session is needed
  std::unique_ptr<prefetched_bodies> prefetched_; // new bodies fetched with the SELECT
  std::unique_ptr<streaming_download> early_;     // a first sync's, started with the SELECT
  struct read_ahead {
    std::vector<storage::status_record> status;
    std::vector<storage::local_entry> entries;
  };
  std::optional<read_ahead> read_ahead_; // this side, read before the SELECT
  // Flag changes sent ahead of the uploads, and the records that wait for
  // their answer (see run).
  std::vector<protocol::flag_change> store_with_upload_;
  std::vector<storage::status_record> records_after_store_;
  folder_result result_;
};

folder_result folder_run::run() {
  const bool readonly = opt_.plan.remote_readonly;
  folder_ = local_.open(pair_.local_name, pair_.fmd5_name);
  const auto meta = status_.get_meta(pair_.status_name);

  // A folder synced under other limits (maxage, maxsize) is listed in full
  // once: a wider window takes in messages no change announces.
  const bool window_kept = status_.window(pair_.status_name) == opt_.window.description;
  const bool windowed = opt_.window.active();
  // Nothing changed since the last sync on either side (see folder_unchanged).
  const bool local_unchanged = window_kept && local_stamp_matches(folder_->stamp(), meta);
  if (local_unchanged && pair_.remote_status
      && remote_matches(meta, *pair_.remote_status, readonly))
    return result_;

  // With QRESYNC the SELECT itself reports what changed and vanished since
  // the recorded state: no separate round trip for flags.
  // The Maildir is as the last sync sealed it, so most likely nothing goes
  // to the server: EXAMINE spares the server a read-write SELECT's work
  // (\Recent, index write-back), and the plan reselects if it must write.
  examined_ = local_unchanged && !readonly;
  // What the plan needs from this side is read before the server is asked
  // (before a connection is even this folder's): the status and the
  // listing, unless the folder is big and may take the incremental path.
  // For a folder never synced they also tell whether it is all download.
  // Its size as STATUS gave it, or, for a folder that went without (a burst
  // cut the STATUS round short), as its last sync with CONDSTORE left it.
  std::optional<std::uint32_t> size;
  if (pair_.remote_status)
    size = pair_.remote_status->exists;
  else if (meta && meta->highestmodseq != 0)
    size = meta->exists;
  const bool big = size && *size >= watch_threshold;
  if (!meta || !local_unchanged || !big) {
    read_ahead_.emplace();
    read_ahead_->status = status_.load(pair_.status_name);
    read_ahead_->entries = folder_->scan(big);
  }
  // What a killed delivery left in tmp/ goes before our own bodies land
  // there: after the SELECT's prefetch the listing would hold them too,
  // a stat each for nothing.
  folder_->clean_tmp();
  std::optional<protocol::session::resync> resync;
  // The folder's part of an EXAMINE round ahead, once in: what the QRESYNC
  // EXAMINE below would have brought. Unless the Maildir changed since the
  // round was planned: then the folder is selected as usual, and what was
  // prefetched goes.
  std::shared_ptr<examined_folder> part;
  if (ahead_ && ahead_->valid()) {
    part = ahead_->get(); // examine_ahead settles every future, run or not
    if (part && (windowed || !(examined_ && meta && meta->highestmodseq != 0))) {
      part->prefetched.reset(); // only this sync would have taken them
      part.reset();
    }
  }
  if (part) {
    info_ = part->info;
    resync = std::move(part->resync);
    ahead_folder_ = std::move(part->folder);
    prefetched_ = std::move(part->prefetched);
    reselect_ = true;
  } else if (remote().has_qresync() && meta && meta->highestmodseq != 0 && !readonly) {
    resync.emplace();
    // The messages STATUS showed arriving since the last sync come in the
    // same round trip as the SELECT. Only while the Maildir is untouched
    // (none of them can be here yet) and for one batch's worth: they wait
    // in tmp/ until the plan puts them in place.
    std::optional<std::string> prefetch_set;
    const auto& st = pair_.remote_status;
    if (windowed) {
      // The window decides what comes down, after the SELECT.
    } else if (examined_ && !opt_.plan.local_readonly && st && st->uidvalidity == meta->uidvalidity
               && st->uidnext > meta->uidnext) {
      const std::uint32_t first = first_unrecorded_uid(*meta);
      if (st->uidnext > first && st->uidnext - first <= opt_.batch)
        prefetch_set = std::to_string(first) + ":*";
    } else if (examined_ && !opt_.plan.local_readonly && !st) {
      // No STATUS (a burst cut the round short): whatever arrived, up to a
      // batch's worth. A range that ends, as "n:*" would bring the last
      // message when nothing is new.
      const std::uint64_t first = first_unrecorded_uid(*meta);
      const std::uint64_t last = std::min<std::uint64_t>(first + opt_.batch - 1, 4294967295u);
      prefetch_set = std::to_string(first) + ":" + std::to_string(last);
    }
    std::optional<protocol::session::prefetch> also;
    if (prefetch_set) {
      prefetched_ = std::make_unique<prefetched_bodies>(*folder_);
      also = protocol::session::prefetch{*prefetch_set, prefetched_.get()};
    }
    info_ = remote().select_qresync(pair_.remote_name, readonly || examined_, meta->uidvalidity,
                                    meta->highestmodseq, *resync, also ? &*also : nullptr);
  } else if (start_first_sync(meta)) {
    // Everything on the server comes down: its bodies right behind the
    // SELECT, in the same round trip. Read-only, as nothing goes up: a
    // read-write SELECT has the server take \Recent from the user's mail
    // reader and write its index back, which its next STATUS then reads.
    examined_ = !readonly;
    const protocol::session::prefetch all{"1:*", &*early_->copier};
    info_ = remote().select(pair_.remote_name, true, &all);
  } else {
    info_ = remote().select(pair_.remote_name, readonly || examined_);
  }
  if (resync) {
    if (info_.uidvalidity != meta->uidvalidity)
      prefetched_.reset(); // another numbering: those bodies are not what they seemed
    if (info_.uidvalidity != meta->uidvalidity || !resync->complete)
      resync.reset();
  }
  const bool remote_unchanged =
      window_kept
      && remote_matches(meta, {info_.uidvalidity, info_.uidnext, info_.exists, info_.highestmodseq},
                        readonly);
  if (local_unchanged && remote_unchanged)
    return result_;

  plan_input in;
  in.remote_uidvalidity = info_.uidvalidity;
  // Only the server changed, and it said what (QRESYNC): the messages it
  // named are all there is to plan. A watch must vouch for the folder at the
  // end, as nothing lists it, so this is for folders big enough to pay for
  // one (see maildir_folder::scan).
  const bool incremental = local_unchanged && resync && meta->keys_recorded
                           && info_.exists >= watch_threshold && !opt_.plan.local_readonly
                           && snapshot_changes(*meta, *resync, in);
  const bool first_sync =
      !incremental && snapshot_all(meta, resync ? &*resync : nullptr, remote_unchanged, in);

  if (windowed) {
    const auto window = find_window(remote(), opt_.window, info_.uidnext);
    const auto left = leave_outside(in, window, opt_.window.maxsize, file_sizes(*folder_));
    for (const auto& key : left)
      result_.warnings.push_back("folder '" + pair_.local_name + "': message '" + key
                                 + "' is not smaller than maxsize ("
                                 + std::to_string(*opt_.window.maxsize) + " bytes): not uploaded");
  }
  const plan_result p = plan(in, opt_.plan);
  if (p.uidvalidity_changed) {
    result_.outcome = folder_outcome::skipped_uidvalidity;
    result_.message = "UIDVALIDITY of folder '" + pair_.remote_name + "' changed (stored "
                      + std::to_string(*in.stored_uidvalidity) + ", server now "
                      + std::to_string(info_.uidvalidity)
                      + "): folder skipped, nothing was deleted. The server renumbered its "
                        "messages, so local UIDs no longer name them. To download the folder "
                        "afresh, move the messages of '"
                      + folder_->path().string()
                      + "' (cur/ and new/) somewhere safe; the next run then starts this folder "
                        "anew, and you can put back what is missing.";
    return result_;
  }
  for (const auto& k : p.duplicate_keys)
    result_.warnings.push_back("folder '" + pair_.local_name + "': message file '" + k
                               + "' repeats the UID of another file; left alone");

  result_.counts.to_copy = result_.counts.downloaded + p.download.size() + p.upload.size();
  report();

  // Where each newly recorded message lives (a flag change keeps its key),
  // or, the first time a folder synced before keys were recorded is
  // scanned, every one.
  const bool record_all_keys = !incremental && !first_sync && !(meta && meta->keys_recorded);
  std::unordered_set<uid_t> new_records;
  for (const auto& s : p.status_set)
    if (!std::binary_search(in.status.begin(), in.status.end(), status_entry{s.uid, {}},
                            [](const auto& a, const auto& b) { return a.uid < b.uid; }))
      new_records.insert(s.uid);
  if (record_all_keys || !new_records.empty())
    for (const auto& l : in.local)
      if (l.uid && (record_all_keys || new_records.count(*l.uid)))
        record_key(*l.uid, l.key);
  // Flag changes for the server go ahead of the uploads: sent right after
  // the plan, answered with the APPEND, so the server works on them while
  // the uploads are prepared and both share a round trip. Their records wait
  // for the STORE's answer, out of the batch the upload journal commits first.
  if (!p.set_remote_flags.empty() && !p.upload.empty() && p.delete_remote.empty())
    store_with_upload_ = remote_flag_changes(p);
  std::unordered_set<uid_t> stored_later;
  for (const auto& c : store_with_upload_)
    stored_later.insert(c.uid);
  for (const auto& s : p.status_set) {
    if (stored_later.count(s.uid))
      records_after_store_.push_back({s.uid, s.flags});
    else
      batch_.set_record(pair_.status_name, {s.uid, s.flags});
  }
  for (auto uid : p.status_erase)
    batch_.erase_record(pair_.status_name, uid);

  if (!needs_remote(p))
    release_remote();
  if (examined_ && (!p.set_remote_flags.empty() || !p.delete_remote.empty()))
    select_for_writing();
  apply_flags(p);
  commit_status();
  if (!stopping())
    delete_local(p.delete_local);
  if (!stopping())
    delete_remote(p.delete_remote);
  commit_status();
  if (!stopping())
    download(p.download);
  if (!stopping())
    upload(p.upload);
  if (!store_with_upload_.empty()) {
    // No upload went out (their files vanished, or a stop came first).
    remote().settle();
    flags_stored();
  }
  release_remote();
  commit_status();

  if (stopping()) {
    result_.outcome = folder_outcome::canceled;
    result_.message = "stopped on request";
    return result_;
  }
  storage::folder_meta m;
  m.uidvalidity = info_.uidvalidity;
  m.uidnext = info_.uidnext;
  m.exists = info_.exists;
  // The value SELECT reported, from before our own writes: the next run asks
  // for what changed since then, which covers our writes (already in the
  // status) and anyone else's; the server's value has moved on, so nothing
  // is skipped on the strength of it.
  m.highestmodseq = info_.highestmodseq;
  m.keys_recorded = true;
  if (!window_kept)
    batch_.set_window(pair_.status_name, opt_.window.description);
  if (auto sealed = folder_->seal()) {
    m.local_new_mtime = sealed->new_ns;
    m.local_cur_mtime = sealed->cur_ns;
  }
  batch_.set_meta(pair_.status_name, m);
  commit_status();
  return result_;
}

bool folder_run::snapshot_all(const std::optional<storage::folder_meta>& meta,
                              const protocol::session::resync* resync, bool remote_unchanged,
                              plan_input& in) {
  // After start_first_sync, the status and the folder were empty before the
  // SELECT, and what came since is in early_.
  std::vector<storage::status_record> S;
  std::vector<storage::local_entry> entries;
  if (read_ahead_) {
    S = std::move(read_ahead_->status);
    entries = std::move(read_ahead_->entries);
    read_ahead_.reset();
  } else if (!early_) {
    S = status_.load(pair_.status_name);
    entries = folder_->scan(info_.exists >= watch_threshold);
  }

  std::vector<local_message> L;
  L.reserve(entries.size());
  bool local_has_uids = false;
  for (auto& e : entries) {
    local_has_uids |= e.uid.has_value();
    L.push_back({std::move(e.key), e.uid, e.flags});
  }
  entries.clear();
  entries.shrink_to_fit();

  const auto binding = bind_status(meta, info_.uidvalidity, S.empty(), local_has_uids);
  if (binding.drop_status) {
    batch_.erase_folder(pair_.status_name);
    commit_status();
    S.clear();
  }
  in.stored_uidvalidity = binding.stored_uidvalidity;

  // With CONDSTORE, an unchanged HIGHESTMODSEQ/UIDNEXT/EXISTS means the server
  // still holds exactly what the status recorded: skip fetching its flags.
  std::vector<remote_message> R;
  const bool first_sync =
      early_
      || (S.empty() && !local_has_uids && !in.stored_uidvalidity && !opt_.plan.local_readonly
          && !opt_.window.active() && status_.pending(pair_.status_name).empty());
  if (first_sync) {
    // Everything on the server is new here: fetch the bodies with their
    // flags in one go instead of listing the flags first.
    if (info_.exists > 0 || early_) {
      result_.counts.to_copy = info_.exists;
      auto stored = early_ ? finish_download(*early_) : download({}, "1:*");
      early_.reset();
      for (auto& m : stored) {
        R.push_back({m.uid, m.flags});
        S.push_back({m.uid, m.flags});
        L.push_back({std::move(m.key), m.uid, m.flags});
      }
      std::sort(R.begin(), R.end(),
                [](const remote_message& a, const remote_message& b) { return a.uid < b.uid; });
      std::sort(S.begin(), S.end(), [](const auto& a, const auto& b) { return a.uid < b.uid; });
    }
  } else if (remote_unchanged) {
    R.reserve(S.size());
    for (const auto& s : S)
      R.push_back({s.uid, s.flags});
  } else if (info_.exists > 0) {
    R = fetch_remote_flags(meta, S, resync);
  }

  if (!in.stored_uidvalidity || *in.stored_uidvalidity == info_.uidvalidity)
    recover_pending_uploads(L, R, S);

  in.remote = std::move(R);
  in.local = std::move(L);
  in.status.reserve(S.size());
  for (const auto& s : S)
    in.status.push_back({s.uid, s.flags});
  S.clear();
  return first_sync;
}

bool folder_run::snapshot_changes(const storage::folder_meta& meta,
                                  const protocol::session::resync& changes, plan_input& in) {
  // The watch starts first, then the stamps are checked again: a change in
  // between is either seen by the watch or moves the stamps.
  if (!folder_->watch_unscanned() || !local_stamp_matches(folder_->stamp(), meta))
    return false;
  if (changes.vanished.size() > 100000 || !status_.pending(pair_.status_name).empty())
    return false;
  std::vector<remote_message> R;
  std::vector<local_message> L;
  std::vector<status_entry> S;
  // A message the status knows: its record, and its file where the key says.
  // nullopt: the record is there but its file cannot be found this way.
  auto known = [&](uid_t uid) -> std::optional<bool> {
    auto flags = status_.get_record(pair_.status_name, uid);
    if (!flags)
      return false;
    auto key = status_.get_key(pair_.status_name, uid);
    if (!key)
      return std::nullopt;
    auto file = folder_->locate(*key, *flags);
    if (!file)
      return std::nullopt;
    S.push_back({uid, *flags});
    L.push_back({std::move(file->key), uid, file->flags});
    return true;
  };
  // Beyond the recorded UIDNEXT are new messages, and our own uploads of
  // the last sync (recorded, their files here): the status tells which.
  for (const auto& c : changes.changed) {
    auto k = known(c.uid);
    if (!k || (!*k && c.uid < meta.uidnext))
      return false; // a message the status should know, but does not fully
    R.push_back({c.uid, c.flags});
  }
  for (auto uid : changes.vanished)
    if (!known(uid).has_value())
      return false;
  std::sort(R.begin(), R.end(),
            [](const remote_message& a, const remote_message& b) { return a.uid < b.uid; });
  std::sort(S.begin(), S.end(), [](const auto& a, const auto& b) { return a.uid < b.uid; });
  in.remote = std::move(R);
  in.local = std::move(L);
  in.status = std::move(S);
  in.stored_uidvalidity = meta.uidvalidity;
  return true;
}

std::vector<remote_message>
folder_run::fetch_remote_flags(const std::optional<storage::folder_meta>& meta,
                               const std::vector<storage::status_record>& S,
                               const protocol::session::resync* resync) {
  auto by_uid = [](const remote_message& a, const remote_message& b) { return a.uid < b.uid; };
  std::vector<remote_message> R;
  // With CONDSTORE and a trusted HIGHESTMODSEQ the status is the server as it
  // was; only what changed since needs fetching (QRESYNC's SELECT already
  // brought it, with what vanished). Should the count still disagree, a
  // message vanished unseen: then everything is fetched.
  if (meta && meta->highestmodseq != 0 && info_.highestmodseq != 0
      && meta->uidvalidity == info_.uidvalidity && !opt_.plan.remote_readonly) {
    std::vector<protocol::message_flags> fetched;
    if (!resync)
      fetched = remote().fetch_flags("1:*", meta->highestmodseq); // sorted by uid
    const auto& changed = resync ? resync->changed : fetched;
    const std::vector<std::uint32_t> none;
    const auto& vanished = resync ? resync->vanished : none; // sorted
    // Merge two uid-sorted lists; a changed entry replaces the status one.
    R.reserve(S.size() + changed.size());
    std::size_t i = 0, j = 0;
    while (i < S.size() || j < changed.size()) {
      if (j == changed.size() || (i < S.size() && S[i].uid < changed[j].uid)) {
        if (!std::binary_search(vanished.begin(), vanished.end(), S[i].uid))
          R.push_back({S[i].uid, S[i].flags});
        ++i;
      } else {
        if (i < S.size() && S[i].uid == changed[j].uid)
          ++i;
        R.push_back({changed[j].uid, changed[j].flags});
        ++j;
      }
    }
    if (R.size() == info_.exists)
      return R;
    R.clear();
  }
  auto fetched = remote().fetch_flags("1:*");
  R.reserve(fetched.size());
  for (const auto& f : fetched)
    R.push_back({f.uid, f.flags});
  std::sort(R.begin(), R.end(), by_uid);
  return R;
}

void folder_run::commit_status() {
  if (batch_.empty())
    return;
  folder_->sync_dirs();
  write_status_(batch_);
}

void folder_run::recover_pending_uploads(std::vector<local_message>& L,
                                         const std::vector<remote_message>& R,
                                         const std::vector<storage::status_record>& S) {
  auto pending = status_.pending(pair_.status_name);
  if (pending.empty())
    return;
  std::unordered_set<uid_t> known;
  for (const auto& s : S)
    known.insert(s.uid);
  for (const auto& l : L)
    if (l.uid)
      known.insert(*l.uid);
  std::uint32_t lowest = UINT32_MAX;
  for (const auto& p : pending)
    lowest = std::min(lowest, p.uidnext_before);
  std::vector<std::uint32_t> candidates;
  for (const auto& r : R)
    if (r.uid >= lowest && !known.count(r.uid))
      candidates.push_back(r.uid);

  hashing_consumer hashes;
  if (!candidates.empty())
    remote().fetch_bodies(candidates, hashes);

  std::unordered_map<std::string, local_message*> by_key;
  for (auto& l : L)
    by_key.emplace(l.key, &l);
  std::set<std::uint32_t> claimed;
  for (const auto& p : pending) {
    auto it = by_key.find(p.key);
    if (it != by_key.end() && !it->second->uid && !hashes.by_md5.empty()) {
      auto [b, e] = hashes.by_md5.equal_range(p.md5.empty() ? wire_md5(p.key) : p.md5);
      for (; b != e; ++b) {
        if (b->second < p.uidnext_before || claimed.count(b->second))
          continue;
        // The upload reached the server before the crash: adopt its UID
        // instead of appending a second copy.
        claimed.insert(b->second);
        local_message& l = *it->second;
        l.key = folder_->set_uid(l.key, b->second);
        l.uid = b->second;
        break;
      }
    }
    batch_.erase_pending(pair_.status_name, p.key);
  }
  commit_status();
}

std::string folder_run::wire_md5(const std::string& key) {
  try {
    auto reader = folder_->open(key);
    md5_hasher h;
    for (auto chunk = reader.next(); !chunk.empty(); chunk = reader.next())
      h.update(chunk);
    return h.hex();
  } catch (const storage::storage_error& e) {
    result_.warnings.push_back(e.what());
    return {};
  }
}

std::vector<stored_message> folder_run::download(const std::vector<remote_message>& msgs,
                                                 std::optional<std::string_view> whole_set) {
  // One pipelined fetch for the lot; the message copier makes each batch
  // durable and records it, so an interrupted run keeps what it stored.
  // The copier pays off when batches can overlap; one batch is committed
  // right here, without starting a thread for it.
  // What came with the SELECT is put in place; the rest is fetched.
  std::vector<remote_message> rest;
  const std::vector<remote_message>* to_fetch = &msgs;
  if (prefetched_ && !whole_set) {
    to_fetch = &rest;
    std::vector<storage::staged_message> ready;
    for (const auto& m : msgs) {
      if (auto got = prefetched_->take(m.uid)) {
        ready.push_back(std::move(got->first));
        result_.counts.bytes += got->second;
      } else {
        rest.push_back(m);
      }
    }
    if (!ready.empty()) {
      result_.counts.downloaded += ready.size();
      result_.counts.downloaded_unseen += unseen(ready);
      commit_batch(*folder_, ready, pair_.status_name, write_status_);
      report();
    }
  }
  prefetched_.reset(); // what the plan did not want goes
  auto d = start_download(whole_set ? info_.exists : to_fetch->size());
  if (whole_set) {
    remote().fetch_bodies(*whole_set, *d->copier);
  } else {
    std::vector<std::uint32_t> uids;
    uids.reserve(to_fetch->size());
    for (const auto& m : *to_fetch)
      uids.push_back(m.uid);
    if (!uids.empty())
      remote().fetch_bodies(uids, *d->copier);
  }
  return finish_download(*d);
}

std::unique_ptr<folder_run::streaming_download> folder_run::start_download(std::size_t expected) {
  auto d = std::make_unique<streaming_download>();
  d->committer = make_committer_ && expected > opt_.batch
                     ? make_committer_(*folder_, pair_.status_name)
                     : make_inline_committer(*folder_, pair_.status_name, write_status_);
  d->copier.emplace(*folder_, result_.counts, opt_.batch, *d->committer, [this] { report(); });
  return d;
}

std::vector<stored_message> folder_run::finish_download(streaming_download& d) {
  d.copier->flush();
  return d.committer->drain();
}

bool folder_run::start_first_sync(const std::optional<storage::folder_meta>& meta) {
  // Messages here already, or a status: the plan decides what comes down
  // (from what was read ahead).
  if (meta || opt_.window.active() || opt_.plan.local_readonly || !read_ahead_
      || !read_ahead_->status.empty() || !read_ahead_->entries.empty()
      || !status_.pending(pair_.status_name).empty())
    return false;
  read_ahead_.reset();
  const auto& st = pair_.remote_status;
  early_ = start_download(st ? st->exists : 0);
  return true;
}

void folder_run::upload(const std::vector<local_message>& msgs) {
  // Groups bound memory and the loss on a crash; within a group APPENDs are
  // pipelined (LITERAL+), each body streamed from its file.
  constexpr std::size_t group_bytes = 32 * 1024 * 1024;
  std::size_t i = 0;
  while (i < msgs.size() && !stopping()) {
    struct item {
      const local_message* msg;
      std::filesystem::path path;
      std::shared_ptr<storage::message_reader> reader;
      std::uint64_t size;
    };
    std::vector<item> group;
    std::uint64_t bytes = 0;
    for (; i < msgs.size() && group.size() < 64 && bytes < group_bytes; ++i) {
      const auto& m = msgs[i];
      auto path = folder_->path_of(m.key);
      if (!path)
        continue; // removed by a mail reader meanwhile
      try {
        auto reader = std::make_shared<storage::message_reader>(folder_->open(m.key));
        const std::uint64_t size = reader->wire_size();
        // No digest here: hashing every upload cost a quarter of a sync's
        // CPU, and only a crash needs it; recovery hashes the local file then.
        storage::pending_upload pu;
        pu.key = m.key;
        pu.uidnext_before = info_.uidnext;
        pu.wire_size = size;
        batch_.add_pending(pair_.status_name, pu);
        group.push_back({&m, *path, std::move(reader), size});
        bytes += size;
      } catch (const storage::storage_error& e) {
        result_.warnings.push_back(e.what());
      }
    }
    if (group.empty())
      continue;
    // The journal is durable before anything reaches the server.
    commit_status();

    std::vector<protocol::append_request> reqs;
    for (auto& g : group) {
      protocol::append_request r;
      r.flags = g.msg->flags;
      r.internaldate = imap_date_of(g.path);
      r.size = g.size;
      // Each reader (and its buffers) goes once its body is sent, not with
      // the group. Asked again (the server refused a MULTIAPPEND, and the
      // messages go one by one), the file is opened afresh.
      r.produce = [reader = std::move(g.reader), folder = folder_.get(),
                   key = g.msg->key](const std::function<void(std::string_view)>& write) mutable {
        if (!reader)
          reader = std::make_shared<storage::message_reader>(folder->open(key));
        for (auto chunk = reader->next(); !chunk.empty(); chunk = reader->next())
          write(chunk);
        reader.reset();
      };
      reqs.push_back(std::move(r));
    }
    auto results = remote().append(pair_.remote_name, std::move(reqs));
    if (!store_with_upload_.empty())
      flags_stored(); // answered with the APPEND
    for (std::size_t k = 0; k < group.size() && k < results.size(); ++k) {
      const auto& res = results[k];
      const auto& m = *group[k].msg;
      if (!res.ok) {
        result_.warnings.push_back("folder '" + pair_.local_name + "': upload of '" + m.key
                                   + "' refused: " + res.error);
        batch_.erase_pending(pair_.status_name, m.key);
        continue;
      }
      result_.counts.bytes += group[k].size;
      ++result_.counts.uploaded;
      if (res.uid == 0)
        continue; // no UIDPLUS: the journal finds it by content next run
      const std::string key = folder_->set_uid(m.key, res.uid);
      batch_.set_record(pair_.status_name, {res.uid, m.flags});
      record_key(res.uid, key);
      batch_.erase_pending(pair_.status_name, m.key);
    }
    commit_status();
    report();
  }
}

void folder_run::delete_local(const std::vector<local_delete>& dels) {
  for (const auto& d : dels) {
    folder_->remove(d.key);
    batch_.erase_record(pair_.status_name, d.uid);
    ++result_.counts.deleted_local;
  }
}

void folder_run::delete_remote(const std::vector<uid_t>& uids) {
  if (uids.empty())
    return;
  std::vector<protocol::flag_change> trash;
  trash.reserve(uids.size());
  for (auto uid : uids)
    trash.push_back({uid, storage::flag::trashed, {}});
  remote().store_flags(trash);
  if (opt_.expunge) {
    // UID EXPUNGE removes only the messages we flagged; a plain EXPUNGE
    // would also take other clients' \Deleted mail, so it is the fallback.
    remote().uid_expunge(uids);
  }
  // Expunged, they are gone from both sides. Only flagged (expunge = no),
  // they stay on the server, and so in the status: otherwise the next run
  // would take them for new mail and download them again.
  if (opt_.expunge)
    for (auto uid : uids)
      batch_.erase_record(pair_.status_name, uid);
  else
    for (auto uid : uids) {
      batch_.set_record(pair_.status_name, {uid, storage::flag::trashed});
      batch_.erase_key(pair_.status_name, uid);
    }
  result_.counts.deleted_remote += uids.size();
}

void folder_run::apply_flags(const plan_result& p) {
  // First, so that the server works on it while this side renames files.
  if (!store_with_upload_.empty())
    remote().store_flags_ahead(store_with_upload_);
  for (const auto& c : p.set_local_flags) {
    try {
      folder_->set_flags(c.key, c.flags);
      ++result_.counts.flags_local;
    } catch (const storage::message_not_found&) {
      // A mail reader removed it since the scan: the next run sees a local
      // deletion. One message's trouble does not stop the folder.
      result_.warnings.push_back("folder '" + pair_.local_name + "': message '" + c.key
                                 + "' vanished before its flags could be set");
    }
  }
  if (!p.set_remote_flags.empty() && store_with_upload_.empty()) {
    remote().store_flags(remote_flag_changes(p));
    result_.counts.flags_remote += p.set_remote_flags.size();
  }
}

} // namespace

folder_result sync_folder(protocol::session& remote, storage::maildir_store& local,
                          storage::status_db& status, const folder_pair& pair,
                          const status_write_fn& write_status, const folder_sync_options& opt,
                          const std::atomic<bool>& stop, const progress_fn& progress,
                          const committer_factory& make_committer,
                          const remote_done_fn& remote_done) {
  const acquire_fn acquire = [&remote]() -> protocol::session& { return remote; };
  return sync_folder(acquire, local, status, pair, write_status, opt, stop, progress,
                     make_committer, remote_done);
}

folder_result sync_folder(const acquire_fn& acquire, storage::maildir_store& local,
                          storage::status_db& status, const folder_pair& pair,
                          const status_write_fn& write_status, const folder_sync_options& opt,
                          const std::atomic<bool>& stop, const progress_fn& progress,
                          const committer_factory& make_committer,
                          const remote_done_fn& remote_done, const examined_ahead* ahead) {
  folder_run run(acquire, local, status, write_status, pair, opt, stop, progress, make_committer,
                 remote_done, ahead);
  try {
    return run.run();
  } catch (const protocol::imap_error& e) {
    if (e.kind() == protocol::error_kind::closed || e.kind() == protocol::error_kind::timeout
        || e.kind() == protocol::error_kind::protocol)
      throw; // the connection is unusable: the caller drops it
    folder_result r;
    r.outcome = folder_outcome::failed;
    r.message = e.what();
    return r;
  } catch (const storage::storage_error& e) {
    folder_result r;
    r.outcome = folder_outcome::failed;
    r.message = e.what();
    return r;
  }
}

bool remote_unchanged(const storage::status_db& status, const std::string& status_name,
                      const remote_snapshot& snapshot, bool remote_readonly) {
  return remote_matches(status.get_meta(status_name), snapshot, remote_readonly);
}

std::uint32_t first_unrecorded_uid(std::optional<std::uint32_t> last_recorded,
                                   const storage::folder_meta& meta) {
  // The recorded UIDNEXT is the SELECT's, from before the last run's
  // uploads; the messages it put there itself are recorded and must not come
  // back. One another client added below them meanwhile is not prefetched
  // but still comes: QRESYNC reports it as new, and the plan downloads it.
  if (last_recorded && *last_recorded == std::numeric_limits<std::uint32_t>::max())
    return *last_recorded; // nothing can follow it
  return last_recorded && *last_recorded >= meta.uidnext ? *last_recorded + 1 : meta.uidnext;
}

bool local_unchanged(const storage::maildir_store& local, const folder_pair& pair,
                     const std::optional<storage::folder_meta>& meta) {
  // Two stat calls, without opening the folder (which would compute its
  // FMD5: OpenSSL's first digest loads its configuration, ~1 ms).
  return local_stamp_matches(storage::maildir_folder::stamp_at(local.folder_path(pair.local_name)),
                             meta);
}

status_binding bind_status(const std::optional<storage::folder_meta>& meta,
                           std::uint32_t remote_uidvalidity, bool status_empty,
                           bool local_has_uids) {
  status_binding b;
  if (meta && meta->uidvalidity != remote_uidvalidity && !local_has_uids)
    b.drop_status = true;
  else if (meta && (!status_empty || local_has_uids))
    b.stored_uidvalidity = meta->uidvalidity;
  return b;
}

bool folder_unchanged(const storage::maildir_store& local, const storage::status_db& status,
                      const folder_pair& pair, bool remote_readonly, const std::string& window) {
  if (!pair.remote_status || !local.has_folder(pair.local_name)
      || status.window(pair.status_name) != window)
    return false;
  const auto meta = status.get_meta(pair.status_name);
  if (!remote_matches(meta, *pair.remote_status, remote_readonly))
    return false;
  return local_unchanged(local, pair, meta);
}

std::vector<stored_message> commit_batch(storage::maildir_folder& folder,
                                         std::vector<storage::staged_message>& batch,
                                         const std::string& status_name,
                                         const status_write_fn& write_status) {
  std::vector<stored_message> stored;
  stored.reserve(batch.size());
  for (const auto& m : batch)
    stored.push_back({m.uid, m.flags, {}});
  auto keys = folder.commit_staged(batch);
  folder.sync_dirs();
  storage::status_db::batch records;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    stored[i].key = std::move(keys[i]);
    records.set_record(status_name, {stored[i].uid, stored[i].flags});
    records.set_key(status_name, stored[i].uid, stored[i].key);
  }
  write_status(records);
  return stored;
}

std::unique_ptr<stage_committer> make_inline_committer(storage::maildir_folder& folder,
                                                       std::string status_name,
                                                       status_write_fn write_status) {
  return std::make_unique<inline_committer>(folder, std::move(status_name),
                                            std::move(write_status));
}

} // namespace oimap::sync
