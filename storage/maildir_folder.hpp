// One Maildir folder: scanning, streaming delivery, flag/uid renames, removal, reading.
#pragma once

#include "storage/dir_watch.hpp"
#include "storage/flags.hpp"
#include "storage/line_endings.hpp"
#include "storage/posix_io.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace oimap::storage {

struct maildir_options {
  bool fsync = true; // fsync message files before their rename, and dirs in sync_dirs()
  bool windows_compatible = false; // '!' instead of ':' before the flags
  bool utime_from_header = false;  // a delivered file's mtime is its Date: header's time
  // The time in a delivered file's name is its Date: (else Delivery-date:) header's.
  bool filename_use_mail_timestamp = false;
  // filterheaders: header fields (lower-case names) left out of the wire
  // form message_reader gives, which is what is uploaded.
  std::vector<std::string> wire_drops_headers{};
};

// One message file as scan() found it.
struct local_entry {
  std::string key;                  // stable id: the name before its flags (see maildir_name.hpp)
  std::optional<std::uint32_t> uid; // only if the name's FMD5 is this folder's
  flag_set flags;
  bool in_new = false; // in new/ rather than cur/
  std::string filename;
};

// The mtimes (ns since the epoch) of a folder's new/ and cur/.
struct dir_stamp {
  std::uint64_t new_ns = 0;
  std::uint64_t cur_ns = 0;
  bool operator==(const dir_stamp&) const = default;
};

// Optional timestamps for a delivery (filename_use_mail_timestamp,
// utime_from_header), both in seconds since the epoch.
struct delivery_times {
  std::optional<std::int64_t> name_time; // the <time> of the file name; default: now
  std::optional<std::int64_t> mtime;     // the file's mtime; default: untouched
};

class maildir_folder;

// A message fully written to tmp/ but neither durable nor in place yet: many
// of them become both at once with maildir_folder::commit_staged, which
// replaces one fsync per message by one file-system sync per batch.
struct staged_message {
  std::filesystem::path tmp_path;
  std::string unique;      // its tmp/ name
  std::string name_unique; // the unique part of its name in place; empty: unique
  std::uint32_t uid = 0;
  flag_set flags;
};

// Streams one message from the wire into tmp/, then renames it into place.
// The body goes to disk as it arrives (CRLF -> LF, through a 64 KiB buffer),
// so a message is never held whole in memory. Destroying a writer that was
// not committed removes its tmp/ file. The folder must outlive it.
class message_writer {
public:
  message_writer(message_writer&& o) noexcept;
  message_writer& operator=(message_writer&& o) noexcept;
  message_writer(const message_writer&) = delete;
  message_writer& operator=(const message_writer&) = delete;
  ~message_writer();

  // Appends a chunk of the message in wire form (CRLF line ends).
  void write(std::string_view wire_chunk);
  // Flushes, fsyncs if the folder's fsync option is on, and renames the file
  // into cur/ (flags with S) or new/ under its OfflineIMAP name. Returns the
  // message's key. On failure the tmp/ file is removed and storage_error thrown.
  std::string commit(std::uint32_t uid, flag_set flags, const delivery_times& times = {});
  // Flushes and closes the tmp/ file, leaving durability and the rename to
  // maildir_folder::commit_staged.
  staged_message stage(std::uint32_t uid, flag_set flags);

  // Removes the tmp/ file; harmless after commit or a previous abort.
  void abort() noexcept;

  const std::filesystem::path& tmp_path() const { return tmp_path_; }

private:
  friend class maildir_folder;
  message_writer(maildir_folder* folder, unique_fd fd, std::filesystem::path tmp_path,
                 std::string unique);
  void flush();
  void finish_conversion(); // a CR held at the very end is data after all

  maildir_folder* folder_ = nullptr;
  unique_fd fd_;
  std::filesystem::path tmp_path_;
  std::string unique_; // the <time>_<seq>.<pid>.<host> part, also the tmp/ name
  crlf_to_lf converter_;
  std::unique_ptr<char[]> buffer_; // converted bytes not yet written
  std::size_t used_ = 0;
  bool finished_ = true;
  // utime_from_header: the message's first bytes, up to its headers' end.
  std::string head_;
  bool head_done_ = false;
  void keep_head(std::string_view wire_chunk);
  void set_time_from_header(); // futimens to the Date: header's time, if it has one
  // The unique part its name takes in place: unique_, or with the header's time.
  std::string name_unique() const;
};

// Reads one message file in wire form (LF -> CRLF), chunk by chunk. It holds
// the file open, so a rename by a mail reader meanwhile does not disturb it.
class message_reader {
public:
  // The size of the wire form: the APPEND literal length. The first call
  // reads the file once; reading position is unaffected.
  std::uint64_t wire_size();
  // The next chunk in wire form, or an empty view at the end. The view is
  // valid until the next call.
  std::string_view next();
  const std::filesystem::path& path() const { return path_; }

private:
  friend class maildir_folder;
  message_reader(unique_fd fd, std::filesystem::path path, std::vector<std::string> drop_headers);
  size_t read_at(std::uint64_t offset);
  // With headers to drop: the filtered header block in wire form, and where
  // the body starts in the file (read once).
  void read_head();

  unique_fd fd_;
  std::filesystem::path path_;
  std::unique_ptr<char[]> in_; // not zeroed: only what a read fills is touched
  std::string out_;
  lf_to_crlf converter_;
  std::uint64_t offset_ = 0;
  std::optional<std::uint64_t> wire_size_;
  // The whole file was one read of wire_size(), still in in_: next() sends
  // it from there instead of reading it again.
  std::optional<std::size_t> whole_;
  std::vector<std::string> drop_headers_;
  std::optional<std::string> head_; // wire form
  std::uint64_t body_from_ = 0;
  bool head_sent_ = false;
};

// Thread-safety: the key -> file map is guarded by a mutex, so writers may
// commit and different keys may be changed from several threads at once.
// Two concurrent operations on the same key are not supported.
class maildir_folder {
public:
  // dir holds cur/ new/ tmp/; visible_name is the name after nametrans,
  // whose md5 is the FMD5 in file names.
  // With a watch (the store's), seal() checks the folder from its events.
  maildir_folder(std::filesystem::path dir, std::string_view visible_name, maildir_options opts,
                 std::shared_ptr<dir_watch> watch = {});
  ~maildir_folder();
  maildir_folder(const maildir_folder&) = delete;
  maildir_folder& operator=(const maildir_folder&) = delete;

  const std::filesystem::path& path() const { return dir_; }
  const std::string& md5() const { return md5_; }

  // Lists new/ then cur/ (regular files only, dot-files ignored), one
  // readdir per directory and no stat unless the file system leaves the
  // type unknown. Replaces the key map the operations below use. Should two
  // files share a key (a copied file), the second gets key "<dir>/<filename>".
  // With watch (and the store's watch), changes from now on are recorded so
  // that seal() can vouch for the folder without listing it again: worth it
  // for big folders, as the watch makes the process wait ~5-15 ms for the
  // kernel when it ends.
  std::vector<local_entry> scan(bool watch = false);

  // Instead of a scan, for a folder known not to have changed since its last
  // seal: forgets every file and starts watching (false if it cannot), so
  // that the files found with locate() and the changes made from here on
  // can be sealed without listing the folder.
  bool watch_unscanned();
  // Finds the file of a message by its key alone, where a sync names it
  // (flags with S in cur/, else new/, "<key><sep>2,<flags>") or in new/
  // under the bare key: a few stat calls, no listing. The file is then
  // known to the operations below. nullopt when it is not there.
  std::optional<local_entry> locate(std::string_view key, flag_set flags);
  // Starts a delivery: creates a tmp/ file with O_CREAT|O_EXCL, mode 0600.
  message_writer begin_message();

  // Makes the staged messages durable (one syncfs when fsync is on; nothing
  // to do on tmpfs) and renames each into cur/ or new/ under its OfflineIMAP
  // name. Returns their keys, in order. On failure the files not yet renamed
  // are removed and storage_error thrown; those renamed stay (and are known).
  std::vector<std::string> commit_staged(std::vector<staged_message>& staged);

  // Renames the file to carry flags: into cur/ if they include S, else new/
  // (as OfflineIMAP does). No-op when nothing would change.
  void set_flags(std::string_view key, flag_set flags);
  // After an upload: renames the file so its key carries ",U=<uid>,FMD5=<ours>"
  // (foreign U= and FMD5= fields replaced, the rest kept). Returns the new key.
  std::string set_uid(std::string_view key, std::uint32_t uid);
  // Deletes the message; a file already gone is not an error.
  void remove(std::string_view key);
  // Opens the message for reading in wire form.
  message_reader open(std::string_view key);
  // Current full path of a message, if the key is known.
  std::optional<std::filesystem::path> path_of(std::string_view key);

  // Removes files in tmp/ last changed more than max_age ago (the Maildir
  // convention is 36 hours): what a killed delivery left behind. Returns how
  // many went.
  std::size_t clean_tmp(std::chrono::seconds max_age = std::chrono::hours(36));

  // The current mtimes of new/ and cur/ (two stat calls).
  dir_stamp stamp() const { return stamp_at(dir_); }
  // The same for the folder in dir, without opening it.
  static dir_stamp stamp_at(const std::filesystem::path& dir);

  // Marks new/ and cur/ so that any later change to them shows in their
  // mtime, then checks that they hold exactly the files this object knows
  // of (the last scan plus our own changes). Returns the marked stamp, or
  // nullopt when someone else changed the folder meanwhile. A sync that
  // finds the same stamp next time may skip scanning the folder.
  // The check reads the inotify events since scan() when it could watch the
  // folder (every one must be a change of ours), else lists it again.
  std::optional<dir_stamp> seal();
  // Whether the folder is watched since the last scan(), so that seal() can
  // vouch for it without listing it again.
  bool watching() const { return watch_new_ >= 0 && watch_cur_ >= 0; }

  // fsyncs new/ and cur/ so the renames and unlinks so far are durable.
  // Meant to be called once per batch; does nothing when fsync is off.
  void sync_dirs();

private:
  friend class message_writer;
  struct location {
    bool in_new = false;
    std::string filename;
  };
  struct string_hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using file_map = std::unordered_map<std::string, location, string_hash, std::equal_to<>>;

  std::filesystem::path file_path(const location& loc) const;
  int dir_fd(bool in_new) const { return (in_new ? new_dir_ : cur_dir_).get(); }
  // rename_no_replace between two files of the folder; 0 or errno.
  int move(const location& from, const location& to) const;
  // Renames a message from tmp/ (named unique) into place; throws, naming
  // tmp_path, when it cannot.
  void place(const std::string& unique, const std::filesystem::path& tmp_path,
             const location& to) const;
  // Finds key in the map, else re-reads new/ and cur/ for it (the file may
  // have been renamed by a mail reader since the scan). Caller holds mutex_.
  file_map::iterator find_locked(std::string_view key);
  file_map::iterator relocate_locked(std::string_view key);
  // Records a file a writer has just renamed into place.
  void add_file(std::string key, location loc);
  // Notes a change of ours to new/ or cur/ that the watch will report:
  // 'A' a name arriving, 'D' one leaving. Caller holds mutex_.
  void expect_locked(char change, const location& loc);
  // Starts watching new/ and cur/ (before a scan); without a watch, or past
  // inotify's limits, seal() lists the folder again instead.
  void watch_locked();
  void unwatch_locked();
  // What the watch saw since scan(): true when every event is a change
  // expect_locked() announced. Caller holds mutex_.
  bool only_our_changes_locked();

  std::filesystem::path dir_;
  std::string md5_;
  maildir_options opts_;
  bool on_ram_fs_ = false; // tmpfs/ramfs: fsync cannot make anything more durable
  std::mutex mutex_;
  file_map files_;
  std::shared_ptr<dir_watch> watch_;
  int watch_new_ = -1; // handles on new/ and cur/ since scan(), if watched
  int watch_cur_ = -1;
  std::unordered_multiset<std::string> expected_; // change + dir + name, see expect_locked
  // tmp/, new/ and cur/, open (O_PATH) for as long as the folder is: each
  // file operation then names one file instead of walking the folder's whole
  // path again, a quarter of what creating and renaming a message costs.
  unique_fd tmp_dir_, new_dir_, cur_dir_;
};

} // namespace oimap::storage
