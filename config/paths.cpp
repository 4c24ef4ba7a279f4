// Path expansion as OfflineIMAP does it, and where the config file is looked for.
#include "config/paths.hpp"

#include <cstdlib>
#include <optional>
#include <pwd.h>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace oimap::config {

namespace {

// The home directory from the password database (getpwnam_r/getpwuid_r are
// the thread-safe forms; the config may be re-read from any thread).
std::optional<std::string> passwd_home(const std::string* user) {
  long size_hint = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(size_hint > 0 ? static_cast<std::size_t>(size_hint) : 16384);
  passwd entry{};
  passwd* result = nullptr;
  const int rc = user != nullptr
                     ? getpwnam_r(user->c_str(), &entry, buffer.data(), buffer.size(), &result)
                     : getpwuid_r(getuid(), &entry, buffer.data(), buffer.size(), &result);
  if (rc != 0 || result == nullptr || entry.pw_dir == nullptr) {
    return std::nullopt;
  }
  return std::string(entry.pw_dir);
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

} // namespace

std::string expand_user(std::string_view path) {
  if (!path.starts_with('~')) {
    return std::string(path);
  }
  std::size_t slash = path.find('/', 1);
  if (slash == std::string_view::npos) {
    slash = path.size();
  }
  std::optional<std::string> home;
  if (slash == 1) {
    // An empty $HOME still counts as set, as in Python.
    if (const char* env = std::getenv("HOME")) {
      home = env;
    } else {
      home = passwd_home(nullptr);
    }
  } else {
    const std::string user(path.substr(1, slash - 1));
    home = passwd_home(&user);
  }
  if (!home) {
    return std::string(path);
  }
  while (!home->empty() && home->back() == '/') {
    home->pop_back();
  }
  std::string result = *home + std::string(path.substr(slash));
  return result.empty() ? "/" : result;
}

std::string expand_vars(std::string_view path) {
  // Python scans left to right and never rescans substituted text.
  std::string out;
  std::size_t i = 0;
  while (i < path.size()) {
    const std::size_t dollar = path.find('$', i);
    if (dollar == std::string_view::npos) {
      break;
    }
    out += path.substr(i, dollar - i);
    std::size_t end = dollar + 1;
    std::string name;
    if (end < path.size() && path[end] == '{') {
      const std::size_t close = path.find('}', end);
      if (close == std::string_view::npos) {
        out += '$';
        i = dollar + 1;
        continue;
      }
      name = path.substr(end + 1, close - end - 1);
      end = close + 1;
    } else {
      while (end < path.size() && is_name_char(path[end])) {
        ++end;
      }
      if (end == dollar + 1) {
        out += '$';
        i = dollar + 1;
        continue;
      }
      name = path.substr(dollar + 1, end - dollar - 1);
    }
    // "${}" names the empty variable, which is never set: left as is. A name
    // with '=' would make getenv() match the wrong entry ("A=B=c" for "A=B").
    const bool lookable = !name.empty() && name.find('=') == std::string::npos;
    const char* value = lookable ? std::getenv(name.c_str()) : nullptr;
    if (value != nullptr) {
      out += value;
    } else {
      out += path.substr(dollar, end - dollar);
    }
    i = end;
  }
  if (i < path.size()) {
    out += path.substr(i);
  }
  return out;
}

std::string expand_path(std::string_view path) {
  return expand_vars(expand_user(path));
}

std::filesystem::path default_config_path(const std::optional<std::string>& explicit_c) {
  if (explicit_c) {
    return expand_user(*explicit_c);
  }
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  const std::filesystem::path xdg_home = xdg != nullptr && *xdg != '\0'
                                             ? std::filesystem::path(xdg)
                                             : std::filesystem::path(expand_user("~/.config"));
  const std::filesystem::path xdg_config = xdg_home / "offlineimap" / "config";
  std::error_code ignored;
  if (std::filesystem::exists(xdg_config, ignored)) {
    return xdg_config;
  }
  return expand_user("~/.offlineimaprc");
}

} // namespace oimap::config
