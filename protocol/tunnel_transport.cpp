// The tunnel: a socketpair, one end the command's stdin and stdout, the other ours.
#include "protocol/tunnel_transport.hpp"

#include "protocol/imap_error.hpp"
#include "protocol/shell_command.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/wait.h>
#include <system_error>
#include <thread>

namespace oimap::protocol {

std::unique_ptr<tunnel_transport> tunnel_transport::start(const std::string& command,
                                                          int timeout_seconds) {
  // Named by its program only: the rest of a command line may hold a secret
  // (sshpass -p ...), and errors and traces show the peer.
  const auto first = command.find_first_not_of(" \t");
  const auto end = command.find_first_of(" \t", first);
  const std::string peer =
      "tunnel '" + command.substr(first == std::string::npos ? 0 : first, end - first)
      + (end != std::string::npos && command.find_first_not_of(" \t", end) != std::string::npos
             ? " ...'"
             : "'");
  int in[2], out[2]; // the command's stdin and stdout
  if (::pipe2(in, O_CLOEXEC) != 0)
    throw imap_error(error_kind::connect,
                     "cannot start " + peer + ": pipe: " + std::strerror(errno));
  unique_fd in_read(in[0]), in_write(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0)
    throw imap_error(error_kind::connect,
                     "cannot start " + peer + ": pipe: " + std::strerror(errno));
  unique_fd out_read(out[0]), out_write(out[1]);
  pid_t pid = -1;
  try {
    pid = spawn_shell(command, in_read.get(), out_write.get(), -1);
  } catch (const std::system_error& e) {
    throw imap_error(error_kind::connect, "cannot start " + peer + ": " + e.what());
  }
  // The command holds its ends: at its exit, ours reads EOF.
  in_read = unique_fd();
  out_write = unique_fd();
  try {
    return std::unique_ptr<tunnel_transport>(new tunnel_transport(
        tcp_transport::over_pipes(std::move(out_read), std::move(in_write), peer, timeout_seconds),
        pid));
  } catch (...) {
    ::kill(pid, SIGTERM);
    wait_exit(pid);
    throw;
  }
}

tunnel_transport::~tunnel_transport() {
  stream_.reset(); // EOF on the command's stdin: an IMAP server ends there
  using namespace std::chrono;
  const auto deadline = steady_clock::now() + seconds(2);
  int wstatus = 0;
  for (;;) {
    const pid_t done = ::waitpid(pid_, &wstatus, WNOHANG);
    if (done == pid_ || (done < 0 && errno != EINTR))
      return;
    if (steady_clock::now() >= deadline)
      break;
    std::this_thread::sleep_for(milliseconds(5));
  }
  ::kill(pid_, SIGKILL);
  wait_exit(pid_);
}

} // namespace oimap::protocol
