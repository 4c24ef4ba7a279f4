// Thin POSIX helpers for the Maildir code: an owning fd, full writes, renames, fsync.
#pragma once

#include <cerrno>
#include <dirent.h>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace oimap::storage {

// "cannot <what> <path>: <strerror(err)>", the form every storage error takes.
[[noreturn]] void throw_errno(std::string_view what, const std::filesystem::path& path, int err);

// Owns one file descriptor; closes it (ignoring errors) unless released.
class unique_fd {
public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(o.release()) {}
  unique_fd& operator=(unique_fd&& o) noexcept;
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd();

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release();
  // Closes and reports the error close() returned (0 if none): on NFS a
  // failed write may only show up here.
  int close();

private:
  int fd_ = -1;
};

// Writes all of data, retrying partial writes and EINTR; throws on failure.
void write_all(int fd, std::string_view data, const std::filesystem::path& path);

// Reads up to size bytes, retrying EINTR; returns 0 at end of file.
size_t read_some(int fd, char* buf, size_t size, const std::filesystem::path& path);

// rename() that refuses to replace an existing target (errno EEXIST), so a
// name clash can never silently destroy a message. Falls back to a checked
// plain rename on file systems without RENAME_NOREPLACE. Returns 0 or errno.
int rename_no_replace(const std::filesystem::path& from, const std::filesystem::path& to);
// The same with each name relative to a directory descriptor (or AT_FDCWD):
// a Maildir keeps its tmp/, new/ and cur/ open so that moving a message
// names two files instead of walking two whole paths.
int rename_no_replace_at(int from_dir, const char* from, int to_dir, const char* to);

// fsync a directory, making the renames and unlinks inside it durable.
void fsync_dir(const std::filesystem::path& dir);

// mkdir with the given mode; an existing directory is fine.
void make_dir(const std::filesystem::path& dir, unsigned mode);

// Calls fn(entry, dir_fd) for every entry of dir except "." and "..", in
// readdir order; throws storage_error naming dir when it cannot be read.
template <class Fn> void for_each_entry(const std::filesystem::path& dir, Fn&& fn) {
  struct closer {
    void operator()(DIR* d) const { ::closedir(d); }
  };
  std::unique_ptr<DIR, closer> d(::opendir(dir.c_str()));
  if (!d)
    throw_errno("read directory", dir, errno);
  const int dfd = ::dirfd(d.get());
  for (;;) {
    errno = 0;
    const dirent* e = ::readdir(d.get());
    if (!e) {
      if (errno != 0)
        throw_errno("read directory", dir, errno);
      return;
    }
    const std::string_view n = e->d_name;
    if (n != "." && n != "..")
      fn(*e, dfd);
  }
}

} // namespace oimap::storage
