// Echo off for the one line, back on after, even when the read fails.
#include "sync/password_prompt.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <termios.h>
#include <unistd.h>

namespace oimap::sync {
namespace {

void write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return; // the prompt is a courtesy; the read says whether anyone answers
    done += static_cast<std::size_t>(n);
  }
}

class echo_off {
public:
  explicit echo_off(int fd) : fd_(fd) {
    if (::tcgetattr(fd, &saved_) != 0)
      throw std::runtime_error(std::string("cannot ask for a password: ") + std::strerror(errno));
    termios quiet = saved_;
    quiet.c_lflag &= static_cast<tcflag_t>(~(ECHO | ECHOE | ECHOK | ECHONL));
    ::tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  ~echo_off() { ::tcsetattr(fd_, TCSAFLUSH, &saved_); }
  echo_off(const echo_off&) = delete;
  echo_off& operator=(const echo_off&) = delete;

private:
  int fd_;
  termios saved_{};
};

} // namespace

std::optional<config::secret> ask_password(int tty_fd, const std::string& prompt) {
  std::string line;
  bool ended = false;
  {
    echo_off quiet(tty_fd);
    write_all(tty_fd, prompt);
    for (char c;;) {
      const ssize_t n = ::read(tty_fd, &c, 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      if (c == '\n' || c == '\r') {
        ended = true;
        break;
      }
      line += c;
    }
  }
  write_all(tty_fd, "\n");
  if (!ended && line.empty())
    return std::nullopt;
  return config::secret(std::move(line));
}

int open_terminal() {
  return ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
}

} // namespace oimap::sync
