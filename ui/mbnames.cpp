// The list is formatted by Python, as OfflineIMAP formats it: the expressions are the user's.
#include "ui/mbnames.hpp"

#include "config/config_error.hpp"
#include "config/paths.hpp"
#include "storage/posix_io.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace oimap::ui {
namespace {

// Written whole to a temporary file, then renamed over the old one: a reader
// never sees half a list.
void replace_file(const std::filesystem::path& p, const std::string& text) {
  const std::filesystem::path tmp = p.string() + ".oimap-tmp";
  storage::unique_fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd)
    storage::throw_errno("create", tmp, errno);
  storage::write_all(fd.get(), text, tmp);
  if (int err = fd.close())
    storage::throw_errno("write", tmp, err);
  if (::rename(tmp.c_str(), p.c_str()) != 0)
    storage::throw_errno("rename to", p, errno);
}

void make_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    throw std::runtime_error("mbnames: cannot create " + dir.string() + ": " + ec.message());
}

} // namespace

std::optional<mbnames_settings> read_mbnames(const config::config_file& file,
                                             const std::filesystem::path& metadata) {
  if (!file.has_section("mbnames") || !file.get_bool("mbnames", "enabled", false))
    return std::nullopt;
  mbnames_settings mb;
  mb.where = file.where_section("mbnames");
  const auto required = [&](const char* option, bool raw) {
    auto v = raw ? file.get_raw("mbnames", option) : file.get("mbnames", option);
    if (!v)
      throw config::config_error(mb.where + ": [mbnames]: '" + option
                                 + "' is required when enabled = yes");
    return *v;
  };
  mb.file = config::expand_path(required("filename", false));
  mb.header = required("header", false);
  mb.peritem = required("peritem", true); // a %-format, read raw as OfflineIMAP reads it
  mb.sep = required("sep", false);
  mb.footer = required("footer", false);
  mb.folderfilter = file.get("mbnames", "folderfilter");
  mb.sort_keyfunc = file.get("mbnames", "sort_keyfunc");
  mb.dir = metadata / "mbnames";
  return mb;
}

void record_folders(const mbnames_settings& mb, const std::string& account,
                    const std::vector<std::string>& folders,
                    const std::filesystem::path& localfolders) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& f : folders)
    list.push_back(
        {{"accountname", account}, {"foldername", f}, {"localfolders", localfolders.string()}});
  make_dir(mb.dir);
  replace_file(mb.dir / (account + ".json"), list.dump());
}

void write_mbnames(const mbnames_settings& mb, config::python_evaluator& python) {
  nlohmann::json items = nlohmann::json::array();
  std::error_code ec;
  if (std::filesystem::is_directory(mb.dir, ec))
    for (const auto& entry : std::filesystem::directory_iterator(mb.dir)) {
      if (entry.path().extension() != ".json")
        continue;
      std::ifstream in(entry.path());
      const auto record = nlohmann::json::parse(in, nullptr, false);
      if (!record.is_array())
        throw std::runtime_error("mbnames: " + entry.path().string()
                                 + " is not a list of folders; remove it");
      for (const auto& item : record)
        items.push_back(item);
    }
  // OfflineIMAP's own steps, in Python; `re` is there for the two functions.
  const std::string filter = mb.folderfilter.value_or("lambda accountname, foldername: True");
  const std::string key = mb.sort_keyfunc.value_or("lambda d: (d['accountname'], d['foldername'])");
  const std::string format =
      "(lambda re: lambda items, peritem: (" + mb.header + ") + (" + mb.sep
      + ").join([peritem % d for d in sorted([d for d in __import__('json').loads(items) if ("
      + filter + ")(d['accountname'], d['foldername'])], key=(" + key + "))]) + (" + mb.footer
      + "))(__import__('re'))";
  const auto text = python.call_text(format, {items.dump(), mb.peritem}, mb.where + ": [mbnames]");
  if (mb.file.has_parent_path())
    make_dir(mb.file.parent_path());
  replace_file(mb.file, text);
}

} // namespace oimap::ui
