// Test support: temp dirs, child processes, a private Dovecot, a raw IMAP dialogue.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// Plain C++20 + POSIX, no Catch2: compiled into every test binary. Failures
// throw std::runtime_error with enough context (log tails) to debug from CI.
namespace oimap::test {

// The source tree (for scripts/), from the OIMAP_SOURCE_DIR compile
// definition, else the OIMAP_SOURCE_DIR environment variable.
std::filesystem::path source_dir();

// A fresh directory, removed with everything in it on destruction.
class temp_dir {
public:
  // Created as <parent>/<prefix>-XXXXXX; parent defaults to
  // std::filesystem::temp_directory_path().
  explicit temp_dir(std::string_view prefix = "oimap-test", std::filesystem::path parent = {});
  ~temp_dir();
  temp_dir(temp_dir&& other) noexcept;
  temp_dir& operator=(temp_dir&& other) noexcept;
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Keeps the directory on destruction (e.g. to inspect a failure).
  void keep() { keep_ = true; }

private:
  std::filesystem::path path_;
  bool keep_ = false;
};

struct command_result {
  int exit_code = -1;     // exit status, or 128 + signal number
  std::string out;        // everything written to stdout
  std::string err;        // everything written to stderr
  bool timed_out = false; // killed (with its process group) at the deadline
};

// Runs argv[0] (searched in PATH) with stdin from /dev/null, capturing
// stdout and stderr. `env` entries (NAME, value) are added to, or replace,
// the current environment. The child leads its own process group, which is
// killed with SIGKILL when `timeout` passes. Throws only if it cannot start.
command_result run_command(const std::vector<std::string>& argv,
                           const std::vector<std::pair<std::string, std::string>>& env = {},
                           std::chrono::milliseconds timeout = std::chrono::seconds(60));

// A port on 127.0.0.1 that was free a moment ago (bound to port 0, closed).
std::uint16_t free_port();

// True when something accepts TCP connections on 127.0.0.1:port.
bool port_accepts(std::uint16_t port);

struct dovecot_options {
  bool ssl = false;     // also serve STARTTLS on port() and imaps on ssl_port()
  char separator = '.'; // IMAP hierarchy separator ('.' is Maildir++'s own)
};

// A Dovecot of our own on 127.0.0.1 (scripts/private-dovecot), in a temp dir
// under /tmp; never the system service. Stopped and removed on destruction.
//
// Mail on disk is Maildir++: user_maildir(u) is INBOX, folder "a.b" is
// user_maildir(u)/".a.b". The mail belongs to an unprivileged user (Dovecot
// refuses uid 0): after writing files there yourself, call fix_ownership(u).
class private_dovecot {
public:
  using options = dovecot_options;

  explicit private_dovecot(options opts = {});
  ~private_dovecot();
  private_dovecot(const private_dovecot&) = delete;
  private_dovecot& operator=(const private_dovecot&) = delete;

  std::uint16_t port() const { return port_; }         // IMAP (+STARTTLS with ssl)
  std::uint16_t ssl_port() const { return ssl_port_; } // imaps, 0 without ssl
  std::filesystem::path dir() const { return dir_.path(); }
  std::filesystem::path
  ca_file() const; // CA that signed the server cert (SAN localhost, 127.0.0.1)
  char separator() const { return opts_.separator; }

  void add_user(std::string user, std::string password);
  std::filesystem::path user_maildir(std::string user) const;
  // Gives everything under user_maildir(user) to the mail owner.
  void fix_ownership(std::string user) const;
  // Loads generated sample mail: spec "folders=N,messages=M,seed=S" (see
  // scripts/make-sample-mail). Returns the path of the JSON manifest with the
  // expected per-folder counts.
  std::filesystem::path fill(std::string user, std::string spec);
  // Runs doveadm against this instance, e.g. {"mailbox", "status", "-u", "bob", "all", "INBOX"}.
  command_result doveadm(const std::vector<std::string>& args) const;

  // Stops the server (the port is closed afterwards); idempotent.
  void stop();
  // Stops if needed, then starts again on the same port(s) with the same
  // users and mail (for reconnect tests).
  void restart();
  bool running() const { return running_; }
  // The last `lines` lines of Dovecot's log, for failure messages.
  std::string log_tail(std::size_t lines = 40) const;

private:
  void start(bool same_ports);
  command_result script(const std::vector<std::string>& args,
                        std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;

  options opts_;
  temp_dir dir_;
  std::uint16_t port_ = 0;
  std::uint16_t ssl_port_ = 0;
  bool running_ = false;
};

// One IMAP reply: untagged and continuation lines (literals inlined, CRLF
// stripped) and the tagged completion.
struct imap_reply {
  std::vector<std::string> untagged;
  std::string tagged; // e.g. "A3 OK [READ-WRITE] Select completed"
  bool ok() const;    // tagged status is OK
  // The untagged lines that start with "* <word>" (case-insensitive word).
  std::vector<std::string> lines_with(std::string_view word) const;
  std::string text() const; // every line, for failure messages
};

// A blocking plain-TCP IMAP client on 127.0.0.1, independent of oimap's own
// protocol code, for preparing and checking server state in tests. Every
// read has the deadline given to the constructor.
class imap_dialogue {
public:
  explicit imap_dialogue(std::uint16_t port,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~imap_dialogue();
  imap_dialogue(const imap_dialogue&) = delete;
  imap_dialogue& operator=(const imap_dialogue&) = delete;

  const std::string& greeting() const { return greeting_; }

  // Sends "<tag> <command>\r\n" and reads up to the tagged reply.
  imap_reply command(std::string_view command);
  // Convenience: LOGIN; throws unless OK.
  void login(std::string_view user, std::string_view password);
  // APPEND with a synchronizing literal; flags like "\\Seen \\Flagged",
  // internaldate like "01-Jan-2020 12:00:00 +0000" (default: now).
  imap_reply append(std::string_view folder, std::string_view message, std::string_view flags = {},
                    std::string_view internaldate = {});

  // Raw access for protocol-level tests.
  void send_raw(std::string_view bytes);
  // One response line without CRLF; literals ({n}) inside are inlined.
  std::string read_response_line();

private:
  std::string next_tag();
  std::string read_line();
  std::string read_exact(std::size_t n);
  void fill_buffer();

  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::string buffer_;
  std::string greeting_;
  unsigned tag_counter_ = 0;
};

// IMAP quoted string for a folder name or password.
std::string imap_quote(std::string_view s);

} // namespace oimap::test
