// A quick exit that hands the slow closes to a child.
#include "storage/leave_process.hpp"

#include <algorithm>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <sys/prctl.h>
#include <unistd.h>

namespace oimap::storage {

namespace {

constexpr int max_kept = 16;

// Runs in the child of _Fork: async-signal-safe calls only.
[[noreturn]] void hold_until_parent_gone(pid_t parent, const int* keep, int n) {
  // Everything else closes now, so that a pipe on stdout or a socket is not
  // held open past the parent by this copy of the descriptor table.
  unsigned from = 0;
  for (int i = 0; i < n; ++i) {
    if (static_cast<unsigned>(keep[i]) > from)
      ::close_range(from, static_cast<unsigned>(keep[i]) - 1, 0);
    from = static_cast<unsigned>(keep[i]) + 1;
  }
  ::close_range(from, UINT_MAX, 0);
  // PR_SET_PDEATHSIG follows the thread that forked: it calls _Exit next.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent)
    ::_exit(0);
  for (;;)
    ::pause();
}

} // namespace

int inotify_descriptors(int* out, int capacity) noexcept {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir)
    return 0;
  const int own = ::dirfd(dir);
  int n = 0;
  while (const dirent* e = ::readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end || fd == own)
      continue;
    char target[64];
    char path[64];
    std::snprintf(path, sizeof path, "/proc/self/fd/%ld", fd);
    const ssize_t len = ::readlink(path, target, sizeof target - 1);
    if (len <= 0)
      continue;
    target[len] = 0;
    if (std::strcmp(target, "anon_inode:inotify") == 0 && n < capacity)
      out[n++] = static_cast<int>(fd);
  }
  ::closedir(dir);
  // readdir's order is the directory's; the child's close_range wants them rising.
  std::sort(out, out + n);
  return n;
}

void leave_process(int code) noexcept {
  int keep[max_kept];
  const int n = inotify_descriptors(keep, max_kept);
  if (n > 0) {
    const pid_t self = ::getpid();
    // _Fork, not fork: no atfork handlers run, and the child only makes
    // system calls. A failed fork leaves the wait to this process, as before.
    if (::_Fork() == 0)
      hold_until_parent_gone(self, keep, n);
  }
  std::_Exit(code);
}

} // namespace oimap::storage
