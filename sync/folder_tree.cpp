// Folder pairing: maps names across separators and plans folder creation.
#include "sync/folder_tree.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace oimap::sync {
namespace {

std::string replace_sep(std::string s, char from, char to) {
  if (from && to && from != to)
    std::replace(s.begin(), s.end(), from, to);
  return s;
}

// "a.b.c" -> "a", "a.b", "a.b.c": parents before children.
std::vector<std::string> with_parents(const std::string& name, char sep) {
  std::vector<std::string> out;
  for (std::size_t pos = name.find(sep); sep && pos != std::string::npos;
       pos = name.find(sep, pos + 1))
    if (pos > 0)
      out.push_back(name.substr(0, pos));
  out.push_back(name);
  return out;
}

} // namespace

std::string remote_to_local(const std::string& remote, char delim, char sep) {
  return replace_sep(remote, delim, sep);
}
std::string local_to_remote(const std::string& local, char sep, char delim) {
  return replace_sep(local, sep, delim);
}
std::string status_name_of(const std::string& remote, char delim) {
  return replace_sep(remote, delim, '.');
}

folder_tree pair_folders(const std::vector<remote_folder>& remote,
                         const std::vector<std::string>& local, const folder_tree_options& opt) {
  folder_tree out;
  for (const auto& r : remote)
    if (r.delimiter) {
      out.remote_delimiter = r.delimiter;
      break;
    }
  const char delim = out.remote_delimiter;
  const std::set<std::string> only(opt.only.begin(), opt.only.end());
  auto wanted = [&](const std::string& remote_name, const std::string& local_name) {
    if (!only.empty())
      return only.count(remote_name) > 0;
    return !opt.filter || opt.filter(remote_name, local_name);
  };

  std::map<std::string, bool> remote_names; // name -> selectable
  for (const auto& r : remote)
    remote_names[r.name] = r.selectable;
  const std::set<std::string> local_names(local.begin(), local.end());

  std::set<std::string> paired;
  auto add_pair = [&](const std::string& rname) {
    if (paired.insert(rname).second)
      out.pairs.push_back({rname, remote_to_local(rname, delim, opt.local_sep),
                           status_name_of(rname, delim), std::nullopt});
  };

  std::set<std::string> created_local;
  for (const auto& [rname, selectable] : remote_names) {
    if (!selectable)
      continue;
    const std::string lname = remote_to_local(rname, delim, opt.local_sep);
    if (!wanted(rname, lname))
      continue;
    if (!local_names.count(lname)) {
      if (!opt.create_local || opt.local_readonly)
        continue;
      if (created_local.insert(lname).second)
        out.create_local.push_back(lname);
    }
    add_pair(rname);
  }

  std::set<std::string> created_remote;
  for (const auto& lname : local) {
    const std::string rname = local_to_remote(lname, opt.local_sep, delim);
    if (lname.empty() || remote_names.count(rname) || !wanted(rname, lname))
      continue;
    if (!opt.create_remote || opt.remote_readonly)
      continue;
    // Parents first, and each created parent mirrored locally at once, so
    // the next run finds both trees alike and creates nothing.
    for (const auto& part : with_parents(rname, delim)) {
      if (remote_names.count(part) || !created_remote.insert(part).second)
        continue;
      out.create_remote.push_back(part);
      const std::string lpart = remote_to_local(part, delim, opt.local_sep);
      if (!local_names.count(lpart) && part != rname) {
        if (!opt.create_local || opt.local_readonly)
          continue;
        if (created_local.insert(lpart).second)
          out.create_local.push_back(lpart);
      }
      add_pair(part);
    }
  }
  std::sort(out.pairs.begin(), out.pairs.end(), [](const folder_pair& a, const folder_pair& b) {
    return a.remote_name < b.remote_name;
  });
  return out;
}

} // namespace oimap::sync
