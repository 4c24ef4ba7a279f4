// Starting a user's shell command (a tunnel, a hook) with its standard streams given.
#pragma once

#include <string>
#include <sys/types.h>

namespace oimap::protocol {

// Starts `/bin/sh -c command` with stdin on in_fd (-1: /dev/null), stdout on
// out_fd and stderr on err_fd (-1: ours), in envp (null: our environment).
// We ignore SIGPIPE and our threads block signals; the command gets the
// defaults (`yes | head` ends). Returns its pid; throws std::system_error.
pid_t spawn_shell(const std::string& command, int in_fd, int out_fd, int err_fd,
                  char* const* envp = nullptr);

// waitpid, again after EINTR; the exit code, or 128 + the signal that ended it.
int wait_exit(pid_t pid);

} // namespace oimap::protocol
