// presynchook / postsynchook: a shell command run before and after an account's sync.
#pragma once

#include <string>
#include <string_view>

namespace oimap::sync {

struct hook_result {
  // The shell's exit status, or 128 + the signal that ended it; -1 when it
  // could not be started (why says so).
  int status = -1;
  std::string output; // stdout and stderr, interleaved as written (the last 64 KiB)
  std::string why;    // set when the shell could not be started
};

// Runs command with /bin/sh -c, as OfflineIMAP does: stdin from /dev/null,
// OFFLINEIMAPSYNCMODE=sync_mode ("full" or "quick") added to the
// environment, and its output collected for the ui. Returns once the shell
// has exited: a background process the hook started and that still holds
// the output open is not waited for.
hook_result run_hook(const std::string& command, std::string_view sync_mode);

} // namespace oimap::sync
