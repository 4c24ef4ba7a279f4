// Folder pairing: maps names across nametrans and separators, plans folder creation.
#include "sync/folder_tree.hpp"

#include "protocol/utf7.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <utility>

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

// The names one folder has on each side and in the status, as OfflineIMAP
// makes them: the server's name decoded (utf8foldernames), nametrans, then
// the separator.
class name_map {
public:
  name_map(const folder_tree_options& opt, char delim) : opt_(opt), delim_(delim) {}

  // The server's name as the filter, nametrans and -f see it.
  std::string seen(const std::string& wire) const { return seen_name(wire, opt_.utf8_names); }
  std::string local_of(const std::string& wire) const {
    return replace_sep(translated(opt_.remote_nametrans, seen(wire)), delim_, opt_.local_sep);
  }
  std::string status_of(const std::string& wire) const {
    return replace_sep(translated(opt_.remote_nametrans, seen(wire)), delim_, '.');
  }
  // The name a local folder gets on the server, before any encoding.
  std::string remote_seen_of(const std::string& local) const {
    return replace_sep(translated(opt_.local_nametrans, local), opt_.local_sep, delim_);
  }
  // The same on the wire; none when utf8foldernames cannot encode it (not
  // UTF-8).
  std::optional<std::string> wire_of(const std::string& seen_name) const {
    if (!opt_.utf8_names)
      return seen_name;
    return protocol::try_to_imap_utf7(seen_name);
  }
  std::optional<std::string> fmd5_of(const std::string& local) const {
    if (!opt_.local_nametrans)
      return std::nullopt;
    return opt_.local_nametrans(local);
  }

private:
  static std::string translated(const std::function<std::string(const std::string&)>& nametrans,
                                const std::string& name) {
    return nametrans ? nametrans(name) : name;
  }

  const folder_tree_options& opt_;
  char delim_;
};

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i)
    out += (i == 0 ? "'" : i + 1 == names.size() ? " and '" : ", '") + names[i] + "'";
  return out;
}

// Two server folders on one local folder, or on one status name, would mix
// their messages: each such pair is refused (and nothing created for it).
// A nametrans that is not one-to-one does it, and so does a server name
// holding the local separator ("a.b" beside "a/b" on a server with '/').
void refuse_clashes(folder_tree& out) {
  std::map<std::string, std::vector<std::string>> by_local, by_status;
  for (const auto& p : out.pairs) {
    by_local[p.local_name].push_back(p.remote_name);
    by_status[p.status_name].push_back(p.remote_name);
  }
  std::map<std::string, std::string> reasons; // local name -> why
  std::set<std::string> clashing;             // remote names
  for (const auto& p : out.pairs) {
    const auto& same_local = by_local[p.local_name];
    const auto& same_status = by_status[p.status_name];
    if (same_local.size() > 1)
      reasons.try_emplace(p.local_name, "the server folders " + quoted_list(same_local)
                                            + " would all be synced with it; give each its "
                                              "own local name (nametrans) or leave all but "
                                              "one out (folderfilter)");
    else if (same_status.size() > 1)
      reasons.try_emplace(p.local_name, "the server folders " + quoted_list(same_status)
                                            + " would share the status name '" + p.status_name
                                            + "'; leave all but one out (folderfilter)");
    else
      continue;
    clashing.insert(p.remote_name);
  }
  if (clashing.empty())
    return;
  std::erase_if(out.create_local, [&](const std::string& l) { return reasons.count(l) > 0; });
  std::erase_if(out.create_remote, [&](const std::string& r) { return clashing.count(r) > 0; });
  std::erase_if(out.pairs, [&](const folder_pair& p) { return clashing.count(p.remote_name) > 0; });
  for (auto& [name, why] : reasons)
    out.refused.push_back({name, std::move(why)});
}

} // namespace

std::string seen_name(const std::string& wire, bool utf8_names) {
  if (!utf8_names)
    return wire;
  return protocol::from_imap_utf7(wire).value_or(wire);
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
  const name_map names(opt, delim);
  const std::set<std::string> only(opt.only.begin(), opt.only.end());
  auto wanted = [&](const std::string& wire_name, const std::string& local_name) {
    const std::string remote_name = names.seen(wire_name);
    if (!only.empty())
      return only.count(remote_name) > 0;
    return !opt.filter || opt.filter(remote_name, local_name);
  };

  std::map<std::string, bool> remote_names; // name -> selectable
  for (const auto& r : remote)
    remote_names[r.name] = r.selectable;
  const std::set<std::string> local_names(local.begin(), local.end());

  std::set<std::string> paired, paired_local;
  auto add_pair = [&](const std::string& rname) {
    if (!paired.insert(rname).second)
      return;
    std::string lname = names.local_of(rname);
    paired_local.insert(lname);
    auto fmd5 = names.fmd5_of(lname);
    out.pairs.push_back(
        {rname, std::move(lname), names.status_of(rname), std::nullopt, std::move(fmd5)});
  };

  std::set<std::string> created_local;
  for (const auto& [rname, selectable] : remote_names) {
    if (!selectable)
      continue;
    const std::string lname = names.local_of(rname);
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
    // A folder already synced with a server folder is not created again
    // under another name.
    if (lname.empty() || paired_local.count(lname))
      continue;
    const std::string seen = names.remote_seen_of(lname);
    const auto wire = names.wire_of(seen);
    if (!wire) {
      // Only a folder the sync would create is worth an error.
      if (opt.create_remote && !opt.remote_readonly && wanted(seen, lname))
        out.refused.push_back({lname, "its name is not UTF-8, which utf8foldernames needs to "
                                      "name it on the server"});
      continue;
    }
    const std::string& rname = *wire;
    if (remote_names.count(rname) || !wanted(rname, lname))
      continue;
    if (!opt.create_remote || opt.remote_readonly)
      continue;
    // OfflineIMAP's loop check: the new server folder must come back as this
    // folder, or the next run would make yet another folder of it here.
    if (const std::string back = names.local_of(rname); back != lname) {
      const std::string advice =
          opt.remote_nametrans || opt.local_nametrans
              ? "make each repository's nametrans undo the other's, or leave this folder out "
                "(folderfilter)"
              : std::string("its name holds the server's delimiter '") + delim
                    + "': rename it, or leave it out (folderfilter)";
      out.refused.push_back({lname, "it would be created on the server as '" + rname
                                        + "', which comes back as '" + back
                                        + "', a folder the next run would create here; " + advice});
      continue;
    }
    // Parents first, and each created parent mirrored locally at once, so
    // the next run finds both trees alike and creates nothing.
    for (const auto& part : with_parents(rname, delim)) {
      if (remote_names.count(part) || !created_remote.insert(part).second)
        continue;
      out.create_remote.push_back(part);
      const std::string lpart = names.local_of(part);
      if (!local_names.count(lpart) && part != rname) {
        if (!opt.create_local || opt.local_readonly)
          continue;
        if (created_local.insert(lpart).second)
          out.create_local.push_back(lpart);
      }
      add_pair(part);
    }
  }
  refuse_clashes(out);
  std::sort(out.pairs.begin(), out.pairs.end(), [](const folder_pair& a, const folder_pair& b) {
    return a.remote_name < b.remote_name;
  });
  return out;
}

} // namespace oimap::sync
