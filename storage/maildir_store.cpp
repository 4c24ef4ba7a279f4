// Maildir folder discovery and creation under a root directory.
#include "storage/maildir_store.hpp"

#include "storage/posix_io.hpp"
#include "storage/storage_error.hpp"

#include <algorithm>
#include <cerrno>
#include <dirent.h>
#include <set>
#include <sys/stat.h>
#include <utility>

namespace oimap::storage {
namespace {

bool is_dir(const std::filesystem::path& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_maildir(const std::filesystem::path& p) {
  return is_dir(p / "cur") && is_dir(p / "new") && is_dir(p / "tmp");
}

bool is_special(std::string_view n) {
  return n == "cur" || n == "new" || n == "tmp";
}

using visited_set = std::set<std::pair<dev_t, ino_t>>;

// OfflineIMAP's _getfolders_scandir: every subdirectory holding cur/new/tmp
// is a folder; with sep '/' it descends into all subdirectories.
void scan_dir(const std::filesystem::path& dir, const std::string& prefix, bool nested,
              visited_set& visited, std::vector<std::string>& out) {
  std::vector<std::string> names;
  for_each_entry(dir, [&](const dirent& e, int) {
    std::string_view n = e.d_name;
    if (is_special(n))
      return;
    // Nested layouts have no dot-folders; flat ones may (Maildir++ ".Sent").
    if (nested && n.front() == '.')
      return;
    if (e.d_type != DT_DIR && e.d_type != DT_UNKNOWN && e.d_type != DT_LNK)
      return;
    names.emplace_back(n);
  });
  for (const auto& n : names) {
    std::filesystem::path full = dir / n;
    struct stat st;
    if (::stat(full.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      continue;
    std::string name = prefix.empty() ? n : prefix + "/" + n;
    if (is_maildir(full))
      out.push_back(name);
    if (nested && visited.insert({st.st_dev, st.st_ino}).second)
      scan_dir(full, name, nested, visited, out);
  }
}

} // namespace

maildir_store::maildir_store(std::filesystem::path root, char sep, options opts)
    : root_(std::move(root)), sep_(sep), opts_(opts) {}

std::vector<std::string> maildir_store::list_folders() const {
  std::vector<std::string> out;
  struct stat st;
  if (::stat(root_.c_str(), &st) != 0) {
    if (errno == ENOENT)
      return out;
    throw_errno("read directory", root_, errno);
  }
  if (is_maildir(root_))
    out.emplace_back();
  visited_set visited{{st.st_dev, st.st_ino}};
  scan_dir(root_, "", sep_ == '/', visited, out);
  std::sort(out.begin(), out.end());
  return out;
}

bool maildir_store::has_folder(std::string_view name) const {
  return is_maildir(folder_path(name));
}

void maildir_store::check_name(std::string_view name) const {
  auto bad = [&](const char* why) {
    throw storage_error("cannot use folder name \"" + std::string(name) + "\" under "
                        + root_.string() + ": " + why);
  };
  if (name.empty())
    return; // the root itself
  if (name.find('\0') != std::string_view::npos)
    bad("it contains a NUL byte");
  if (name.front() == '/')
    bad("it begins with /");
  if (sep_ != '/') {
    if (name.find('/') != std::string_view::npos)
      bad("it contains / but the separator is not /");
    if (name == "." || name == ".." || is_special(name))
      bad("it is a reserved name");
    return;
  }
  size_t start = 0;
  for (;;) {
    size_t end = name.find('/', start);
    std::string_view part = name.substr(start, end - start);
    if (part.empty())
      bad("it has an empty component");
    if (part == "." || part == "..")
      bad("it has a . or .. component");
    if (is_special(part))
      bad("with / as separator, no component may be cur, new or tmp");
    if (end == std::string_view::npos)
      break;
    start = end + 1;
  }
}

std::filesystem::path maildir_store::folder_path(std::string_view name) const {
  check_name(name);
  return name.empty() ? root_ : root_ / std::filesystem::path(std::string(name));
}

void maildir_store::create_folder(std::string_view name) const {
  std::filesystem::path dir = folder_path(name);
  // mkdir each missing level ourselves so every one gets mode 0700.
  std::vector<std::filesystem::path> missing;
  for (std::filesystem::path p = dir; !p.empty() && !is_dir(p); p = p.parent_path()) {
    missing.push_back(p);
    if (p == p.parent_path())
      break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it)
    make_dir(*it, 0700);
  for (const char* sub : {"cur", "new", "tmp"})
    make_dir(dir / sub, 0700);
  if (opts_.fsync) {
    fsync_dir(dir);
    // Make the new directory entries themselves durable.
    for (const auto& p : missing)
      if (p.has_parent_path())
        fsync_dir(p.parent_path());
  }
}

std::unique_ptr<maildir_folder>
maildir_store::open(std::string_view name, std::optional<std::string_view> visible_name) const {
  std::filesystem::path dir = folder_path(name);
  if (!is_maildir(dir))
    throw storage_error("cannot open folder \"" + std::string(name) + "\": " + dir.string()
                        + " is not a Maildir (needs cur, new and tmp)");
  return std::make_unique<maildir_folder>(dir, visible_name.value_or(name), opts_, watch_);
}

} // namespace oimap::storage
