// [mbnames]: the mailbox list OfflineIMAP writes for mutt and its kind, in OfflineIMAP's formats.
#pragma once

#include "config/config_file.hpp"
#include "config/python_eval.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace oimap::ui {

struct mbnames_settings {
  std::string where;               // "file:line" of [mbnames], for errors
  std::filesystem::path file;      // filename, expanded
  std::filesystem::path dir;       // <metadata>/mbnames: each account's list (JSON)
  std::string header, sep, footer; // Python expressions
  std::string peritem;             // a %-format: %(accountname)s %(foldername)s %(localfolders)s
  std::optional<std::string> folderfilter; // lambda accountname, foldername: bool
  std::optional<std::string> sort_keyfunc; // lambda d: key
};

// Nullopt unless [mbnames] enabled = yes; then filename, header, peritem,
// sep and footer must be there (a config_error names the missing one).
std::optional<mbnames_settings> read_mbnames(const config::config_file& file,
                                             const std::filesystem::path& metadata);

// Records an account's local folders for the list, as OfflineIMAP keeps
// them: <dir>/<account>.json, [{"accountname", "foldername",
// "localfolders"}, ...]. Throws std::runtime_error naming the file.
void record_folders(const mbnames_settings& mb, const std::string& account,
                    const std::vector<std::string>& folders,
                    const std::filesystem::path& localfolders);

// Writes the list from every account's record (those of accounts not in
// this run included, as OfflineIMAP does): header, then each folder's
// peritem joined by sep (filtered, sorted by sort_keyfunc, by account and
// folder name if unset), then footer. Replaces the file atomically.
void write_mbnames(const mbnames_settings& mb, config::python_evaluator& python);

} // namespace oimap::ui
