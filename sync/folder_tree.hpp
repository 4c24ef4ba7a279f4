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
  // consulted for the -f folders, as in OfflineIMAP; empty = all. The remote
  // name is as utf8_names has it (decoded or not).
  std::function<bool(const std::string& remote_name, const std::string& local_name)> filter;
  // Each repository's nametrans, as OfflineIMAP applies them; empty = the
  // name as it is. The remote one gives a server name the name it has here
  // (the server's delimiter then becomes local_sep), the local one a local
  // name the name it has on the server (local_sep then becomes the
  // delimiter) and the name its FMD5 is made of.
  std::function<std::string(const std::string&)> remote_nametrans;
  std::function<std::string(const std::string&)> local_nametrans;
  // utf8foldernames: a server name is decoded from modified UTF-7 before
  // anything else sees it (the filter, nametrans, only, the local name),
  // and a name made here is encoded for the server.
  bool utf8_names = false;
};

// A folder no sync may pair: two server folders on one local name, or a
// local folder the nametrans rules would create under a name that does not
// come back to it. Neither side's folder is touched.
struct refused_folder {
  std::string name; // the local name
  std::string reason;
};

struct folder_tree {
  std::vector<folder_pair> pairs;         // sorted by remote name
  std::vector<std::string> create_local;  // local names, parents first
  std::vector<std::string> create_remote; // remote names, parents first
  std::vector<refused_folder> refused;
  char remote_delimiter = '.';
};

// A server folder's name as the filters, nametrans and -f see it: decoded
// from modified UTF-7 with utf8foldernames (a name that is not valid
// modified UTF-7 stays as it is).
std::string seen_name(const std::string& wire, bool utf8_names);

folder_tree pair_folders(const std::vector<remote_folder>& remote,
                         const std::vector<std::string>& local, const folder_tree_options& opt);

} // namespace oimap::sync
