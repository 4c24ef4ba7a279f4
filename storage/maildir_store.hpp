// A tree of Maildir folders under one root (OfflineIMAP's Maildir repository).
#pragma once

#include "storage/maildir_folder.hpp"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oimap::storage {

// With sep '.', folders are the direct subdirectories of the root
// ("INBOX", "INBOX.Sent"); with sep '/', they nest ("a/b/c" is root/a/b/c).
// A folder is a directory holding cur/, new/ and tmp/. The root itself is
// folder "" when it has them. Nothing touches the disk until asked.
class maildir_store {
public:
  using options = maildir_options;

  maildir_store(std::filesystem::path root, char sep, options opts = {});

  const std::filesystem::path& root() const { return root_; }
  char separator() const { return sep_; }
  const options& opts() const { return opts_; }

  // Visible folder names, sorted. A missing root has no folders. With sep
  // '/', dot-directories are skipped and symlink loops are not followed.
  std::vector<std::string> list_folders() const;
  bool has_folder(std::string_view name) const;

  // Creates the folder's cur/ new/ tmp/ (mode 0700), creating the root and,
  // for nested names, the intermediate directories. As OfflineIMAP's
  // makefolder (os.makedirs) does, intermediate levels are plain directories,
  // not Maildirs. Existing directories are fine. Throws storage_error on a
  // name that cannot be a folder ("..", "a/cur" with sep '/', "a/b" with '.').
  void create_folder(std::string_view name) const;

  // Opens an existing folder; throws storage_error if it is missing.
  // visible_name (after the local nametrans) sets the FMD5; default: name.
  std::unique_ptr<maildir_folder> open(std::string_view name,
                                       std::optional<std::string_view> visible_name = {}) const;

  // root / name, after checking the name.
  std::filesystem::path folder_path(std::string_view name) const;

private:
  void check_name(std::string_view name) const;

  std::filesystem::path root_;
  char sep_;
  options opts_;
  std::shared_ptr<dir_watch> watch_ = dir_watch::process_wide(); // for every folder opened
};

} // namespace oimap::storage
