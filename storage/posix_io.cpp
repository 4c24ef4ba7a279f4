// POSIX helpers shared by the Maildir store and folder.
#include "storage/posix_io.hpp"

#include "storage/storage_error.hpp"

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace oimap::storage {

void throw_errno(std::string_view what, const std::filesystem::path& path, int err) {
  std::string msg = "cannot ";
  msg.append(what);
  msg.push_back(' ');
  msg.append(path.string());
  msg.append(": ");
  msg.append(std::generic_category().message(err));
  throw storage_error(msg);
}

unique_fd& unique_fd::operator=(unique_fd&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = o.release();
  }
  return *this;
}

unique_fd::~unique_fd() {
  close();
}

int unique_fd::release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

int unique_fd::close() {
  if (fd_ < 0)
    return 0;
  // Linux closes the fd even when close() fails with EINTR, so never retry.
  int rc = ::close(fd_);
  fd_ = -1;
  return rc == 0 ? 0 : errno;
}

void write_all(int fd, std::string_view data, const std::filesystem::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR)
        continue;
      throw_errno("write", path, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

size_t read_some(int fd, char* buf, size_t size, const std::filesystem::path& path) {
  for (;;) {
    ssize_t n = ::read(fd, buf, size);
    if (n >= 0)
      return static_cast<size_t>(n);
    if (errno != EINTR)
      throw_errno("read", path, errno);
  }
}

int rename_no_replace(const std::filesystem::path& from, const std::filesystem::path& to) {
  return rename_no_replace_at(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str());
}

int rename_no_replace_at(int from_dir, const char* from, int to_dir, const char* to) {
  if (::renameat2(from_dir, from, to_dir, to, RENAME_NOREPLACE) == 0)
    return 0;
  int err = errno;
  if (err != EINVAL && err != ENOSYS && err != ENOTSUP)
    return err;
  // The file system cannot do it atomically: check, then rename. The window
  // is tiny and our names are unique by construction anyway.
  struct stat st;
  if (::fstatat(to_dir, to, &st, AT_SYMLINK_NOFOLLOW) == 0)
    return EEXIST;
  return ::renameat(from_dir, from, to_dir, to) == 0 ? 0 : errno;
}

void fsync_dir(const std::filesystem::path& dir) {
  unique_fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd)
    throw_errno("open", dir, errno);
  if (::fsync(fd.get()) != 0)
    throw_errno("fsync", dir, errno);
}

void make_dir(const std::filesystem::path& dir, unsigned mode) {
  if (::mkdir(dir.c_str(), static_cast<mode_t>(mode)) == 0)
    return;
  int err = errno;
  struct stat st;
  if (err == EEXIST && ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    return;
  throw_errno("create directory", dir, err);
}

} // namespace oimap::storage
