// The tables of OfflineIMAP options oimap reads past, and what a run does without each.
#include "config/unsupported_options.hpp"

#include "config/config_error.hpp"

#include <set>
#include <string_view>

namespace oimap::config {
namespace {

struct unsupported {
  std::string_view option;
  // Refused: what ignoring it would do. Warned: what the run does instead.
  std::string_view instead;
  // A yes/no option counts only when yes; any other, when not empty or 0.
  bool flag = false;
};

// Ignoring these would sync another mailbox or under other names: refused.
constexpr unsupported refused_in_imap[] = {
    {"reference", "list the folders from the server's root, not under this prefix"},
    {"decodefoldernames", "name local folders in IMAP's modified UTF-7, not in UTF-8", true},
};

constexpr unsupported warned_in_account[] = {
    {"authproxy", "it serves only the OAuth2 token request, and XOAUTH2 is not offered"},
};
// Options of every repository type.
constexpr unsupported warned_in_repository[] = {
    {"foldersort", "folders sync in oimap's own order"},
};
constexpr unsupported warned_in_maildir[] = {
    {"folderincludes", "only the folders the Maildir holds are synced"},
    {"startdate", "every message is synced, whatever its date"},
};
constexpr unsupported warned_in_imap[] = {
    {"usecompression", "nothing is compressed", true},
    {"holdconnectionopen", "connections close after each sync", true},
    {"keepalive", "connections close after each sync"},
    {"idlefolders", "no IDLE: with autorefresh, folders sync every autorefresh minutes"},
    {"copy_ignore_eval", "no message is left out of the download"},
    {"ssl_version", "TLS 1.2 or newer is negotiated"},
    {"tls_level", "TLS 1.2 or newer is negotiated"},
    {"oauth2_client_id", "XOAUTH2 is not offered: the login uses the password"},
    {"oauth2_client_id_eval", "XOAUTH2 is not offered: the login uses the password"},
    {"oauth2_client_secret", "XOAUTH2 is not offered: the login uses the password"},
    {"oauth2_client_secret_eval", "XOAUTH2 is not offered: the login uses the password"},
    {"oauth2_refresh_token", "XOAUTH2 is not offered: the login uses the password"},
    {"oauth2_refresh_token_eval", "XOAUTH2 is not offered: the login uses the password"},
    {"oauth2_access_token", "XOAUTH2 is not offered: the login uses the password"},
    {"oauth2_access_token_eval", "XOAUTH2 is not offered: the login uses the password"},
    {"oauth2_request_url", "XOAUTH2 is not offered: the login uses the password"},
};

class checker {
public:
  explicit checker(const config_file& file) : file_(file) {}

  template <std::size_t N>
  void refuse(const std::string& section, const std::string& who, const unsupported (&table)[N]) {
    for (const auto& u : table)
      if (is_set(section, u))
        throw config_error(
            file_.where(section, u.option) + ": " + who + ": option '" + std::string(u.option)
            + "' is not supported by oimap yet, and ignoring it would " + std::string(u.instead));
  }

  template <std::size_t N>
  void warn(const std::string& section, const std::string& who, const unsupported (&table)[N]) {
    for (const auto& u : table)
      if (is_set(section, u))
        warn_about(section, who, std::string(u.option), u.instead);
  }

  void warn_about(const std::string& section, const std::string& who, const std::string& option,
                  std::string_view instead) {
    warnings_.push_back(file_.where(section, option) + ": " + who + ": option '" + option
                        + "' is not supported by oimap yet and is ignored: "
                        + std::string(instead));
  }

  std::vector<std::string> take() { return std::move(warnings_); }

private:
  bool is_set(const std::string& section, const unsupported& u) const {
    if (u.flag)
      return file_.get_bool(section, u.option, false);
    const auto raw = file_.get_raw(section, u.option);
    return raw && !raw->empty() && *raw != "0";
  }

  const config_file& file_;
  std::vector<std::string> warnings_;
};

} // namespace

std::vector<std::string> check_unsupported_options(const config_file& file, const settings& s) {
  checker c(file);

  if (file.has_section("mbnames") && file.get_bool("mbnames", "enabled", false)
      && file.get_bool("mbnames", "incremental", false))
    c.warn_about("mbnames", "[mbnames]", "incremental",
                 "the list is written once, after all the accounts");

  std::set<std::string> seen;
  for (const auto& account : s.accounts) {
    const std::string section = "Account " + account.name;
    const std::string who = "account '" + account.name + "'";
    c.warn(section, who, warned_in_account);
    for (const auto* repo : {&s.local(account), &s.remote(account)}) {
      if (!seen.insert(repo->name).second)
        continue;
      const std::string rsection = "Repository " + repo->name;
      const std::string rwho = "repository '" + repo->name + "'";
      if (repo->imap()) {
        c.refuse(rsection, rwho, refused_in_imap);
        c.warn(rsection, rwho, warned_in_imap);
      } else {
        c.warn(rsection, rwho, warned_in_maildir);
        for (const auto& option : file.options(rsection))
          if (option.size() == 12 && option.rfind("customflag_", 0) == 0)
            c.warn_about(rsection, rwho, option, "IMAP keywords are not synced");
      }
      c.warn(rsection, rwho, warned_in_repository);
    }
  }
  return c.take();
}

} // namespace oimap::config
