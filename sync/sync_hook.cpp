// The hook runs in a shell of its own; we only collect what it says and how it ended.
#include "sync/sync_hook.hpp"

#include "protocol/shell_command.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace oimap::sync {
namespace {

constexpr std::size_t output_kept = 64 * 1024;
constexpr std::string_view mode_variable = "OFFLINEIMAPSYNCMODE=";

struct fd_closer {
  int fd = -1;
  ~fd_closer() {
    if (fd >= 0)
      ::close(fd);
  }
};

// Reads what the pipe holds now; false at its end.
bool drain(int fd, std::string& out) {
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
      if (out.size() > output_kept)
        out.erase(0, out.size() - output_kept);
      continue;
    }
    if (n == 0)
      return false;
    if (errno == EINTR)
      continue;
    return true; // EAGAIN: more may come
  }
}

int status_of(int wstatus) {
  return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
}

} // namespace

hook_result run_hook(const std::string& command, std::string_view sync_mode) {
  hook_result r;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    r.why = std::string("cannot make a pipe: ") + std::strerror(errno);
    return r;
  }
  fd_closer from{fds[0]}, to{fds[1]};

  // The environment as ours, with the sync mode OfflineIMAP's hooks are told.
  std::vector<std::string> env_strings;
  for (char** e = environ; e && *e; ++e)
    if (std::string_view(*e).substr(0, mode_variable.size()) != mode_variable)
      env_strings.emplace_back(*e);
  env_strings.push_back(std::string(mode_variable) + std::string(sync_mode));
  std::vector<char*> envp;
  for (auto& s : env_strings)
    envp.push_back(s.data());
  envp.push_back(nullptr);

  pid_t pid = -1;
  try {
    pid = protocol::spawn_shell(command, -1, fds[1], fds[1], envp.data());
  } catch (const std::system_error& e) {
    r.why = e.what();
    return r;
  }
  ::close(to.fd);
  to.fd = -1;
  ::fcntl(from.fd, F_SETFL, ::fcntl(from.fd, F_GETFL) | O_NONBLOCK);

  int wstatus = 0;
  for (;;) {
    pollfd p{from.fd, POLLIN, 0};
    // The pipe's end usually comes with the shell's; the timeout is for a
    // background process that keeps the pipe open after the shell is gone.
    const int ready = ::poll(&p, 1, 50);
    if (ready < 0 && errno != EINTR)
      break;
    if (ready > 0 && !drain(from.fd, r.output)) {
      r.status = protocol::wait_exit(pid);
      return r;
    }
    const pid_t done = ::waitpid(pid, &wstatus, WNOHANG);
    if (done == pid) {
      drain(from.fd, r.output);
      r.status = status_of(wstatus);
      return r;
    }
  }
  r.status = protocol::wait_exit(pid);
  return r;
}

} // namespace oimap::sync
