// Integration-test harness implementation (no Catch2 here: it is linked into every suite).
#include "support/sync_harness.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace oimap::test {

std::string lf(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i)
    if (!(s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n'))
      out.push_back(s[i]);
  return out;
}

std::string crlf(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 20);
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
      out.push_back('\r');
    out.push_back(s[i]);
  }
  return out;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot read " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const fs::path& p, std::string_view data) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!out)
    throw std::runtime_error("cannot write " + p.string());
}

namespace {
std::string flags_of(const std::string& name) {
  auto pos = name.find(":2,");
  if (pos == std::string::npos)
    return {};
  std::string f;
  for (char c : name.substr(pos + 3))
    if (c >= 'A' && c <= 'Z' && c != 'P') // the five flags oimap syncs (no P yet)
      f.push_back(c);
  std::sort(f.begin(), f.end());
  return f;
}
} // namespace

std::vector<message_view> maildir_messages(const fs::path& folder) {
  std::vector<message_view> out;
  for (const char* sub : {"cur", "new"}) {
    if (!fs::exists(folder / sub))
      continue;
    for (const auto& e : fs::directory_iterator(folder / sub))
      if (e.is_regular_file())
        out.push_back({lf(read_file(e.path())), flags_of(e.path().filename().string())});
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::map<std::string, std::string> maildir_files(const fs::path& folder) {
  std::map<std::string, std::string> out;
  for (const char* sub : {"cur", "new"}) {
    if (!fs::exists(folder / sub))
      continue;
    for (const auto& e : fs::directory_iterator(folder / sub))
      out[e.path().filename().string()] = e.path().string();
  }
  return out;
}

fs::path oimap_binary() {
#ifdef OIMAP_BINARY_DIR
  return fs::path(OIMAP_BINARY_DIR) / "oimap";
#else
  return "oimap";
#endif
}

std::string make_message(const std::string& id, const std::string& body_lines) {
  return "From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: " + id
         + "\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\nMessage-ID: <" + id
         + "@example.org>\r\n\r\n" + body_lines;
}

sync_env::sync_env(dovecot_options opts, std::vector<std::pair<std::string, std::string>> users)
    : dir_("oimap-sync"), server_(opts) {
  for (const auto& [user, password] : users)
    server_.add_user(user, password);
  password_ = users.front().second;
  write_config({}, {}, {}, password_);
}

fs::path sync_env::server_folder(const std::string& folder) const {
  auto root = server_.user_maildir("alice");
  if (folder == "INBOX")
    return root;
  std::string name = folder;
  std::replace(name.begin(), name.end(), server_.separator(), '.');
  return root / ("." + name);
}

fs::path sync_env::local_folder(const std::string& folder, char sep) const {
  std::string name = folder;
  if (sep == '/')
    std::replace(name.begin(), name.end(), '.', '/');
  return local_root() / name;
}

void sync_env::write_config(const std::string& extra_remote, const std::string& extra_local,
                            const std::string& extra_general, const std::string& password) {
  std::ostringstream c;
  c << "[general]\naccounts = Test\nmetadata = " << metadata().string() << "\nui = basic\n"
    << extra_general << "\n"
    << "[Account Test]\nlocalrepository = TestLocal\nremoterepository = TestRemote\n\n"
    << "[Repository TestLocal]\ntype = Maildir\nlocalfolders = " << local_root().string() << "\n"
    << extra_local << "\n"
    << "[Repository TestRemote]\ntype = IMAP\nremotehost = 127.0.0.1\nremoteport = "
    << server_.port() << "\nremoteuser = alice\nremotepass = " << password
    << "\nssl = no\nstarttls = no\n"
    << extra_remote << "\n";
  write_file(config(), c.str());
}

command_result sync_env::oimap(const std::vector<std::string>& args,
                               std::chrono::milliseconds timeout) {
  std::vector<std::string> argv{oimap_binary().string(), "-c", config().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, {}, timeout);
}

imap_dialogue& sync_env::imap() {
  if (!imap_) {
    imap_ = std::make_unique<imap_dialogue>(server_.port());
    imap_->login("alice", password_);
  }
  return *imap_;
}

} // namespace oimap::test
