// RocksDB-backed sync status: key layout, compact value encoding, locking, file modes.
#include "storage/status_db.hpp"

#include "storage/posix_io.hpp"
#include "storage/storage_error.hpp"

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <dirent.h>

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/metadata.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <sys/stat.h>

namespace oimap::storage {
namespace {

// Key layout, all under one folder prefix F = be32(len(folder)) folder:
//   F 'm'              -> folder_meta   (varints)
//   F 'p' <key>        -> pending_upload
//   F 'r' be32(uid)    -> flags (1 byte)
//   F 'k' be32(uid)    -> the local file's key
// plus one key outside every folder (a first byte of 0xff would need a
// folder name of 4 GiB):
//   0xff "schema"      -> schema version
constexpr char meta_tag = 'm';
constexpr char pending_tag = 'p';
constexpr char record_tag = 'r';
constexpr char key_tag = 'k';
constexpr char window_tag = 'w';
const std::string schema_key = std::string("\xff", 1) + "schema";
const std::string last_close_key = std::string("\xff", 1) + "last-close";
const std::string to_sync_key = std::string("\xff", 1) + "to-sync";
constexpr std::string_view schema_version = "1";

void put_be32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

std::uint32_t get_be32(std::string_view s) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}

std::string folder_prefix(std::string_view folder) {
  if (folder.size() >= 0xff000000u)
    throw storage_error("folder name too long for the status database");
  std::string out;
  out.reserve(5 + folder.size() + 8);
  put_be32(out, static_cast<std::uint32_t>(folder.size()));
  out.append(folder);
  return out;
}

std::string tagged(std::string_view folder, char tag) {
  std::string out = folder_prefix(folder);
  out.push_back(tag);
  return out;
}

std::string record_key(std::string_view folder, std::uint32_t uid, char tag = record_tag) {
  std::string out = tagged(folder, tag);
  put_be32(out, uid);
  return out;
}

std::string pending_key(std::string_view folder, std::string_view key) {
  std::string out = tagged(folder, pending_tag);
  out.append(key);
  return out;
}

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// Reads values written by the encoders above; any mismatch means the
// database was damaged or written by something else.
class value_reader {
public:
  value_reader(std::string_view data, const std::filesystem::path& dir, const char* what)
      : data_(data), dir_(dir), what_(what) {}

  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (data_.empty())
        fail();
      auto byte = static_cast<unsigned char>(data_.front());
      data_.remove_prefix(1);
      v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if (!(byte & 0x80))
        return v;
    }
    fail();
  }
  std::uint32_t varint32() {
    std::uint64_t v = varint();
    if (v > 0xffffffffu)
      fail();
    return static_cast<std::uint32_t>(v);
  }
  std::string_view bytes(std::size_t n) {
    if (data_.size() < n)
      fail();
    std::string_view out = data_.substr(0, n);
    data_.remove_prefix(n);
    return out;
  }
  std::string_view rest() {
    std::string_view out = data_;
    data_ = {};
    return out;
  }
  bool at_end() const { return data_.empty(); }
  void end() {
    if (!data_.empty())
      fail();
  }
  [[noreturn]] void fail() {
    throw storage_error("status database " + dir_.string() + " is corrupt: bad " + what_
                        + " value");
  }

private:
  std::string_view data_;
  const std::filesystem::path& dir_;
  const char* what_;
};

std::string encode_meta(const folder_meta& m) {
  std::string out;
  put_varint(out, m.uidvalidity);
  put_varint(out, m.uidnext);
  put_varint(out, m.highestmodseq);
  put_varint(out, m.exists);
  put_varint(out, m.local_new_mtime);
  put_varint(out, m.local_cur_mtime);
  put_varint(out, m.keys_recorded ? 1 : 0);
  return out;
}

std::string encode_pending(const pending_upload& p) {
  std::string out;
  put_varint(out, p.uidnext_before);
  put_varint(out, p.wire_size);
  put_varint(out, p.message_id.size());
  out.append(p.message_id);
  out.append(p.md5);
  return out;
}

[[noreturn]] void throw_status(const std::filesystem::path& dir, const char* what,
                               const rocksdb::Status& s) {
  std::string message =
      std::string("cannot ") + what + " status database " + dir.string() + ": " + s.ToString();
  if (s.IsCorruption())
    // What the user can do: the next run pairs messages by the UIDs in the
    // Maildir's file names and copies nothing twice (the integration tests
    // show it), at the price of one full comparison.
    message += "; move it aside and the next run rebuilds it from the Maildir and the server";
  throw storage_error(message);
}

// RocksDB's OPTIONS files, which oimap does not let it write (see
// private_file_system::NewWritableFile).
bool is_options_file(std::string_view name) {
  return name.starts_with("OPTIONS-");
}

void restrict_file(const std::string& name) {
  // Best effort: the directory is 0700 already, this keeps a copied or
  // later opened-up directory from exposing mail metadata.
  ::chmod(name.c_str(), 0600);
}

// RocksDB has no file-mode option and umask is process-wide (other threads
// create files meanwhile), so every file RocksDB creates is chmod-ed here.
// It also writes no OPTIONS file (see NewWritableFile).
class private_file_system : public rocksdb::FileSystemWrapper {
public:
  using rocksdb::FileSystemWrapper::FileSystemWrapper;
  using IOStatus = rocksdb::IOStatus;
  using FileOptions = rocksdb::FileOptions;
  using IODebugContext = rocksdb::IODebugContext;

  static const char* kClassName() { return "OimapPrivateFileSystem"; }
  const char* Name() const override { return kClassName(); }

  IOStatus NewWritableFile(const std::string& f, const FileOptions& o,
                           std::unique_ptr<rocksdb::FSWritableFile>* r,
                           IODebugContext* dbg) override {
    // At every open RocksDB writes its options to a new OPTIONS file, syncs
    // it, reads and parses it back to check it, renames it into place and
    // deletes the one before: 16 % of oimap's CPU in a no-change run of 50
    // accounts, and two fsyncs per account per run on a disk. The file is
    // for RocksDB's tools (ldb, LoadLatestOptions); opening never reads it,
    // as oimap passes its options each time. Refused here, RocksDB goes on
    // (fail_if_options_file_error is off) and logs a warning, below the
    // error level we print.
    if (is_options_file(std::filesystem::path(f).filename().string()))
      return IOStatus::NotSupported("oimap keeps no RocksDB OPTIONS file");
    return restricted(f, target()->NewWritableFile(f, o, r, dbg));
  }
  IOStatus ReopenWritableFile(const std::string& f, const FileOptions& o,
                              std::unique_ptr<rocksdb::FSWritableFile>* r,
                              IODebugContext* dbg) override {
    return restricted(f, target()->ReopenWritableFile(f, o, r, dbg));
  }
  IOStatus ReuseWritableFile(const std::string& f, const std::string& old, const FileOptions& o,
                             std::unique_ptr<rocksdb::FSWritableFile>* r,
                             IODebugContext* dbg) override {
    return restricted(f, target()->ReuseWritableFile(f, old, o, r, dbg));
  }
  IOStatus NewRandomRWFile(const std::string& f, const FileOptions& o,
                           std::unique_ptr<rocksdb::FSRandomRWFile>* r,
                           IODebugContext* dbg) override {
    return restricted(f, target()->NewRandomRWFile(f, o, r, dbg));
  }
  IOStatus NewLogger(const std::string& f, const rocksdb::IOOptions& o,
                     std::shared_ptr<rocksdb::Logger>* r, IODebugContext* dbg) override {
    return restricted(f, target()->NewLogger(f, o, r, dbg));
  }
  IOStatus LockFile(const std::string& f, const rocksdb::IOOptions& o, rocksdb::FileLock** l,
                    IODebugContext* dbg) override {
    return restricted(f, target()->LockFile(f, o, l, dbg));
  }

private:
  static IOStatus restricted(const std::string& f, IOStatus s) {
    if (s.ok())
      restrict_file(f);
    return s;
  }
};

// RocksDB's own log (LOG in the database directory) gets, at every open, a
// dump of every option and a line per step: a third of what opening costs
// a no-change run, for a file nobody reads. Errors still show, on stderr;
// RocksDB returns them to our calls too.
class error_logger : public rocksdb::Logger {
public:
  explicit error_logger(std::string dir)
      : rocksdb::Logger(rocksdb::InfoLogLevel::ERROR_LEVEL), dir_(std::move(dir)) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char line[512];
    std::vsnprintf(line, sizeof line, format, ap);
    std::fprintf(stderr, "oimap: status database %s: %s\n", dir_.c_str(), line);
  }

private:
  std::string dir_;
};

// Makes every file in dir 0600, and removes the OPTIONS files that oimap
// versions letting RocksDB write them left behind (it deleted old ones only
// when it wrote a new one; it never reads them).
void tidy_existing_files(const std::filesystem::path& dir) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), &::closedir);
  if (!d)
    return;
  while (dirent* e = ::readdir(d.get())) {
    std::string_view n = e->d_name;
    if (is_options_file(n))
      ::unlink((dir / e->d_name).c_str());
    else if (n != "." && n != "..")
      restrict_file((dir / e->d_name).string());
  }
}

// The write-ahead logs in dir (RocksDB names them <number>.log).
std::size_t count_logs(const std::filesystem::path& dir) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), &::closedir);
  std::size_t n = 0;
  if (!d)
    return n;
  while (dirent* e = ::readdir(d.get()))
    n += std::string_view(e->d_name).ends_with(".log");
  return n;
}

} // namespace

// ---- batch ------------------------------------------------------------------

status_db::batch::batch() : batch_(std::make_unique<rocksdb::WriteBatch>()) {}
status_db::batch::batch(batch&&) noexcept = default;
status_db::batch& status_db::batch::operator=(batch&&) noexcept = default;
status_db::batch::~batch() = default;

void status_db::batch::set_record(std::string_view folder, const status_record& record) {
  const char flags = static_cast<char>(record.flags.bits());
  batch_->Put(record_key(folder, record.uid), rocksdb::Slice(&flags, 1));
}

void status_db::batch::erase_record(std::string_view folder, std::uint32_t uid) {
  batch_->Delete(record_key(folder, uid));
  batch_->Delete(record_key(folder, uid, key_tag));
}

void status_db::batch::set_key(std::string_view folder, std::uint32_t uid, std::string_view key) {
  batch_->Put(record_key(folder, uid, key_tag), rocksdb::Slice(key.data(), key.size()));
}

void status_db::batch::erase_key(std::string_view folder, std::uint32_t uid) {
  batch_->Delete(record_key(folder, uid, key_tag));
}

void status_db::batch::set_meta(std::string_view folder, const folder_meta& meta) {
  batch_->Put(tagged(folder, meta_tag), encode_meta(meta));
}

void status_db::batch::set_window(std::string_view folder, std::string_view window) {
  if (window.empty())
    batch_->Delete(tagged(folder, window_tag));
  else
    batch_->Put(tagged(folder, window_tag), rocksdb::Slice(window.data(), window.size()));
}

void status_db::batch::set_folders_to_sync(std::uint32_t n) {
  std::string value;
  put_varint(value, n);
  batch_->Put(to_sync_key, value);
}

void status_db::batch::add_pending(std::string_view folder, const pending_upload& upload) {
  batch_->Put(pending_key(folder, upload.key), encode_pending(upload));
}

void status_db::batch::erase_pending(std::string_view folder, std::string_view key) {
  batch_->Delete(pending_key(folder, key));
}

void status_db::batch::erase_folder(std::string_view folder) {
  // Every key of the folder lies in [F, F 0xff): tags are all below 0xff.
  std::string begin = folder_prefix(folder);
  std::string end = begin + '\xff';
  batch_->DeleteRange(begin, end);
}

std::size_t status_db::batch::size() const {
  return static_cast<std::size_t>(batch_->Count());
}

// ---- status_db --------------------------------------------------------------

namespace {

// The options every open uses; env must outlive the database.
rocksdb::Options database_options(rocksdb::Env* env, const std::filesystem::path& dir) {
  rocksdb::Options options;
  // A status DB is small (a few bytes per message): keep memory modest, as
  // one process may hold several accounts' databases.
  options.OptimizeForSmallDb();
  options.env = env;
  options.keep_log_file_num = 2;
  options.max_log_file_size = 1 << 20;
  // A run is short: a compaction RocksDB schedules in the background when it
  // opens would make the close wait for it, and a run that changed nothing
  // would pay for what an earlier one wrote. close() compacts instead, in
  // the run that piled the files up.
  options.disable_auto_compactions = true;
  // RocksDB preallocates its manifest (4 MB) and logs with fallocate on every
  // open and gives the space back at close: on tmpfs that is allocating and
  // freeing a thousand pages per account per run, 30 % of a no-change run's
  // CPU. The files here stay small; let them grow as written.
  options.allow_fallocate = false;
  options.info_log = std::make_shared<error_logger>(dir.string());
  // A handful of table files: opening them on one thread beats starting
  // 16; and no compaction statistics to gather, as RocksDB never compacts
  // on its own here (close() does).
  options.max_file_opening_threads = 1;
  options.skip_stats_update_on_db_open = true;
  options.fail_if_options_file_error = false; // see private_file_system

  return options;
}

} // namespace

status_db::status_db(std::filesystem::path dir, bool fsync) : dir_(std::move(dir)), fsync_(fsync) {}

status_db::~status_db() {
  try {
    close();
  } catch (...) {
    // A destructor cannot report it; data already written is in the WAL.
  }
}

std::unique_ptr<status_db> status_db::open(const std::filesystem::path& dir, bool fsync) {
  // Parents are made 0700 too: they are typically ~/.offlineimap-like
  // metadata directories nobody else should read.
  std::vector<std::filesystem::path> missing;
  for (std::filesystem::path p = dir; !p.empty(); p = p.parent_path()) {
    struct stat st;
    if (::stat(p.c_str(), &st) == 0)
      break;
    missing.push_back(p);
    if (p == p.parent_path())
      break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it)
    make_dir(*it, 0700);
  if (::chmod(dir.c_str(), 0700) != 0)
    throw_errno("set the mode of", dir, errno);

  std::unique_ptr<status_db> self(new status_db(dir, fsync));
  self->env_ = rocksdb::NewCompositeEnv(
      std::make_shared<private_file_system>(rocksdb::FileSystem::Default()));
  rocksdb::Options options = database_options(self->env_.get(), dir);
  options.create_if_missing = true;

  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir.string(), &raw);
  if (!s.ok()) {
    // RocksDB reports a held LOCK as an IO error naming <dir>/LOCK, both
    // for another process (fcntl) and for a second open in this one.
    if (s.IsIOError() && s.ToString().find((dir / "LOCK").string()) != std::string::npos)
      throw storage_error("status database " + dir.string()
                          + " is in use by another oimap process");
    throw_status(dir, "open", s);
  }
  self->db_.reset(raw);

  std::string version;
  s = raw->Get(rocksdb::ReadOptions(), schema_key, &version);
  if (s.IsNotFound()) {
    rocksdb::WriteOptions wo;
    wo.sync = fsync;
    s = raw->Put(wo, schema_key, rocksdb::Slice(schema_version.data(), schema_version.size()));
    if (!s.ok())
      throw_status(dir, "write", s);
    self->wrote_ = true;
  } else if (!s.ok()) {
    throw_status(dir, "read", s);
  } else if (version != schema_version) {
    throw storage_error("status database " + dir.string() + " has schema version " + version
                        + ", this oimap understands " + std::string(schema_version));
  }
  tidy_existing_files(dir);
  return self;
}

std::unique_ptr<status_db> status_db::open_read_only(const std::filesystem::path& dir) {
  struct stat st;
  if (::stat((dir / "CURRENT").c_str(), &st) != 0) {
    if (errno == ENOENT)
      return nullptr;
    throw_errno("read", dir / "CURRENT", errno);
  }
  std::unique_ptr<status_db> self(new status_db(dir, false));
  self->read_only_ = true;
  self->env_ = rocksdb::NewCompositeEnv(
      std::make_shared<private_file_system>(rocksdb::FileSystem::Default()));
  const rocksdb::Options options = database_options(self->env_.get(), dir);
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(options, dir.string(), &raw);
  if (!s.ok())
    throw_status(dir, "open", s);
  self->db_.reset(raw);
  std::string version;
  s = raw->Get(rocksdb::ReadOptions(), schema_key, &version);
  if (!s.ok() && !s.IsNotFound())
    throw_status(dir, "read", s);
  if (s.ok() && version != schema_version)
    throw storage_error("status database " + dir.string() + " has schema version " + version
                        + ", this oimap understands " + std::string(schema_version));
  return self;
}

rocksdb::DB& status_db::db() const {
  if (!db_)
    throw storage_error("status database " + dir_.string() + " is closed");
  return *db_;
}

std::optional<std::uint32_t> status_db::folders_to_sync_last_run() const {
  std::string value;
  rocksdb::Status s = db().Get(rocksdb::ReadOptions(), to_sync_key, &value);
  if (s.IsNotFound())
    return std::nullopt;
  if (!s.ok())
    throw_status(dir_, "read", s);
  value_reader r(value, dir_, "folder count");
  const auto n = r.varint32();
  r.end();
  return n;
}

std::optional<folder_meta> status_db::get_meta(std::string_view folder) const {
  std::string value;
  rocksdb::Status s = db().Get(rocksdb::ReadOptions(), tagged(folder, meta_tag), &value);
  if (s.IsNotFound())
    return std::nullopt;
  if (!s.ok())
    throw_status(dir_, "read", s);
  value_reader r(value, dir_, "folder metadata");
  folder_meta m;
  m.uidvalidity = r.varint32();
  m.uidnext = r.varint32();
  m.highestmodseq = r.varint();
  m.exists = r.varint32();
  if (!r.at_end()) { // written since the Maildir stamps exist
    m.local_new_mtime = r.varint();
    m.local_cur_mtime = r.varint();
  }
  if (!r.at_end()) // written since the keys are recorded
    m.keys_recorded = r.varint() != 0;
  // Fields a later oimap may add come after these, as varints: skipped, so
  // that going back a version keeps working (that version rewrites the
  // record without them, which is what the later one expects of it).
  while (!r.at_end())
    r.varint();
  return m;
}

namespace {

// Calls fn(key suffix, value) for every key in [prefix, prefix with tag+1).
template <class Fn>
void for_each_under(rocksdb::DB& db, const std::filesystem::path& dir, const std::string& prefix,
                    Fn&& fn) {
  std::string upper = prefix;
  upper.back() = static_cast<char>(upper.back() + 1);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(ro));
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    rocksdb::Slice k = it->key();
    rocksdb::Slice v = it->value();
    fn(std::string_view(k.data() + prefix.size(), k.size() - prefix.size()),
       std::string_view(v.data(), v.size()));
  }
  if (!it->status().ok())
    throw_status(dir, "read", it->status());
}

} // namespace

std::vector<status_record> status_db::load(std::string_view folder) const {
  std::vector<status_record> out;
  for_each_under(db(), dir_, tagged(folder, record_tag),
                 [&](std::string_view suffix, std::string_view value) {
                   value_reader r(value, dir_, "record");
                   if (suffix.size() != 4)
                     r.fail();
                   auto bits = static_cast<std::uint8_t>(r.bytes(1)[0]);
                   r.end();
                   out.push_back({get_be32(suffix), flag_set(bits)});
                 });
  return out;
}

std::optional<std::uint32_t> status_db::last_uid(std::string_view folder) const {
  const std::string prefix = tagged(folder, record_tag);
  const std::string past_last = record_key(folder, 0xffffffffu) + '\0';
  rocksdb::Slice lower(prefix);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower;
  std::unique_ptr<rocksdb::Iterator> it(db().NewIterator(ro));
  it->SeekForPrev(past_last);
  if (!it->status().ok())
    throw_status(dir_, "read", it->status());
  if (!it->Valid())
    return std::nullopt;
  const rocksdb::Slice k = it->key();
  if (k.size() != prefix.size() + 4)
    throw storage_error("status database " + dir_.string() + " is corrupt: bad record key");
  return get_be32(std::string_view(k.data() + prefix.size(), 4));
}

std::optional<flag_set> status_db::get_record(std::string_view folder, std::uint32_t uid) const {
  std::string value;
  rocksdb::Status s = db().Get(rocksdb::ReadOptions(), record_key(folder, uid), &value);
  if (s.IsNotFound())
    return std::nullopt;
  if (!s.ok())
    throw_status(dir_, "read", s);
  value_reader r(value, dir_, "record");
  auto bits = static_cast<std::uint8_t>(r.bytes(1)[0]);
  r.end();
  return flag_set(bits);
}

std::optional<std::string> status_db::get_key(std::string_view folder, std::uint32_t uid) const {
  std::string value;
  rocksdb::Status s = db().Get(rocksdb::ReadOptions(), record_key(folder, uid, key_tag), &value);
  if (s.IsNotFound())
    return std::nullopt;
  if (!s.ok())
    throw_status(dir_, "read", s);
  if (value.empty())
    value_reader(value, dir_, "key").fail();
  return value;
}

std::string status_db::window(std::string_view folder) const {
  std::string value;
  rocksdb::Status s = db().Get(rocksdb::ReadOptions(), tagged(folder, window_tag), &value);
  if (s.IsNotFound())
    return {};
  if (!s.ok())
    throw_status(dir_, "read", s);
  return value;
}

std::vector<pending_upload> status_db::pending(std::string_view folder) const {
  std::vector<pending_upload> out;
  for_each_under(db(), dir_, tagged(folder, pending_tag),
                 [&](std::string_view suffix, std::string_view value) {
                   value_reader r(value, dir_, "pending upload");
                   pending_upload p;
                   p.key = std::string(suffix);
                   p.uidnext_before = r.varint32();
                   p.wire_size = r.varint();
                   p.message_id = std::string(r.bytes(r.varint()));
                   p.md5 = std::string(r.rest());
                   out.push_back(std::move(p));
                 });
  return out;
}

std::vector<std::string> status_db::folders() const {
  std::vector<std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(db().NewIterator(rocksdb::ReadOptions()));
  it->SeekToFirst();
  while (it->Valid()) {
    rocksdb::Slice k = it->key();
    if (k.size() < 4 || static_cast<unsigned char>(k[0]) == 0xff)
      break; // the schema key sorts after every folder
    std::uint32_t len = get_be32(std::string_view(k.data(), 4));
    if (k.size() < 4 + static_cast<std::size_t>(len))
      throw storage_error("status database " + dir_.string() + " is corrupt: bad key");
    std::string name(k.data() + 4, len);
    // Skip the rest of this folder's keys in one seek.
    std::string next = folder_prefix(name) + '\xff';
    out.push_back(std::move(name));
    it->Seek(next);
  }
  if (!it->status().ok())
    throw_status(dir_, "read", it->status());
  return out;
}

void status_db::write(batch& b) {
  write(b, fsync_);
}

void status_db::write_unsynced(batch& b) {
  write(b, false);
}

void status_db::write(batch& b, bool sync) {
  if (read_only_)
    throw storage_error("status database " + dir_.string() + " is open read-only");
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  rocksdb::Status s = db().Write(wo, b.batch_.get());
  if (!s.ok())
    throw_status(dir_, "write", s);
  wrote_ = true;
  b.batch_->Clear();
}

void status_db::compact_level0() {
  rocksdb::ColumnFamilyMetaData cf;
  db_->GetColumnFamilyMetaData(&cf);
  if (cf.levels.empty() || cf.levels[0].files.size() < 4)
    return;
  // Each writing run adds a small table to level 0. Rewriting everything into
  // one sorted run each time four pile up costs a pass over the whole
  // database (~0.2 s at 100k messages); while the new tables are small next
  // to the rest, they are merged among themselves instead, and the whole is
  // rewritten only once they have grown to a quarter of it.
  std::uint64_t level0_bytes = 0;
  std::vector<std::string> level0;
  for (const auto& f : cf.levels[0].files) {
    level0_bytes += f.size;
    level0.push_back(f.relative_filename);
  }
  if (level0_bytes * 4 < cf.size - level0_bytes
      && db_->CompactFiles(rocksdb::CompactionOptions(), level0, 0).ok())
    return;
  rocksdb::CompactRangeOptions range;
  range.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  db_->CompactRange(range, nullptr, nullptr);
}

void status_db::close() {
  if (!db_)
    return;
  if (read_only_) {
    db_.reset(); // nothing to flush, and nothing in dir to touch
    return;
  }
  // Each open starts a new log file, and RocksDB retires the old ones only
  // after a flush, which a session that wrote nothing never triggers: runs
  // with no changes leave an empty log behind each. A session that wrote, or
  // finds a few such logs piled up, flushes (one small write makes sure
  // there is something to flush), and the logs go; the others close at once.
  const bool flush = wrote_ || count_logs(dir_) >= 4;
  if (flush) {
    const std::string stamp = std::to_string(std::time(nullptr));
    db_->Put(rocksdb::WriteOptions(), last_close_key, stamp);
  }
  if (flush && db_->Flush(rocksdb::FlushOptions()).ok())
    compact_level0();
  rocksdb::Status s = db_->Close();
  db_.reset();
  tidy_existing_files(dir_);
  if (!s.ok())
    throw_status(dir_, "close", s);
}

} // namespace oimap::storage
