// The sync status of one account (RocksDB): per-folder records, metadata and upload journal.
#pragma once

#include "storage/flags.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rocksdb {
class DB;
class Env;
class WriteBatch;
} // namespace rocksdb

namespace oimap::storage {

// What the last sync saw of a remote folder, for UIDVALIDITY checks and quick sync.
struct folder_meta {
  std::uint32_t uidvalidity = 0;
  std::uint32_t uidnext = 0;
  std::uint64_t highestmodseq = 0;
  std::uint32_t exists = 0;
  // mtimes (ns) of the Maildir's new/ and cur/ as sealed by the last sync
  // (maildir_folder::seal); 0: unknown, the next sync must scan.
  std::uint64_t local_new_mtime = 0;
  std::uint64_t local_cur_mtime = 0;
  // Every recorded message's local key is stored too (set_key), so a sync
  // can find the files of the messages that changed without a scan.
  bool keys_recorded = false;
  bool operator==(const folder_meta&) const = default;
};

// One message both sides agreed on: the remote UID and its flags.
struct status_record {
  std::uint32_t uid = 0;
  flag_set flags;
  bool operator==(const status_record&) const = default;
};

// Journal entry written before an APPEND and erased once the UID is
// recorded: after a crash in between, the upload can be found on the server
// (UIDs from uidnext_before on, matching size / Message-ID / md5) instead of
// being uploaded twice.
struct pending_upload {
  std::string key; // the local message's key in its Maildir folder
  std::uint32_t uidnext_before = 0;
  std::uint64_t wire_size = 0;
  std::string message_id;
  std::string md5; // empty: recovery hashes the local file (older runs wrote it)
  bool operator==(const pending_upload&) const = default;
};

// One RocksDB database holds one account's status; its LOCK file keeps a
// second process out. Keys start with the folder name, length-prefixed, so
// folder "a" never sees the keys of folder "ab"; record keys end in the
// big-endian UID so iteration is in numeric UID order.
//
// Thread-safety: every member except close() may be called from several
// threads at once (RocksDB's DB is thread-safe for concurrent reads and
// writes); a batch is one thread's object until written.
class status_db {
public:
  // A set of changes written atomically by write().
  class batch {
  public:
    batch();
    batch(batch&&) noexcept;
    batch& operator=(batch&&) noexcept;
    ~batch();

    void set_record(std::string_view folder, const status_record& record);
    // Erases the record and its local key.
    void erase_record(std::string_view folder, std::uint32_t uid);
    // The key of the Maildir file holding the message (see maildir_name.hpp).
    void set_key(std::string_view folder, std::uint32_t uid, std::string_view key);
    void erase_key(std::string_view folder, std::uint32_t uid);
    void set_meta(std::string_view folder, const folder_meta& meta);
    void add_pending(std::string_view folder, const pending_upload& upload);
    void erase_pending(std::string_view folder, std::string_view key);
    // Everything stored for the folder: records, meta and journal.
    void erase_folder(std::string_view folder);
    // The message limits (maxage, maxsize) the folder was synced under, as
    // the sync describes them; empty: none.
    void set_window(std::string_view folder, std::string_view window);
    // For the next run: how many folders this one found to sync.
    void set_folders_to_sync(std::uint32_t n);

    // Number of operations queued.
    std::size_t size() const;
    bool empty() const { return size() == 0; }

  private:
    friend class status_db;
    std::unique_ptr<rocksdb::WriteBatch> batch_;
  };

  // Opens (creating if missing) the database in dir. The directory is made
  // mode 0700 and every file in it 0600. Throws storage_error, saying
  // "status database <dir> is in use by another oimap process" when its
  // lock is held. With fsync, every write() is synced to disk before it returns.
  static std::unique_ptr<status_db> open(const std::filesystem::path& dir, bool fsync);
  // Opens an existing database only to read it (--dry-run): nothing in dir
  // is written, created or locked, so an oimap syncing meanwhile is not in
  // the way. nullptr when dir holds no database (never synced).
  static std::unique_ptr<status_db> open_read_only(const std::filesystem::path& dir);

  status_db(const status_db&) = delete;
  status_db& operator=(const status_db&) = delete;
  ~status_db();

  std::optional<folder_meta> get_meta(std::string_view folder) const;
  // What batch::set_window recorded for the folder; empty if nothing.
  std::string window(std::string_view folder) const;
  // What the last run recorded with batch::set_folders_to_sync.
  std::optional<std::uint32_t> folders_to_sync_last_run() const;
  // All records of the folder, sorted by UID.
  std::vector<status_record> load(std::string_view folder) const;
  // The highest UID recorded for the folder (one seek, not a load).
  std::optional<std::uint32_t> last_uid(std::string_view folder) const;
  std::optional<flag_set> get_record(std::string_view folder, std::uint32_t uid) const;
  std::optional<std::string> get_key(std::string_view folder, std::uint32_t uid) const;
  // The folder's journal of uploads not yet confirmed, sorted by key.
  std::vector<pending_upload> pending(std::string_view folder) const;
  // Every folder with anything stored, sorted by encoded key (length, then name).
  std::vector<std::string> folders() const;

  // Applies the batch atomically (all or nothing), then empties it.
  void write(batch& b);
  // The same for what a crash may lose (a hint such as the to-sync count):
  // not synced to disk, whatever the fsync setting; the next write that is
  // carries it.
  void write_unsynced(batch& b);

  // Flushes and closes; further calls throw. The destructor closes too.
  void close();

  const std::filesystem::path& dir() const { return dir_; }

private:
  status_db(std::filesystem::path dir, bool fsync);
  rocksdb::DB& db() const;
  void write(batch& b, bool sync);
  // Keeps level 0 (a table per writing run) from piling up; at close.
  void compact_level0();

  std::filesystem::path dir_;
  bool fsync_;
  std::unique_ptr<rocksdb::Env> env_; // must outlive db_
  std::unique_ptr<rocksdb::DB> db_;
  bool wrote_ = false; // this session changed something (close() then flushes)
  bool read_only_ = false;
};

} // namespace oimap::storage
