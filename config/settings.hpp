// Typed, validated settings built from a config_file: [general], accounts, repositories.
#pragma once

#include "config/config_file.hpp"

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace oimap::config {

// A password. It has no operator<< and no conversion to string, so it cannot
// reach a log line or an error message without a visible reveal().
class secret {
public:
  explicit secret(std::string value) : value_(std::move(value)) {}
  const std::string& reveal() const { return value_; }
  friend bool operator==(const secret&, const secret&) = default;

private:
  std::string value_;
};

// The user interfaces OfflineIMAP offers (its UI_LIST).
enum class ui_kind { ttyui, basic, quiet, machineui, blinkenlights, syslog };
std::string_view to_string(ui_kind ui);

// [general]
struct general_settings {
  std::vector<std::string> accounts; // the `accounts` list as written
  std::filesystem::path metadata;    // ~ and $VAR expanded; default ~/.offlineimap
  int maxsyncaccounts = 1;           // accounts synced at once (>= 1)
  ui_kind ui = ui_kind::ttyui;       // first known name of the `ui` list
  bool fsync = true;
  int socktimeout = 0;                             // seconds; 0 = no timeout
  std::optional<std::filesystem::path> pythonfile; // expanded
  bool dry_run = false;                            // `dry-run`, as --dry-run sets it in OfflineIMAP
};

// OfflineIMAP's proxy option: "SOCKS5:host:port" or "HTTP:host:port".
struct proxy_setting {
  bool http = false; // else SOCKS5
  std::string host;
  int port = 0;
  bool operator==(const proxy_setting&) const = default;
};

// The Maildir part of a [Repository X] with type = Maildir.
struct maildir_settings {
  std::filesystem::path localfolders;       // expanded
  char sep = '.';                           // hierarchy separator on disk
  bool restoreatime = false;                // new/ and cur/ keep their access times
  bool utime_from_header = false;           // a downloaded file's mtime: its Date: header's
  bool filename_use_mail_timestamp = false; // and the time in its name
};

// The IMAP part of a [Repository X] with type = IMAP.
// The *eval options are Python expressions, kept raw for the evaluator.
struct imap_settings {
  std::string remotehost; // empty only when remotehosteval is set
  std::optional<std::string> remotehosteval;
  int remoteport = 993;     // default 993 with ssl, else 143
  std::optional<bool> ipv6; // yes: IPv6 addresses only, no: IPv4 only; unset: either
  std::optional<std::string> remoteporteval;
  std::string remoteuser; // empty only when remoteusereval is set
  std::optional<std::string> remoteusereval;
  // Password sources, in OfflineIMAP's order of preference: remotepasseval,
  // remotepass, remotepassfile; see read_password().
  std::optional<std::string> remotepasseval;
  std::optional<secret> remotepass;
  std::optional<std::filesystem::path> remotepassfile; // expanded, read lazily
  std::string remotepassfile_where;                    // "file:line", for read errors

  bool ssl = true;      // implicit TLS
  bool starttls = true; // used when ssl is off
  // Unlike OfflineIMAP, certificates are verified by default; `ssl_verify =
  // no` is the explicit way out.
  bool tls_verify = true;
  // A PEM bundle; nullopt means the system store (option unset or OS-DEFAULT).
  std::optional<std::filesystem::path> sslcacertfile;
  std::optional<std::filesystem::path> sslclientcert; // expanded
  std::optional<std::filesystem::path> sslclientkey;  // expanded
  std::vector<std::string> cert_fingerprints;         // lower-case hex, ':' removed
  // A command speaking IMAP on its stdin/stdout instead of a connection:
  // already logged in (preauthtunnel), or logged in as usual (transporttunnel).
  std::optional<std::string> preauthtunnel;
  std::optional<std::string> transporttunnel;
  // remote_identity: the mailbox to act for, remoteuser being a master user.
  std::string remote_identity;
  // The proxy of the account(s) syncing with this repository.
  std::optional<proxy_setting> proxy;
  std::vector<std::string> auth_mechanisms; // upper-case, in preference order

  int maxconnections = 1; // >= 1
  bool expunge = true;
  bool subscribedonly = false;     // only the folders LSUB names
  bool holdconnectionopen = false; // parsed; not acted on yet
  int keepalive = 0;               // seconds; parsed; not acted on yet
};

enum class repository_type { maildir, imap };

// [Repository X]
struct repository_settings {
  std::string name;
  std::string where; // "file:line" of the section header
  bool readonly = false;
  bool sync_deletes = true;
  bool createfolders = true;
  std::optional<std::string> nametrans;    // Python expression, raw
  std::optional<std::string> folderfilter; // Python expression, raw
  // Python expression (a list of folder names), raw; IMAP repositories only.
  std::optional<std::string> folderincludes;
  // Python expression: a function called with no argument for each folder
  // that got new mail from this (IMAP) repository.
  std::optional<std::string> newmail_hook;
  std::variant<maildir_settings, imap_settings> backend;

  repository_type type() const {
    return std::holds_alternative<imap_settings>(backend) ? repository_type::imap
                                                          : repository_type::maildir;
  }
  const maildir_settings* maildir() const { return std::get_if<maildir_settings>(&backend); }
  const imap_settings* imap() const { return std::get_if<imap_settings>(&backend); }
};

// [Account X]
struct account_settings {
  std::string name;
  std::string where; // "file:line" of the section header
  std::string localrepository;
  std::string remoterepository;
  double autorefresh = 0; // minutes between syncs; 0 = sync once
  int quick = 0;          // 0 never, -1 always, N: N quick syncs per full one
  bool maildir_windows_compatible = false;
  // Server folder names in UTF-8 here (and to nametrans, folderfilter, -f),
  // not in IMAP's modified UTF-7.
  bool utf8foldernames = false;
  std::optional<std::string> presynchook;
  std::optional<std::string> postsynchook;
  // maxage: only messages from this many days back (days > 0), or from this
  // date on; the older ones are left alone on both sides.
  struct age_limit {
    int days = 0;
    int year = 0, month = 0, day = 0; // when days is 0
  };
  std::optional<age_limit> maxage;
  std::optional<int> maxsize; // bytes: larger messages are left alone on both sides
  // filterheaders: header fields (lower-case names) left out of what is
  // uploaded; the local files keep them.
  std::vector<std::string> filterheaders;
  std::optional<proxy_setting> proxy; // its IMAP connections go through it
};

struct settings {
  general_settings general;
  // The accounts to sync (all of `accounts`, or those of -a), in that order.
  std::vector<account_settings> accounts;
  // Every repository those accounts use, by name.
  std::map<std::string, repository_settings, std::less<>> repositories;

  const repository_settings& local(const account_settings& account) const;
  const repository_settings& remote(const account_settings& account) const;
};

// The account names to sync: the -a list if given (`cli_accounts`), else
// [general] accounts. Each must have an [Account X] section; duplicates are
// dropped. Throws config_error naming the unknown account.
std::vector<std::string> select_accounts(const config_file& file,
                                         const std::optional<std::string>& cli_accounts);

// Builds and validates the settings of the selected accounts and of the
// repositories they use. Errors say "file:line: account 'X': ..." or
// "file:line: repository 'Y': ..." and never quote a password.
settings load_settings(const config_file& file,
                       const std::optional<std::string>& cli_accounts = std::nullopt);

// Reads and validates [Repository <name>] alone (load_settings uses it for
// every repository an account names). Throws config_error if the section is
// missing or invalid.
repository_settings load_repository(const config_file& file, std::string_view name);

// The password from remotepass, else the first line (stripped) of
// remotepassfile, read now; nullopt when neither is set (remotepasseval,
// netrc and prompting belong to other layers). A file that cannot be read
// throws config_error naming the file, never its content.
std::optional<secret> read_password(const repository_settings& repository);

} // namespace oimap::config
