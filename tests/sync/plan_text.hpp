// A compact text notation for planner inputs and plans, so test tables read as tables.
#pragma once

#include "sync/plan.hpp"

#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace oimap::sync::test {

// Notation, items separated by spaces; flags are Maildir letters, maybe none:
//   remote / status:  "<uid>:<flags>"            e.g. "3:FS 4:"
//   local:            "<key>[=<uid>]:<flags>"    e.g. "a=3:S b:"
// A plan renders as "; "-separated sections in a fixed order, each
// "<name> <item> <item>...", an empty plan as "":
//   uidvalidity_changed; download 3:S; upload a:S b=9:; delete_local a=3;
//   delete_remote 3; set_local a=3:FS; set_remote 3+F-S; status_set 3:FS;
//   status_erase 3; duplicates b

inline flag_set fl(std::string_view letters) {
  for (char c : letters)
    if (std::string_view("DFRST").find(c) == std::string_view::npos)
      throw std::invalid_argument("bad flag letter in test data: " + std::string(letters));
  return flag_set::from_maildir(letters);
}

inline std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  std::istringstream in{std::string(text)};
  for (std::string w; in >> w;)
    out.push_back(w);
  return out;
}

inline uid_t parse_uid(std::string_view digits) {
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos)
    throw std::invalid_argument("bad uid in test data: " + std::string(digits));
  return static_cast<uid_t>(std::stoul(std::string(digits)));
}

// Splits "<head>:<flags>".
inline std::pair<std::string, flag_set> split_flags(const std::string& item) {
  const auto colon = item.rfind(':');
  if (colon == std::string::npos)
    throw std::invalid_argument("missing ':' in test data: " + item);
  return {item.substr(0, colon), fl(std::string_view(item).substr(colon + 1))};
}

inline std::vector<remote_message> remote_of(std::string_view text) {
  std::vector<remote_message> out;
  for (const auto& w : words(text)) {
    auto [uid, flags] = split_flags(w);
    out.push_back({parse_uid(uid), flags});
  }
  return out;
}

inline std::vector<status_entry> status_of(std::string_view text) {
  std::vector<status_entry> out;
  for (const auto& r : remote_of(text))
    out.push_back({r.uid, r.flags});
  return out;
}

inline std::vector<local_message> local_of(std::string_view text) {
  std::vector<local_message> out;
  for (const auto& w : words(text)) {
    auto [head, flags] = split_flags(w);
    local_message m{head, std::nullopt, flags};
    if (const auto eq = head.find('='); eq != std::string::npos) {
      m.key = head.substr(0, eq);
      m.uid = parse_uid(std::string_view(head).substr(eq + 1));
    }
    out.push_back(m);
  }
  return out;
}

inline std::string local_text(const local_message& m) {
  return m.key + (m.uid ? "=" + std::to_string(*m.uid) : "") + ":" + m.flags.to_maildir();
}

inline std::string describe(const plan_result& p) {
  std::string out;
  auto section = [&out](std::string_view name, const auto& items, auto&& render) {
    if (items.empty())
      return;
    if (!out.empty())
      out += "; ";
    out += name;
    for (const auto& item : items)
      out += " " + render(item);
  };
  if (p.uidvalidity_changed)
    out = "uidvalidity_changed";
  section("download", p.download, [](const remote_message& m) {
    return std::to_string(m.uid) + ":" + m.flags.to_maildir();
  });
  section("upload", p.upload, [](const local_message& m) { return local_text(m); });
  section("delete_local", p.delete_local,
          [](const local_delete& d) { return d.key + "=" + std::to_string(d.uid); });
  section("delete_remote", p.delete_remote, [](uid_t uid) { return std::to_string(uid); });
  section("set_local", p.set_local_flags, [](const local_flag_change& c) {
    return c.key + "=" + std::to_string(c.uid) + ":" + c.flags.to_maildir();
  });
  section("set_remote", p.set_remote_flags, [](const remote_flag_change& c) {
    std::string s = std::to_string(c.uid);
    if (!c.add.empty())
      s += "+" + c.add.to_maildir();
    if (!c.remove.empty())
      s += "-" + c.remove.to_maildir();
    return s;
  });
  section("status_set", p.status_set,
          [](const status_entry& e) { return std::to_string(e.uid) + ":" + e.flags.to_maildir(); });
  section("status_erase", p.status_erase, [](uid_t uid) { return std::to_string(uid); });
  section("duplicates", p.duplicate_keys, [](const std::string& k) { return k; });
  return out;
}

// The input in the same notation, for failure messages of generated cases.
inline std::string describe(const plan_input& in, const plan_options& opt) {
  std::string out = "remote:";
  for (const auto& m : in.remote)
    out += " " + std::to_string(m.uid) + ":" + m.flags.to_maildir();
  out += "\nlocal:";
  for (const auto& m : in.local)
    out += " " + local_text(m);
  out += "\nstatus:";
  for (const auto& e : in.status)
    out += " " + std::to_string(e.uid) + ":" + e.flags.to_maildir();
  out += "\nuidvalidity: stored "
         + (in.stored_uidvalidity ? std::to_string(*in.stored_uidvalidity) : "none") + " remote "
         + std::to_string(in.remote_uidvalidity);
  out += "\noptions: remote_sync_deletes=" + std::to_string(opt.remote_sync_deletes)
         + " local_sync_deletes=" + std::to_string(opt.local_sync_deletes)
         + " remote_readonly=" + std::to_string(opt.remote_readonly)
         + " local_readonly=" + std::to_string(opt.local_readonly);
  return out;
}

} // namespace oimap::sync::test
