// inotify bookkeeping for dir_watch.
#include "storage/dir_watch.hpp"

#include <cerrno>
#include <sys/inotify.h>
#include <unistd.h>
#include <utility>

namespace oimap::storage {

dir_watch::~dir_watch() {
  if (fd_ >= 0)
    ::close(fd_);
}

std::shared_ptr<dir_watch> dir_watch::process_wide() {
  static const auto* shared = new std::shared_ptr<dir_watch>(std::make_shared<dir_watch>());
  return *shared;
}

int dir_watch::add(const std::filesystem::path& dir) {
  std::lock_guard lock(mutex_);
  if (fd_ < 0 && !failed_) {
    fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    failed_ = fd_ < 0;
  }
  if (fd_ < 0)
    return -1;
  // Anything already queued belongs to earlier handles: file it first, so a
  // handle the kernel hands out again never inherits old events.
  drain_locked();
  constexpr std::uint32_t mask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO
                                 | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
  int wd = ::inotify_add_watch(fd_, dir.c_str(), mask);
  if (wd < 0)
    return -1;
  records_[wd] = record{};
  return wd;
}

void dir_watch::remove(int handle) {
  if (handle < 0)
    return;
  std::lock_guard lock(mutex_);
  if (records_.erase(handle) && fd_ >= 0)
    ::inotify_rm_watch(fd_, handle);
}

std::optional<std::vector<dir_watch::event>> dir_watch::take(int handle) {
  std::lock_guard lock(mutex_);
  auto it = records_.find(handle);
  if (it == records_.end())
    return std::nullopt;
  drain_locked();
  if (it->second.lost)
    return std::nullopt;
  return std::exchange(it->second.events, {});
}

void dir_watch::drain_locked() {
  alignas(inotify_event) char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      if (n < 0 && errno != EAGAIN)
        for (auto& [wd, r] : records_)
          r.lost = true; // cannot read what the kernel has: vouch for nothing
      return;
    }
    for (ssize_t off = 0; off < n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      if (ev->mask & IN_Q_OVERFLOW) {
        for (auto& [wd, r] : records_)
          r.lost = true;
        continue;
      }
      auto it = records_.find(ev->wd);
      if (it == records_.end())
        continue; // a handle removed since
      if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
        it->second.lost = true;
        continue;
      }
      const char change = (ev->mask & (IN_CREATE | IN_MOVED_TO)) ? 'A' : 'D';
      it->second.events.push_back({change, ev->len ? std::string(ev->name) : std::string()});
    }
  }
}

} // namespace oimap::storage
