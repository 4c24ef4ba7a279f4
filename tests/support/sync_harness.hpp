// Integration-test harness: a private Dovecot, an oimap config, and Maildir comparisons.
#pragma once

#include "support/dovecot_fixture.hpp"

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace oimap::test {

namespace fs = std::filesystem;

// One message as a test compares it: body with LF line ends, Maildir flags.
struct message_view {
  std::string body;
  std::string flags;
  bool operator<(const message_view& o) const {
    return std::tie(body, flags) < std::tie(o.body, o.flags);
  }
  bool operator==(const message_view&) const = default;
};

// CRLF -> LF, the one change a sync may make to a message.
std::string lf(std::string_view s);
std::string crlf(std::string_view s);
std::string read_file(const fs::path& p);
void write_file(const fs::path& p, std::string_view data);

// Messages of one Maildir folder (cur/ and new/), sorted.
std::vector<message_view> maildir_messages(const fs::path& folder);
// file name -> full path, for "nothing was renamed" checks.
std::map<std::string, std::string> maildir_files(const fs::path& folder);

// A Dovecot with user "alice", an oimap config for it, a local Maildir root.
class sync_env {
public:
  // Users are all added before anyone logs in: Dovecot rereads its
  // passwd-file at most once a second, so a user added later may be refused.
  explicit sync_env(dovecot_options opts = {},
                    std::vector<std::pair<std::string, std::string>> users = {{"alice", "pw"}});

  private_dovecot& server() { return server_; }
  const fs::path& dir() const { return dir_.path(); }
  fs::path local_root() const { return dir_.path() / "Mail"; }
  fs::path metadata() const { return dir_.path() / "state"; }
  fs::path config() const { return dir_.path() / "oimaprc"; }
  // Server-side Maildir of a folder (Maildir++: "a.b" -> .a.b).
  fs::path server_folder(const std::string& folder) const;
  fs::path local_folder(const std::string& folder, char sep = '.') const;

  // Writes the config; extra_remote/extra_local/extra_general are appended
  // to those sections verbatim.
  void write_config(const std::string& extra_remote = {}, const std::string& extra_local = {},
                    const std::string& extra_general = {}, const std::string& password = "pw");
  command_result oimap(const std::vector<std::string>& args = {},
                       std::chrono::milliseconds timeout = std::chrono::seconds(120));

  imap_dialogue& imap(); // logged-in dialogue, opened on first use
  void close_imap() { imap_.reset(); }

private:
  temp_dir dir_;
  private_dovecot server_;
  std::unique_ptr<imap_dialogue> imap_;
  std::string password_;
};

fs::path oimap_binary();
std::string make_message(const std::string& id, const std::string& body_lines);

} // namespace oimap::test
