// Maildir folder operations: scan, deliver, rename for flags and uids, remove, read.
#include "storage/maildir_folder.hpp"

#include "storage/header_filter.hpp"

#include "storage/mail_date.hpp"

#include "storage/maildir_name.hpp"
#include "storage/storage_error.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <unordered_set>

namespace oimap::storage {
namespace {

constexpr size_t buffer_size = 64 * 1024;

const char* subdir(bool in_new) {
  return in_new ? "new" : "cur";
}

std::string key_of(std::string_view filename, bool windows_compatible) {
  // parse_name's key without the md5 work: everything before "<sep>2,".
  const char marker[] = {info_separator(windows_compatible), '2', ','};
  return std::string(filename.substr(0, filename.find(std::string_view(marker, 3))));
}

// Calls fn(name) for each regular, non-dot file of dir. Uses d_type and
// only stats when the file system does not report it (or for symlinks,
// which count when they point at a file).
template <class Fn> void for_each_file(const std::filesystem::path& dir, Fn&& fn) {
  for_each_entry(dir, [&](const dirent& e, int dfd) {
    if (e.d_name[0] == '.')
      return;
    if (e.d_type != DT_REG) {
      if (e.d_type != DT_UNKNOWN && e.d_type != DT_LNK)
        return;
      struct stat st;
      if (::fstatat(dfd, e.d_name, &st, 0) != 0 || !S_ISREG(st.st_mode))
        return;
    }
    fn(std::string_view(e.d_name));
  });
}

unique_fd open_subdir(const std::filesystem::path& dir, const char* sub) {
  unique_fd fd(::open((dir / sub).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd)
    throw_errno("open", dir / sub, errno);
  return fd;
}

} // namespace

// ---- message_writer ---------------------------------------------------------

message_writer::message_writer(maildir_folder* folder, unique_fd fd, std::filesystem::path tmp_path,
                               std::string unique)
    : folder_(folder), fd_(std::move(fd)), tmp_path_(std::move(tmp_path)),
      unique_(std::move(unique)), buffer_(new char[buffer_size + 1]), finished_(false),
      // Nothing to keep unless an option reads the headers.
      head_done_(!folder->opts_.utime_from_header && !folder->opts_.filename_use_mail_timestamp) {}

message_writer::message_writer(message_writer&& o) noexcept
    : folder_(o.folder_), fd_(std::move(o.fd_)), tmp_path_(std::move(o.tmp_path_)),
      unique_(std::move(o.unique_)), converter_(o.converter_), buffer_(std::move(o.buffer_)),
      used_(o.used_), finished_(o.finished_), head_(std::move(o.head_)), head_done_(o.head_done_) {
  o.finished_ = true;
}

message_writer& message_writer::operator=(message_writer&& o) noexcept {
  if (this != &o) {
    abort();
    folder_ = o.folder_;
    fd_ = std::move(o.fd_);
    tmp_path_ = std::move(o.tmp_path_);
    unique_ = std::move(o.unique_);
    converter_ = o.converter_;
    buffer_ = std::move(o.buffer_);
    used_ = o.used_;
    finished_ = o.finished_;
    head_ = std::move(o.head_);
    head_done_ = o.head_done_;
    o.finished_ = true;
  }
  return *this;
}

message_writer::~message_writer() {
  abort();
}

void message_writer::flush() {
  write_all(fd_.get(), std::string_view(buffer_.get(), used_), tmp_path_);
  used_ = 0;
}

void message_writer::finish_conversion() {
  if (converter_.holds_cr()) {
    std::string tail;
    converter_.finish(tail);
    std::memcpy(buffer_.get() + used_, tail.data(), tail.size());
    used_ += tail.size();
  }
}

void message_writer::keep_head(std::string_view wire_chunk) {
  // Headers longer than this are not worth reading for a date.
  constexpr std::size_t most = 64 * 1024;
  head_.append(wire_chunk.substr(0, most - std::min(most, head_.size())));
  head_done_ = head_.size() >= most || head_.find("\r\n\r\n") != std::string::npos
               || head_.find("\n\n") != std::string::npos;
}

void message_writer::set_time_from_header() {
  const auto when = date_header_time(head_);
  if (!when)
    return;
  struct timespec ts[2];
  ts[0].tv_sec = ts[1].tv_sec = static_cast<time_t>(*when);
  ts[0].tv_nsec = ts[1].tv_nsec = 0;
  if (::futimens(fd_.get(), ts) != 0)
    throw_errno("set the time of", tmp_path_, errno);
}

std::string message_writer::name_unique() const {
  if (!folder_->opts_.filename_use_mail_timestamp)
    return unique_;
  auto when = date_header_time(head_);
  if (!when)
    when = date_header_time(head_, "Delivery-date");
  if (!when)
    return unique_;
  name_origin origin = next_name_origin();
  origin.time = *when;
  return unique_part(origin);
}

void message_writer::write(std::string_view wire_chunk) {
  if (finished_)
    throw storage_error("cannot write " + tmp_path_.string() + ": message already finished");
  if (!head_done_)
    keep_head(wire_chunk);
  // Convert in slices that fit the room left, so the buffer (allocated once
  // per message) is never outgrown, however big the chunk.
  while (!wire_chunk.empty()) {
    std::string_view slice = wire_chunk.substr(0, buffer_size - used_);
    wire_chunk.remove_prefix(slice.size());
    used_ = converter_.convert(slice, buffer_.get() + used_) - buffer_.get();
    if (used_ >= buffer_size)
      flush();
  }
}

std::string message_writer::commit(std::uint32_t uid, flag_set flags, const delivery_times& times) {
  if (finished_)
    throw storage_error("cannot commit " + tmp_path_.string() + ": message already finished");
  try {
    finish_conversion();
    flush();
    if (times.mtime) {
      struct timespec ts[2];
      ts[0].tv_sec = ts[1].tv_sec = static_cast<time_t>(*times.mtime);
      ts[0].tv_nsec = ts[1].tv_nsec = 0;
      if (::futimens(fd_.get(), ts) != 0)
        throw_errno("set the time of", tmp_path_, errno);
    } else if (folder_->opts_.utime_from_header) {
      set_time_from_header();
    }
    if (folder_->opts_.fsync && !folder_->on_ram_fs_ && ::fsync(fd_.get()) != 0)
      throw_errno("fsync", tmp_path_, errno);
    if (int err = fd_.close())
      throw_errno("write", tmp_path_, err);

    std::string unique = name_unique();
    if (times.name_time) {
      name_origin origin = next_name_origin();
      origin.time = *times.name_time;
      unique = unique_part(origin);
    }
    const bool windows = folder_->opts_.windows_compatible;
    maildir_folder::location to{!flags.has(flag::seen),
                                format_name(unique, uid, folder_->md5_, flags, windows)};
    folder_->place(unique_, tmp_path_, to);
    finished_ = true;
    std::string key = key_of(to.filename, windows);
    folder_->add_file(key, std::move(to));
    return key;
  } catch (...) {
    abort();
    throw;
  }
}

staged_message message_writer::stage(std::uint32_t uid, flag_set flags) {
  if (finished_)
    throw storage_error("cannot stage " + tmp_path_.string() + ": message already finished");
  try {
    finish_conversion();
    flush();
    if (folder_->opts_.utime_from_header)
      set_time_from_header();
    if (int err = fd_.close())
      throw_errno("write", tmp_path_, err);
    finished_ = true;
    std::string named = name_unique();
    return {tmp_path_, unique_, named == unique_ ? std::string() : std::move(named), uid, flags};
  } catch (...) {
    abort();
    throw;
  }
}

void message_writer::abort() noexcept {
  if (finished_)
    return;
  finished_ = true;
  fd_.close();
  used_ = 0;
  ::unlinkat(folder_->tmp_dir_.get(), unique_.c_str(), 0);
}

// ---- message_reader ---------------------------------------------------------

message_reader::message_reader(unique_fd fd, std::filesystem::path path,
                               std::vector<std::string> drop_headers)
    : fd_(std::move(fd)), path_(std::move(path)),
      in_(std::make_unique_for_overwrite<char[]>(buffer_size)),
      drop_headers_(std::move(drop_headers)) {}

void message_reader::read_head() {
  if (head_)
    return;
  std::string text;
  std::uint64_t offset = 0;
  for (;;) {
    const size_t n = read_at(offset);
    // Filtered only once the empty line that ends the block is in (or the
    // file is): a long block costs one pass, not one per read.
    const std::size_t from = text.size() < 2 ? 0 : text.size() - 2;
    text.append(in_.get(), n);
    offset += n;
    const bool ended = text.compare(0, 1, "\n") == 0 || text.compare(0, 2, "\r\n") == 0
                       || text.find("\n\n", from) != std::string::npos
                       || text.find("\n\r\n", from) != std::string::npos;
    if (!ended && n != 0)
      continue;
    if (auto block = filter_header_block(text, drop_headers_, n == 0)) {
      head_.emplace();
      lf_to_crlf().convert(block->head, *head_);
      body_from_ = block->length;
      return;
    }
  }
}

size_t message_reader::read_at(std::uint64_t offset) {
  for (;;) {
    ssize_t n = ::pread(fd_.get(), in_.get(), buffer_size, static_cast<off_t>(offset));
    if (n >= 0)
      return static_cast<size_t>(n);
    if (errno != EINTR)
      throw_errno("read", path_, errno);
  }
}

std::uint64_t message_reader::wire_size() {
  if (!wire_size_ && !drop_headers_.empty()) {
    read_head();
    wire_size_counter counter;
    for (std::uint64_t offset = body_from_; size_t n = read_at(offset); offset += n)
      counter.feed(std::string_view(in_.get(), n));
    wire_size_ = head_->size() + counter.size();
  }
  if (!wire_size_) {
    wire_size_counter counter;
    std::uint64_t offset = 0;
    std::size_t reads = 0;
    while (size_t n = read_at(offset)) {
      counter.feed(std::string_view(in_.get(), n));
      offset += n;
      ++reads;
    }
    wire_size_ = counter.size();
    if (reads == 1 && offset_ == 0)
      whole_ = static_cast<std::size_t>(offset);
  }
  return *wire_size_;
}

std::string_view message_reader::next() {
  if (!drop_headers_.empty() && !head_sent_) {
    read_head();
    head_sent_ = true;
    offset_ = body_from_;
    out_ = *head_;
    return out_;
  }
  size_t n = whole_ && offset_ == 0 ? *whole_ : read_at(offset_);
  offset_ += n;
  out_.clear();
  converter_.convert(std::string_view(in_.get(), n), out_);
  return out_;
}

// ---- maildir_folder ---------------------------------------------------------

maildir_folder::maildir_folder(std::filesystem::path dir, std::string_view visible_name,
                               maildir_options opts, std::shared_ptr<dir_watch> watch)
    : dir_(std::move(dir)), md5_(folder_md5(visible_name)), opts_(opts), watch_(std::move(watch)),
      tmp_dir_(open_subdir(dir_, "tmp")), new_dir_(open_subdir(dir_, "new")),
      cur_dir_(open_subdir(dir_, "cur")) {
  struct statfs fs {};
  if (::statfs(dir_.c_str(), &fs) == 0)
    on_ram_fs_ = fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC;
}

maildir_folder::~maildir_folder() {
  std::lock_guard lock(mutex_);
  unwatch_locked();
}

std::filesystem::path maildir_folder::file_path(const location& loc) const {
  return dir_ / subdir(loc.in_new) / loc.filename;
}

int maildir_folder::move(const location& from, const location& to) const {
  return rename_no_replace_at(dir_fd(from.in_new), from.filename.c_str(), dir_fd(to.in_new),
                              to.filename.c_str());
}

void maildir_folder::place(const std::string& unique, const std::filesystem::path& tmp_path,
                           const location& to) const {
  // The tmp/ name is the unique part (begin_message).
  if (int err = rename_no_replace_at(tmp_dir_.get(), unique.c_str(), dir_fd(to.in_new),
                                     to.filename.c_str()))
    throw_errno("rename " + tmp_path.string() + " to", file_path(to), err);
}

std::vector<local_entry> maildir_folder::scan(bool watch) {
  {
    std::lock_guard lock(mutex_);
    unwatch_locked();
    if (watch)
      watch_locked(); // first: a change while listing must show up too
  }
  std::array<std::vector<std::string>, 2> names; // new/, cur/
  for (bool in_new : {true, false})
    for_each_file(dir_ / subdir(in_new),
                  [&](std::string_view name) { names[in_new ? 0 : 1].emplace_back(name); });
  const size_t total = names[0].size() + names[1].size();
  std::vector<local_entry> out;
  out.reserve(total);
  file_map files;
  files.reserve(total);
  for (bool in_new : {true, false}) {
    for (std::string& name : names[in_new ? 0 : 1]) {
      name_fields p = parse_name_fields(name, md5_, opts_.windows_compatible);
      auto [it, inserted] = files.try_emplace(std::string(p.key), location{in_new, name});
      if (!inserted) {
        // A '/' can never be in a file name, so this cannot clash with a real key.
        std::string key = std::string(subdir(in_new)) + "/" + name;
        it = files.try_emplace(std::move(key), location{in_new, name}).first;
      }
      out.push_back({it->first, p.uid, p.flags, in_new, std::move(name)});
    }
  }
  std::lock_guard lock(mutex_);
  files_ = std::move(files);
  return out;
}

bool maildir_folder::watch_unscanned() {
  std::lock_guard lock(mutex_);
  files_.clear();
  watch_locked();
  return watching();
}

std::optional<local_entry> maildir_folder::locate(std::string_view key, flag_set flags) {
  const bool windows = opts_.windows_compatible;
  std::string info = std::string(key) + info_separator(windows) + "2," + flags.to_maildir();
  const bool seen = flags.has(flag::seen);
  const std::pair<bool, const std::string*> candidates[] = {
      {!seen, &info}, {seen, &info}, {true, nullptr}};
  const std::string bare(key);
  for (const auto& [in_new, name] : candidates) {
    location loc{in_new, name ? *name : bare};
    struct stat st;
    if (::fstatat(dir_fd(in_new), loc.filename.c_str(), &st, 0) != 0 || !S_ISREG(st.st_mode))
      continue;
    name_fields p = parse_name_fields(loc.filename, md5_, windows);
    local_entry e{std::string(key), p.uid, p.flags, in_new, loc.filename};
    std::lock_guard lock(mutex_);
    files_.insert_or_assign(std::string(key), std::move(loc));
    return e;
  }
  return std::nullopt;
}

namespace {

std::uint64_t mtime_ns(const std::filesystem::path& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0)
    throw_errno("stat", dir, errno);
  return static_cast<std::uint64_t>(st.st_mtim.tv_sec) * 1'000'000'000u
         + static_cast<std::uint64_t>(st.st_mtim.tv_nsec);
}

} // namespace

std::vector<std::string> maildir_folder::commit_staged(std::vector<staged_message>& staged) {
  std::vector<std::string> keys;
  if (staged.empty())
    return keys;
  keys.reserve(staged.size());
  std::size_t done = 0;
  try {
    if (opts_.fsync && !on_ram_fs_) {
      // One sync of the file system makes every staged file durable before
      // any of them is renamed into place: a crash leaves whole messages or
      // none, at the cost of one journal commit per batch, not per message.
      unique_fd dir(::open((dir_ / "tmp").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!dir)
        throw_errno("open", dir_ / "tmp", errno);
      if (::syncfs(dir.get()) != 0)
        throw_errno("sync the file system of", dir_ / "tmp", errno);
    }
    const bool windows = opts_.windows_compatible;
    for (; done < staged.size(); ++done) {
      const auto& m = staged[done];
      location to{!m.flags.has(flag::seen),
                  format_name(m.name_unique.empty() ? m.unique : m.name_unique, m.uid, md5_,
                              m.flags, windows)};
      place(m.unique, m.tmp_path, to);
      std::string key = key_of(to.filename, windows);
      add_file(key, std::move(to));
      keys.push_back(std::move(key));
    }
  } catch (...) {
    for (; done < staged.size(); ++done)
      ::unlink(staged[done].tmp_path.c_str());
    staged.clear();
    throw;
  }
  staged.clear();
  return keys;
}

std::size_t maildir_folder::clean_tmp(std::chrono::seconds max_age) {
  const auto tmp = dir_ / "tmp";
  const std::time_t limit = std::time(nullptr) - static_cast<std::time_t>(max_age.count());
  std::vector<std::string> old;
  for_each_file(tmp, [&](std::string_view name) {
    struct stat st {};
    const auto p = tmp / name;
    if (::stat(p.c_str(), &st) == 0 && st.st_ctime < limit)
      old.emplace_back(name);
  });
  std::size_t removed = 0;
  for (const auto& name : old)
    removed += ::unlink((tmp / name).c_str()) == 0;
  return removed;
}

dir_stamp maildir_folder::stamp_at(const std::filesystem::path& dir) {
  return {mtime_ns(dir / "new"), mtime_ns(dir / "cur")};
}

std::optional<dir_stamp> maildir_folder::seal() {
  // The kernel stamps a directory change with a coarse clock (one value per
  // tick), so it never writes "our time + 1 ns": after setting that, any
  // change by anyone moves the mtime away from it, even in the same tick.
  dir_stamp marked;
  for (bool in_new : {true, false}) {
    const auto dir = dir_ / subdir(in_new);
    const std::uint64_t mark = mtime_ns(dir) + 1;
    struct timespec times[2];
    times[0].tv_sec = 0;
    times[0].tv_nsec = UTIME_OMIT;
    times[1].tv_sec = static_cast<time_t>(mark / 1'000'000'000u);
    times[1].tv_nsec = static_cast<long>(mark % 1'000'000'000u);
    if (::utimensat(AT_FDCWD, dir.c_str(), times, 0) != 0)
      return std::nullopt; // e.g. not our directory: just scan next time
    (in_new ? marked.new_ns : marked.cur_ns) = mark;
  }
  // A change before the marks is in the watch's events (the kernel queues
  // them while it holds the directory, as utimensat does) or in a new
  // listing; one after, in the mtime.
  std::lock_guard lock(mutex_);
  const bool watched = only_our_changes_locked();
  unwatch_locked();
  if (!watched) {
    std::array<std::unordered_set<std::string_view>, 2> known;
    for (const auto& [key, loc] : files_)
      known[loc.in_new ? 0 : 1].insert(loc.filename);
    std::size_t listed = 0;
    bool foreign = false;
    for (bool in_new : {true, false})
      for_each_file(dir_ / subdir(in_new), [&](std::string_view name) {
        ++listed;
        foreign |= !known[in_new ? 0 : 1].count(name);
      });
    if (foreign || listed != files_.size())
      return std::nullopt;
  }
  if (stamp() != marked)
    return std::nullopt;
  return marked;
}

void maildir_folder::watch_locked() {
  unwatch_locked();
  if (!watch_)
    return;
  watch_new_ = watch_->add(dir_ / "new");
  watch_cur_ = watch_->add(dir_ / "cur");
  if (!watching())
    unwatch_locked();
}

void maildir_folder::unwatch_locked() {
  if (watch_) {
    watch_->remove(watch_new_);
    watch_->remove(watch_cur_);
  }
  watch_new_ = watch_cur_ = -1;
  expected_.clear();
}

void maildir_folder::expect_locked(char change, const location& loc) {
  if (!watching())
    return;
  std::string entry;
  entry.reserve(2 + loc.filename.size());
  entry += change;
  entry += loc.in_new ? 'n' : 'c';
  entry += loc.filename;
  expected_.insert(std::move(entry));
}

bool maildir_folder::only_our_changes_locked() {
  if (!watching())
    return false;
  std::string entry;
  for (bool in_new : {true, false}) {
    auto events = watch_->take(in_new ? watch_new_ : watch_cur_);
    if (!events)
      return false;
    for (const auto& ev : *events) {
      entry.clear();
      entry += ev.change;
      entry += in_new ? 'n' : 'c';
      entry += ev.name;
      auto it = expected_.find(entry);
      if (it == expected_.end())
        return false; // someone else's change
      expected_.erase(it);
    }
  }
  return true;
}

message_writer maildir_folder::begin_message() {
  // The tmp/ name is the unique part of the final name: unique by
  // construction, and O_EXCL refuses to reuse a leftover from a crash.
  for (int attempt = 0;; ++attempt) {
    std::string unique = unique_part(next_name_origin());
    std::filesystem::path tmp = dir_ / "tmp" / unique;
    int fd =
        ::openat(tmp_dir_.get(), unique.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0)
      return message_writer(this, unique_fd(fd), std::move(tmp), std::move(unique));
    // EEXIST only if a crashed process with our pid left this name; the
    // counter moves on, so retrying a few times gets a fresh one.
    if (errno != EEXIST || attempt == 8)
      throw_errno("create", tmp, errno);
  }
}

void maildir_folder::add_file(std::string key, location loc) {
  std::lock_guard lock(mutex_);
  expect_locked('A', loc);
  files_.insert_or_assign(std::move(key), std::move(loc));
}

maildir_folder::file_map::iterator maildir_folder::relocate_locked(std::string_view key) {
  // Keys made of "<dir>/<filename>" for duplicates are exact file names.
  if (size_t slash = key.find('/'); slash != std::string_view::npos) {
    std::string_view dir = key.substr(0, slash);
    location loc{dir == "new", std::string(key.substr(slash + 1))};
    struct stat st;
    if ((dir == "new" || dir == "cur")
        && ::fstatat(dir_fd(loc.in_new), loc.filename.c_str(), &st, 0) == 0)
      return files_.insert_or_assign(std::string(key), std::move(loc)).first;
    return files_.end();
  }
  std::optional<location> found;
  for (bool in_new : {true, false}) {
    for_each_file(dir_ / subdir(in_new), [&](std::string_view name) {
      if (!found && name.starts_with(key) && key_of(name, opts_.windows_compatible) == key)
        found = location{in_new, std::string(name)};
    });
  }
  if (!found) {
    if (auto it = files_.find(key); it != files_.end())
      files_.erase(it);
    return files_.end();
  }
  return files_.insert_or_assign(std::string(key), std::move(*found)).first;
}

maildir_folder::file_map::iterator maildir_folder::find_locked(std::string_view key) {
  auto it = files_.find(key);
  if (it != files_.end())
    return it;
  it = relocate_locked(key);
  if (it == files_.end())
    throw message_not_found("no message " + std::string(key) + " in " + dir_.string());
  return it;
}

void maildir_folder::set_flags(std::string_view key, flag_set flags) {
  std::lock_guard lock(mutex_);
  const bool windows = opts_.windows_compatible;
  for (int attempt = 0;; ++attempt) {
    auto it = find_locked(key);
    location& loc = it->second;
    flag_set current = parse_name(loc.filename, md5_, windows).flags;
    const bool to_new = !flags.has(flag::seen);
    if (current == flags && loc.in_new == to_new)
      return;
    // Like OfflineIMAP, a move between new/ and cur/ alone keeps the name.
    location target{to_new, current == flags ? loc.filename
                                             : name_with_flags(loc.filename, flags, windows)};
    int err = move(loc, target);
    if (err == 0) {
      expect_locked('D', loc);
      expect_locked('A', target);
      loc = std::move(target);
      return;
    }
    if (err == ENOENT && attempt == 0) {
      // Renamed by someone else since the scan: find it again and retry.
      if (relocate_locked(key) == files_.end())
        throw message_not_found("no message " + std::string(key) + " in " + dir_.string());
      continue;
    }
    throw_errno("rename " + file_path(loc).string() + " to", file_path(target), err);
  }
}

std::string maildir_folder::set_uid(std::string_view key, std::uint32_t uid) {
  std::lock_guard lock(mutex_);
  const bool windows = opts_.windows_compatible;
  for (int attempt = 0;; ++attempt) {
    auto it = find_locked(key);
    const location& loc = it->second;
    std::string old_key = key_of(loc.filename, windows);
    std::string new_key = key_with_uid(old_key, uid, md5_);
    if (new_key == old_key && it->first == new_key)
      return new_key; // already named so (a repeat after a crash)
    location target{loc.in_new, new_key + loc.filename.substr(old_key.size())};
    if (auto other = files_.find(new_key); other != files_.end() && other != it)
      throw storage_error("cannot rename " + file_path(loc).string() + " to "
                          + file_path(target).string() + ": message " + new_key
                          + " already exists in " + dir_.string());
    // The name may already be right while the map key is not (a duplicate).
    int err = target.filename == loc.filename ? 0 : move(loc, target);
    if (err == 0) {
      if (target.filename != loc.filename) {
        expect_locked('D', loc);
        expect_locked('A', target);
      }
      files_.erase(it);
      files_.insert_or_assign(new_key, std::move(target));
      return new_key;
    }
    if (err == ENOENT && attempt == 0) {
      if (relocate_locked(key) == files_.end())
        throw message_not_found("no message " + std::string(key) + " in " + dir_.string());
      continue;
    }
    throw_errno("rename " + file_path(loc).string() + " to", file_path(target), err);
  }
}

void maildir_folder::remove(std::string_view key) {
  std::lock_guard lock(mutex_);
  for (int attempt = 0;; ++attempt) {
    auto it = files_.find(key);
    if (it == files_.end()) {
      it = relocate_locked(key);
      if (it == files_.end())
        return; // already gone: deleting is idempotent
    }
    if (::unlinkat(dir_fd(it->second.in_new), it->second.filename.c_str(), 0) == 0) {
      expect_locked('D', it->second);
      files_.erase(it);
      return;
    }
    int err = errno;
    if (err == ENOENT && attempt == 0) {
      files_.erase(it); // look again under its current name
      continue;
    }
    if (err == ENOENT)
      return;
    throw_errno("remove", file_path(it->second), err);
  }
}

message_reader maildir_folder::open(std::string_view key) {
  std::lock_guard lock(mutex_);
  for (int attempt = 0;; ++attempt) {
    auto it = find_locked(key);
    int fd = ::openat(dir_fd(it->second.in_new), it->second.filename.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0)
      return message_reader(unique_fd(fd), file_path(it->second), opts_.wire_drops_headers);
    int err = errno;
    if (err == ENOENT && attempt == 0) {
      files_.erase(it);
      continue;
    }
    if (err == ENOENT)
      throw message_not_found("no message " + std::string(key) + " in " + dir_.string());
    throw_errno("open", file_path(it->second), err);
  }
}

std::optional<std::filesystem::path> maildir_folder::path_of(std::string_view key) {
  std::lock_guard lock(mutex_);
  auto it = files_.find(key);
  if (it == files_.end())
    it = relocate_locked(key);
  if (it == files_.end())
    return std::nullopt;
  return file_path(it->second);
}

void maildir_folder::sync_dirs() {
  if (!opts_.fsync || on_ram_fs_)
    return;
  fsync_dir(dir_ / "new");
  fsync_dir(dir_ / "cur");
}

} // namespace oimap::storage
