// Test support: temp dirs, child processes, a private Dovecot, a raw IMAP dialogue.
#include "support/dovecot_fixture.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace oimap::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what);
}

[[noreturn]] void fail_errno(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

int remaining_ms(steady::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
  return static_cast<int>(std::clamp<long long>(left.count(), 0, 1 << 30));
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
    s.pop_back();
  return s;
}

bool is_digit(char c) {
  return std::isdigit(static_cast<unsigned char>(c)) != 0;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_digit);
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x))
                  == std::tolower(static_cast<unsigned char>(y));
         });
}

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

// Dovecot daemonises; as a child subreaper, this process inherits the
// orphaned master (and its children when it exits), so stop() can reap them
// instead of leaving zombies behind under a PID 1 that does not reap.
void become_subreaper() {
  static std::once_flag once;
  std::call_once(once, [] { ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); });
}

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const auto name = entry.path().filename().string();
    if (!all_digits(name))
      continue;
    const auto stat = read_file(entry.path() / "stat");
    const auto close_paren = stat.rfind(')');
    if (close_paren == std::string::npos)
      continue;
    std::istringstream rest(stat.substr(close_paren + 1));
    char state = 0;
    long ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent)
      out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

// Reaps the given pids if they are (or become) our children, until the deadline.
void reap(std::vector<pid_t> pids, steady::time_point deadline) {
  while (!pids.empty()) {
    std::erase_if(pids, [](pid_t pid) {
      int status = 0;
      const auto r = ::waitpid(pid, &status, WNOHANG);
      return r == pid || (r < 0 && errno == ECHILD);
    });
    if (pids.empty() || steady::now() > deadline)
      return;
    ::poll(nullptr, 0, 10);
  }
}

} // namespace

fs::path source_dir() {
#ifdef OIMAP_SOURCE_DIR
  return fs::path(OIMAP_SOURCE_DIR);
#else
  if (const char* env = std::getenv("OIMAP_SOURCE_DIR"))
    return fs::path(env);
  fail("OIMAP_SOURCE_DIR is neither compiled in nor set in the environment");
#endif
}

// ---- temp_dir ---------------------------------------------------------------

temp_dir::temp_dir(std::string_view prefix, fs::path parent) {
  if (parent.empty())
    parent = fs::temp_directory_path();
  std::string pattern = (parent / (std::string(prefix) + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr)
    fail_errno("mkdtemp " + pattern);
  path_ = pattern;
}

temp_dir::~temp_dir() {
  if (!path_.empty() && !keep_) {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
}

temp_dir::temp_dir(temp_dir&& other) noexcept
    : path_(std::exchange(other.path_, {})), keep_(other.keep_) {}

temp_dir& temp_dir::operator=(temp_dir&& other) noexcept {
  if (this != &other) {
    if (!path_.empty() && !keep_) {
      std::error_code ec;
      fs::remove_all(path_, ec);
    }
    path_ = std::exchange(other.path_, {});
    keep_ = other.keep_;
  }
  return *this;
}

// ---- run_command ------------------------------------------------------------

command_result run_command(const std::vector<std::string>& argv,
                           const std::vector<std::pair<std::string, std::string>>& env,
                           std::chrono::milliseconds timeout) {
  if (argv.empty())
    fail("run_command: empty argv");

  // Everything the child needs is built before fork(): after it, only
  // async-signal-safe calls.
  std::vector<std::string> env_strings;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    const auto name = entry.substr(0, entry.find('='));
    const bool replaced =
        std::any_of(env.begin(), env.end(), [&](const auto& kv) { return kv.first == name; });
    if (!replaced)
      env_strings.emplace_back(entry);
  }
  for (const auto& [name, value] : env)
    env_strings.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (auto& s : env_strings)
    envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args_copy(argv);
  std::vector<char*> args;
  for (auto& s : args_copy)
    args.push_back(s.data());
  args.push_back(nullptr);

  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0)
    fail_errno("pipe");
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    fail_errno("pipe");
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    for (int fd : {out[0], out[1], err[0], err[1]})
      ::close(fd);
    fail_errno("fork");
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0)
      ::dup2(devnull, 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::execvpe(args[0], args.data(), envp.data());
    static const char msg[] = "run_command: exec failed\n";
    [[maybe_unused]] auto n = ::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::setpgid(pid, pid); // also here, so a kill right away cannot miss
  ::close(out[1]);
  ::close(err[1]);

  command_result result;
  auto deadline = steady::now() + timeout;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    const int r = ::poll(fds, 2, remaining_ms(deadline));
    if (r < 0 && errno == EINTR)
      continue;
    if (r == 0) {
      if (result.timed_out)
        break; // something outside the group still holds the pipes
      result.timed_out = true;
      ::kill(-pid, SIGKILL);
      deadline = steady::now() + 5s;
      continue;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      const auto n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& p : fds)
    if (p.fd >= 0)
      ::close(p.fd);

  int status = 0;
  pid_t waited;
  while ((waited = ::waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
  }
  if (waited != pid)
    return result; // not reapable (SIGCHLD ignored?): exit_code stays -1
  if (WIFEXITED(status))
    result.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    result.exit_code = 128 + WTERMSIG(status);
  return result;
}

// ---- ports ------------------------------------------------------------------

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    fail_errno("socket");
  auto addr = loopback(0);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0
      || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int e = errno;
    ::close(fd);
    errno = e;
    fail_errno("free_port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool port_accepts(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    fail_errno("socket");
  auto addr = loopback(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// ---- private_dovecot --------------------------------------------------------

private_dovecot::private_dovecot(options opts)
    // Under /tmp, not $TMPDIR: the path must be short (unix sockets) and
    // searchable by Dovecot's unprivileged users.
    : opts_(opts), dir_("oimap-dovecot", "/tmp") {
  become_subreaper();
  start(false);
}

void private_dovecot::start(bool same_ports) {
  std::vector<std::string> args{"start", dir_.path().string()};
  if (same_ports) {
    args.emplace_back("--port");
    args.emplace_back(std::to_string(port_));
  }
  if (opts_.ssl) {
    args.emplace_back("--ssl");
    if (same_ports) {
      args.emplace_back("--ssl-port");
      args.emplace_back(std::to_string(ssl_port_));
    }
  }
  if (opts_.separator != '.') {
    args.emplace_back("--separator");
    args.emplace_back(1, opts_.separator);
  }
  const auto r = script(args);
  if (r.exit_code != 0)
    fail("private-dovecot start failed (exit " + std::to_string(r.exit_code) + "):\n" + r.err
         + r.out + "\n--- dovecot log ---\n" + log_tail());
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("port=", 0) == 0)
      port_ = static_cast<std::uint16_t>(std::stoi(line.substr(5)));
    else if (line.rfind("ssl_port=", 0) == 0)
      ssl_port_ = static_cast<std::uint16_t>(std::stoi(line.substr(9)));
  }
  running_ = true;
  if (port_ == 0) {
    stop();
    fail("private-dovecot start printed no port: " + r.out);
  }
}

void private_dovecot::restart() {
  stop();
  start(true);
}

private_dovecot::~private_dovecot() {
  try {
    stop();
  } catch (...) {
    // Destructors must not throw; the temp dir goes anyway.
  }
}

fs::path private_dovecot::ca_file() const {
  return dir_.path() / "tls" / "ca.pem";
}

command_result private_dovecot::script(const std::vector<std::string>& args,
                                       std::chrono::milliseconds timeout) const {
  std::vector<std::string> argv{"bash", (source_dir() / "scripts" / "private-dovecot").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, {}, timeout);
}

void private_dovecot::add_user(std::string user, std::string password) {
  const auto r = script({"add-user", dir_.path().string(), user, password});
  if (r.exit_code != 0)
    fail("private-dovecot add-user " + user + " failed: " + r.err + r.out);
}

fs::path private_dovecot::user_maildir(std::string user) const {
  return dir_.path() / "mail" / user;
}

void private_dovecot::fix_ownership(std::string user) const {
  const auto owner = trim(read_file(dir_.path() / "mail_owner"));
  const auto r = run_command({"chown", "-R", owner, user_maildir(user).string()});
  if (r.exit_code != 0)
    fail("chown -R " + owner + " failed: " + r.err);
}

fs::path private_dovecot::fill(std::string user, std::string spec) {
  const auto r = script({"fill", dir_.path().string(), user, spec}, 300s);
  if (r.exit_code != 0)
    fail("private-dovecot fill " + user + " " + spec + " failed: " + r.err + r.out);
  return dir_.path() / ("fill-" + user + ".json");
}

command_result private_dovecot::doveadm(const std::vector<std::string>& args) const {
  std::vector<std::string> full{"doveadm", dir_.path().string()};
  full.insert(full.end(), args.begin(), args.end());
  return script(full);
}

void private_dovecot::stop() {
  if (!running_)
    return;
  running_ = false;
  pid_t master = 0;
  try {
    master = static_cast<pid_t>(std::stol(read_file(dir_.path() / "run" / "master.pid")));
  } catch (...) {
  }
  const auto children = master > 0 ? children_of(master) : std::vector<pid_t>{};
  const auto r = script({"stop", dir_.path().string()});
  std::vector<pid_t> ours(children);
  if (master > 0)
    ours.push_back(master);
  reap(ours, steady::now() + 5s);
  if (r.exit_code != 0)
    fail("private-dovecot stop failed: " + r.err + r.out);
}

std::string private_dovecot::log_tail(std::size_t lines) const {
  std::ifstream in(dir_.path() / "log" / "dovecot.log");
  std::deque<std::string> tail;
  for (std::string line; std::getline(in, line);) {
    tail.push_back(line);
    if (tail.size() > lines)
      tail.pop_front();
  }
  std::string out;
  for (const auto& l : tail)
    out += l + "\n";
  return out;
}

// ---- imap_reply -------------------------------------------------------------

bool imap_reply::ok() const {
  const auto sp = tagged.find(' ');
  if (sp == std::string::npos)
    return false;
  return iequals(std::string_view(tagged).substr(sp + 1, 3), "OK ")
         || iequals(std::string_view(tagged).substr(sp + 1), "OK");
}

std::vector<std::string> imap_reply::lines_with(std::string_view word) const {
  std::vector<std::string> out;
  for (const auto& line : untagged) {
    if (line.rfind("* ", 0) != 0)
      continue;
    std::istringstream in(line.substr(2));
    std::string first, second;
    in >> first >> second;
    if (iequals(first, word) || (all_digits(first) && iequals(second, word)))
      out.push_back(line);
  }
  return out;
}

std::string imap_reply::text() const {
  std::string out;
  for (const auto& l : untagged)
    out += l + "\n";
  return out + tagged;
}

// ---- imap_dialogue ----------------------------------------------------------

imap_dialogue::imap_dialogue(std::uint16_t port, std::chrono::milliseconds timeout)
    : timeout_(timeout) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0)
    fail_errno("socket");
  auto addr = loopback(port);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int e = errno;
    ::close(fd_);
    fd_ = -1;
    errno = e;
    fail_errno("connect 127.0.0.1:" + std::to_string(port));
  }
  greeting_ = read_response_line();
  if (greeting_.rfind("* OK", 0) != 0 && greeting_.rfind("* PREAUTH", 0) != 0)
    fail("unexpected IMAP greeting: " + greeting_);
}

imap_dialogue::~imap_dialogue() {
  if (fd_ >= 0)
    ::close(fd_);
}

std::string imap_dialogue::next_tag() {
  return "T" + std::to_string(++tag_counter_);
}

void imap_dialogue::send_raw(std::string_view bytes) {
  const auto deadline = steady::now() + timeout_;
  while (!bytes.empty()) {
    pollfd p{fd_, POLLOUT, 0};
    const int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r < 0 && errno == EINTR)
      continue;
    if (r == 0)
      fail("IMAP send timed out");
    const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN)
        continue;
      fail_errno("IMAP send");
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void imap_dialogue::fill_buffer() {
  const auto deadline = steady::now() + timeout_;
  for (;;) {
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      fail_errno("IMAP poll");
    if (r == 0)
      fail("IMAP read timed out; have so far: " + buffer_);
    char buf[16384];
    const auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      fail_errno("IMAP recv");
    if (n == 0)
      fail("IMAP connection closed by the server; have so far: " + buffer_);
    buffer_.append(buf, static_cast<std::size_t>(n));
    return;
  }
}

std::string imap_dialogue::read_line() {
  for (;;) {
    const auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r')
        line.pop_back();
      return line;
    }
    fill_buffer();
  }
}

std::string imap_dialogue::read_exact(std::size_t n) {
  while (buffer_.size() < n)
    fill_buffer();
  std::string out = buffer_.substr(0, n);
  buffer_.erase(0, n);
  return out;
}

// A response line may end in a literal "{n}" (RFC 3501 literal); its n bytes
// and the rest of the line follow, and are inlined here.
std::string imap_dialogue::read_response_line() {
  std::string line = read_line();
  for (;;) {
    if (line.empty() || line.back() != '}')
      return line;
    const auto open = line.rfind('{');
    if (open == std::string::npos)
      return line;
    auto digits = line.substr(open + 1, line.size() - open - 2);
    if (!digits.empty() && digits.back() == '+')
      digits.pop_back();
    if (!all_digits(digits))
      return line;
    line += "\r\n";
    line += read_exact(std::stoull(digits));
    line += read_line();
  }
}

imap_reply imap_dialogue::command(std::string_view command) {
  const auto tag = next_tag();
  send_raw(tag + " " + std::string(command) + "\r\n");
  imap_reply reply;
  for (;;) {
    auto line = read_response_line();
    if (line.rfind(tag + " ", 0) == 0) {
      reply.tagged = std::move(line);
      return reply;
    }
    reply.untagged.push_back(std::move(line));
  }
}

void imap_dialogue::login(std::string_view user, std::string_view password) {
  const auto r = command("LOGIN " + imap_quote(user) + " " + imap_quote(password));
  if (!r.ok())
    fail("IMAP LOGIN failed: " + r.text());
}

imap_reply imap_dialogue::append(std::string_view folder, std::string_view message,
                                 std::string_view flags, std::string_view internaldate) {
  const auto tag = next_tag();
  std::string cmd = tag + " APPEND " + imap_quote(folder);
  if (!flags.empty())
    cmd += " (" + std::string(flags) + ")";
  if (!internaldate.empty())
    cmd += " \"" + std::string(internaldate) + "\"";
  cmd += " {" + std::to_string(message.size()) + "}\r\n";
  send_raw(cmd);
  imap_reply reply;
  for (;;) {
    auto line = read_response_line();
    if (line.rfind(tag + " ", 0) == 0) { // refused before the literal
      reply.tagged = std::move(line);
      return reply;
    }
    if (line.rfind("+", 0) == 0)
      break;
    reply.untagged.push_back(std::move(line));
  }
  send_raw(message);
  send_raw("\r\n");
  for (;;) {
    auto line = read_response_line();
    if (line.rfind(tag + " ", 0) == 0) {
      reply.tagged = std::move(line);
      return reply;
    }
    reply.untagged.push_back(std::move(line));
  }
}

std::string imap_quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out + "\"";
}

} // namespace oimap::test
