// Building the typed settings: [general], account selection (-a), [Account X].
#include "config/settings.hpp"

#include "config/paths.hpp"
#include "config/python_str.hpp"
#include "config/section_reader.hpp"
#include "config/typed_value.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>
#include <utility>

namespace oimap::config {

namespace {

constexpr std::string_view general_section = "general";

constexpr std::array<std::pair<std::string_view, ui_kind>, 6> ui_names = {{
    {"ttyui", ui_kind::ttyui},
    {"basic", ui_kind::basic},
    {"quiet", ui_kind::quiet},
    {"machineui", ui_kind::machineui},
    {"blinkenlights", ui_kind::blinkenlights},
    {"syslog", ui_kind::syslog},
}};

// `ui` may list several interfaces; the first one we know wins. Old configs
// say "Curses.Blinkenlights": OfflineIMAP keeps only the part after the dot.
ui_kind read_ui(const section_reader& reader) {
  const auto value = reader.text("ui");
  if (!value) {
    return ui_kind::ttyui;
  }
  for (const std::string& item : reader.list("ui")) {
    const std::string name = ascii_lower(item.substr(item.rfind('.') + 1));
    for (const auto& [known, kind] : ui_names) {
      if (name == known) {
        return kind;
      }
    }
  }
  reader.fail("ui", "no known interface in 'ui = " + *value
                        + "' (choose from ttyui, basic, quiet, machineui, blinkenlights, syslog)");
}

general_settings read_general(const config_file& file) {
  const section_reader reader(file, std::string(general_section), "[general]");
  general_settings general;
  if (!file.has_section(general_section)) {
    reader.fail("accounts", "there is no [general] section (it must list the accounts to sync)");
  }
  general.accounts = reader.list("accounts");
  if (general.accounts.empty()) {
    reader.fail("accounts", "'accounts' is required: the comma-separated accounts to sync");
  }
  general.metadata = expand_path(reader.text("metadata").value_or("~/.offlineimap"));
  general.maxsyncaccounts = reader.integer("maxsyncaccounts", 1, 1, 1000);
  general.ui = read_ui(reader);
  general.fsync = reader.boolean("fsync", true);
  general.socktimeout = reader.integer("socktimeout", 0, 0, 24 * 3600);
  general.pythonfile = reader.path("pythonfile");
  general.dry_run = reader.boolean("dry-run", false);
  return general;
}

// OfflineIMAP's maxage: a whole number of days, or a date yyyy-mm-dd.
std::optional<account_settings::age_limit> read_maxage(const section_reader& reader) {
  const auto text = reader.text("maxage");
  if (!text || text->empty() || *text == "0")
    return std::nullopt;
  account_settings::age_limit limit;
  const auto fail = [&] {
    reader.fail("maxage",
                "'maxage' must be a number of days or a date yyyy-mm-dd, not '" + *text + "'");
  };
  const std::string& t = *text;
  const auto digits = [&](std::size_t from, std::size_t n) {
    int v = 0;
    for (std::size_t i = from; i < from + n; ++i) {
      if (i >= t.size() || t[i] < '0' || t[i] > '9')
        fail();
      v = v * 10 + (t[i] - '0');
    }
    return v;
  };
  if (t.size() == 10 && t[4] == '-' && t[7] == '-') {
    limit.year = digits(0, 4);
    limit.month = digits(5, 2);
    limit.day = digits(8, 2);
    static constexpr int month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = limit.year % 4 == 0 && (limit.year % 100 != 0 || limit.year % 400 == 0);
    if (limit.year < 1970 || limit.month < 1 || limit.month > 12 || limit.day < 1
        || limit.day > month_days[limit.month - 1]
        || (limit.month == 2 && limit.day == 29 && !leap))
      fail();
  } else if (t.size() <= 6) {
    limit.days = digits(0, t.size());
    if (limit.days == 0) // "00" as "0": no limit
      return std::nullopt;
  } else {
    fail();
  }
  return limit;
}

// "SOCKS5:host:port" or "HTTP:host:port" (type case-insensitive; host may be
// an IPv6 literal, bracketed or not).
std::optional<proxy_setting> read_proxy(const section_reader& reader) {
  const auto text = reader.text("proxy");
  if (!text || text->empty())
    return std::nullopt;
  const auto fail = [&](const std::string& why) {
    reader.fail("proxy",
                "'proxy' must be SOCKS5:host:port or HTTP:host:port, not '" + *text + "'" + why);
  };
  const auto first = text->find(':'), last = text->rfind(':');
  if (first == std::string::npos || first == last)
    fail("");
  std::string type = text->substr(0, first);
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  proxy_setting p;
  if (type == "HTTP")
    p.http = true;
  else if (type == "SOCKS4")
    fail(" (SOCKS4 is not supported; SOCKS5 is)");
  else if (type != "SOCKS5")
    fail("");
  p.host = text->substr(first + 1, last - first - 1);
  if (p.host.size() >= 2 && p.host.front() == '[' && p.host.back() == ']')
    p.host = p.host.substr(1, p.host.size() - 2);
  const std::string port = text->substr(last + 1);
  if (p.host.empty() || port.empty() || port.size() > 5
      || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })
      || std::stoi(port) < 1 || std::stoi(port) > 65535)
    fail("");
  p.port = std::stoi(port);
  return p;
}

account_settings read_account(const config_file& file, const std::string& name) {
  const section_reader reader(file, "Account " + name, "account '" + name + "'");
  account_settings account;
  account.name = name;
  account.where = file.where_section(reader.section());
  account.localrepository = std::string(python_strip(reader.required("localrepository")));
  account.remoterepository = std::string(python_strip(reader.required("remoterepository")));
  account.autorefresh = reader.number("autorefresh", 0);
  if (!(account.autorefresh >= 0)) { // also refuses nan
    reader.fail("autorefresh", "'autorefresh' must be a number of minutes >= 0");
  }
  account.quick = reader.integer("quick", 0, -1, 1'000'000);
  account.maildir_windows_compatible = reader.boolean("maildir-windows-compatible", false);
  account.utf8foldernames = reader.boolean("utf8foldernames", false);
  account.presynchook = reader.text("presynchook");
  account.postsynchook = reader.text("postsynchook");
  account.maxage = read_maxage(reader);
  account.proxy = read_proxy(reader);
  for (auto name : reader.list("filterheaders")) {
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    account.filterheaders.push_back(std::move(name));
  }
  if (const auto v = reader.text("maxsize"); v && !v->empty() && *v != "0")
    account.maxsize = reader.integer("maxsize", 0, 1, std::numeric_limits<int>::max());

  auto check_exists = [&](std::string_view option, const std::string& repository) {
    if (!file.has_section("Repository " + repository)) {
      reader.fail(option,
                  "repository '" + repository + "' has no [Repository " + repository + "] section");
    }
  };
  check_exists("localrepository", account.localrepository);
  check_exists("remoterepository", account.remoterepository);
  return account;
}

// OfflineIMAP refuses a Maildir on the remote side ("'Maildir' repository
// not supported for 'remote' repositories").
void check_sides(const config_file& file, const account_settings& account,
                 const repository_settings& remote) {
  if (remote.type() != repository_type::imap) {
    const section_reader reader(file, "Account " + account.name, "account '" + account.name + "'");
    reader.fail("remoterepository", "remoterepository '" + remote.name
                                        + "' is a Maildir; the remote side must be IMAP");
  }
}

} // namespace

std::string_view to_string(ui_kind ui) {
  for (const auto& [name, kind] : ui_names) {
    if (kind == ui) {
      return name;
    }
  }
  return "ttyui";
}

const repository_settings& settings::local(const account_settings& account) const {
  return repositories.at(account.localrepository);
}

const repository_settings& settings::remote(const account_settings& account) const {
  return repositories.at(account.remoterepository);
}

std::vector<std::string> select_accounts(const config_file& file,
                                         const std::optional<std::string>& cli_accounts) {
  const section_reader reader(file, std::string(general_section), "[general]");
  const std::vector<std::string> requested =
      cli_accounts ? split_list(*cli_accounts) : reader.list("accounts");
  const std::string origin = cli_accounts ? "command line (-a)" : reader.where("accounts");
  if (requested.empty()) {
    throw config_error(origin + ": no accounts to sync");
  }
  std::vector<std::string> selected;
  for (const std::string& name : requested) {
    if (!file.has_section("Account " + name)) {
      std::string known;
      for (const std::string& section : file.sections()) {
        if (section.starts_with("Account ")) {
          known += (known.empty() ? "" : ", ") + section.substr(8);
        }
      }
      throw config_error(origin + ": account '" + name + "' has no [Account " + name
                         + "] section (defined accounts: "
                         + (known.empty() ? std::string("none") : known) + ")");
    }
    if (std::find(selected.begin(), selected.end(), name) == selected.end()) {
      selected.push_back(name);
    }
  }
  return selected;
}

settings load_settings(const config_file& file, const std::optional<std::string>& cli_accounts) {
  settings result;
  result.general = read_general(file);
  for (const std::string& name : select_accounts(file, cli_accounts)) {
    account_settings account = read_account(file, name);
    for (const std::string* repository : {&account.localrepository, &account.remoterepository}) {
      if (!result.repositories.contains(*repository)) {
        result.repositories.emplace(*repository, load_repository(file, *repository));
      }
    }
    check_sides(file, account, result.remote(account));
    // The proxy is the account's option; the connections are the remote
    // repository's, which another account may share only with the same
    // proxy, or with none if it has none.
    auto& remote = result.repositories.at(account.remoterepository);
    if (auto* imap = std::get_if<imap_settings>(&remote.backend)) {
      const auto other = std::find_if(
          result.accounts.begin(), result.accounts.end(),
          [&](const account_settings& a) { return a.remoterepository == remote.name; });
      if (other != result.accounts.end() && other->proxy != account.proxy)
        section_reader(file, "Account " + account.name, "account '" + account.name + "'")
            .fail("proxy", "repository '" + remote.name + "' is also account '" + other->name
                               + "''s, which reaches it "
                               + (other->proxy ? "through another proxy" : "without a proxy")
                               + ": give each account its own repository");
      imap->proxy = account.proxy;
    }
    result.accounts.push_back(std::move(account));
  }
  return result;
}

} // namespace oimap::config
