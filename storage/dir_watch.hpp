// Who changed a directory: inotify events, for checking a folder without listing it again.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace oimap::storage {

// One inotify instance, shared by the folders of every store of the process
// (process_wide). Sharing is the point: closing an instance waits for the
// kernel's grace period (5 to 22 ms here), which one instance per folder
// would pay forty times a run, and one per store at every store's end.
//
// Thread-safety: every member may be called from several threads at once.
class dir_watch {
public:
  struct event {
    char change = 0; // 'A' a name arrived (created, moved in), 'D' one left
    std::string name;
  };

  dir_watch() = default;
  dir_watch(const dir_watch&) = delete;
  dir_watch& operator=(const dir_watch&) = delete;
  // Closes the instance, which waits out the kernel's grace period: the
  // stores' instance (process_wide) is never closed for that reason.
  ~dir_watch();

  // The instance every Maildir store of the process shares, never closed
  // before the process ends: one closed by the last store of a run would
  // hold up the exit (see leave_process), and a daemon would open one a round.
  static std::shared_ptr<dir_watch> process_wide();

  // Starts recording the names arriving in and leaving dir. Returns a
  // handle, or -1 when inotify is unavailable or at its limits.
  int add(const std::filesystem::path& dir);
  // Stops recording; events not taken are dropped.
  void remove(int handle);
  // The events of the handle since add() (or the last take), in order; nullopt
  // when some may have been lost (the kernel's queue overflowed) or the
  // directory itself was moved or removed.
  std::optional<std::vector<event>> take(int handle);

private:
  struct record {
    std::vector<event> events;
    bool lost = false;
  };
  void drain_locked();

  std::mutex mutex_;
  int fd_ = -1;
  bool failed_ = false; // inotify_init1 failed: do not retry every folder
  std::unordered_map<int, record> records_;
};

} // namespace oimap::storage
