// Pairs the folders of both sides and decides which to create where (pure, no I/O).
#pragma once

#include "sync/folder_sync.hpp"

#include <functional>
#include <string>
#include <vector>

namespace oimap::sync {

struct remote_folder {
  std::string name;   // as on the wire
  char delimiter = 0; // 0 when the server reports NIL
  bool selectable = true;
};

struct folder_tree_options {
  char local_sep = '.';
  bool create_local = true;  // createfolders of the local repository
  bool create_remote = true; // createfolders of the remote repository
  bool remote_readonly = false;
  bool local_readonly = false;
  std::vector<std::string> only; // -f: remote names to sync; empty = all
  // folderfilter (both repositories'): whether a folder pair is synced at
  // all, and so whether a folder missing on one side is created there. Not
  // consulted for the -f folders, as in OfflineIMAP; empty = all.
  std::function<bool(const std::string& remote_name, const std::string& local_name)> filter;
};

struct folder_tree {
  std::vector<folder_pair> pairs;         // sorted by remote name
  std::vector<std::string> create_local;  // local names, parents first
  std::vector<std::string> create_remote; // remote names, parents first
  char remote_delimiter = '.';
};

folder_tree pair_folders(const std::vector<remote_folder>& remote,
                         const std::vector<std::string>& local, const folder_tree_options& opt);

// Name translations between the sides' separators.
std::string remote_to_local(const std::string& remote, char delim, char sep);
std::string local_to_remote(const std::string& local, char sep, char delim);
std::string status_name_of(const std::string& remote, char delim);

} // namespace oimap::sync
