// nametrans end to end: both sides' rules against a real Dovecot, as OfflineIMAP names things.
#include <catch2/catch.hpp>

#include "storage/maildir_name.hpp"
#include "support/sync_harness.hpp"

using namespace oimap::test;

namespace {

// The manual's example: every folder but three under "GMX." here; the
// local rule undoes it.
const std::string remote_rule = "nametrans = lambda folder: folder if folder in ['INBOX', "
                                "'Drafts', 'Sent'] else re.sub(r'^', r'GMX.', folder)\n";
const std::string local_rule = "nametrans = lambda folder: folder if folder in ['INBOX', "
                               "'Drafts', 'Sent'] else re.sub(r'^GMX\\.', '', folder)\n";

void make_local_folder(const fs::path& dir) {
  for (const char* sub : {"cur", "new", "tmp"})
    fs::create_directories(dir / sub);
}

// Every file of a local folder carries this FMD5 and a UID.
void require_fmd5(const fs::path& folder, const std::string& visible_name) {
  const std::string fmd5 = ",FMD5=" + oimap::storage::folder_md5(visible_name);
  std::size_t files = 0;
  for (const char* sub : {"cur", "new"})
    for (const auto& e : fs::directory_iterator(folder / sub)) {
      const auto name = e.path().filename().string();
      INFO(name);
      CHECK(name.find(fmd5) != std::string::npos);
      CHECK(name.find(",U=") != std::string::npos);
      ++files;
    }
  CHECK(files > 0);
}

void require_same(sync_env& env, const std::string& server, const std::string& local) {
  INFO(server << " against local " << local);
  const auto there = maildir_messages(env.server_folder(server));
  REQUIRE(!there.empty());
  REQUIRE(there == maildir_messages(env.local_folder(local)));
}

} // namespace

TEST_CASE("nametrans on both repositories names the folders on each side, both ways",
          "[integration]") {
  sync_env env;
  auto& imap = env.imap();
  for (const std::string f : {"Sent", "Work", "Work.Sub"})
    REQUIRE(imap.command("CREATE " + f).ok());
  for (const std::string f : {"INBOX", "Sent", "Work", "Work.Sub"})
    REQUIRE(imap.append(f, make_message(f + "-1", "from " + f + "\r\n")).ok());
  env.close_imap();
  // A folder made here, under the name the local rule takes back to "New".
  make_local_folder(env.local_folder("GMX.New"));
  write_file(env.local_folder("GMX.New") / "new" / "1700000000.M1.here",
             lf(make_message("new-1", "written here\r\n")));
  env.write_config(remote_rule, local_rule);

  auto r = env.oimap({"-o"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  require_same(env, "INBOX", "INBOX");
  require_same(env, "Sent", "Sent");
  require_same(env, "Work", "GMX.Work");
  require_same(env, "Work.Sub", "GMX.Work.Sub");
  require_same(env, "New", "GMX.New");
  CHECK_FALSE(fs::exists(env.local_folder("Work")));
  CHECK_FALSE(fs::exists(env.server_folder("GMX.New")));
  // The FMD5 is of the name after the local nametrans (OfflineIMAP since
  // 6.3.5), so its users' files keep their UIDs.
  require_fmd5(env.local_folder("GMX.Work"), "Work");
  require_fmd5(env.local_folder("GMX.New"), "New");
  require_fmd5(env.local_folder("INBOX"), "INBOX");

  // The next run finds both trees alike: nothing created, nothing copied.
  const auto before = maildir_files(env.local_folder("GMX.Work"));
  r = env.oimap({"-o"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("created") == std::string::npos);
  CHECK(maildir_messages(env.server_folder("New")).size() == 1);
  CHECK(maildir_files(env.local_folder("GMX.Work")) == before);

  // A local folder the rules would not bring back to itself is refused by
  // name (OfflineIMAP's "infinite folder creation"); the others sync.
  make_local_folder(env.local_folder("Other"));
  REQUIRE(env.imap().append("Work", make_message("Work-2", "later\r\n")).ok());
  env.close_imap();
  r = env.oimap({"-o"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("'Other'") != std::string::npos);
  CHECK(r.err.find("as 'Other', which comes back as 'GMX.Other'") != std::string::npos);
  CHECK_FALSE(fs::exists(env.server_folder("Other")));
  CHECK_FALSE(fs::exists(env.local_folder("GMX.Other")));
  require_same(env, "Work", "GMX.Work");
  CHECK(maildir_messages(env.local_folder("GMX.Work")).size() == 2);
}

TEST_CASE("a nametrans that fails stops the account with Python's error, and nothing is created",
          "[integration]") {
  sync_env env;
  REQUIRE(env.imap().command("CREATE Work").ok());
  env.close_imap();
  env.write_config("nametrans = lambda f: f.upper(\n");
  auto r = env.oimap({"-o"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("repository 'TestRemote': nametrans: 'lambda f: f.upper(' failed: SyntaxError")
        != std::string::npos);
  CHECK_FALSE(fs::exists(env.local_folder("Work")));
  CHECK_FALSE(fs::exists(env.local_folder("WORK")));
}

TEST_CASE("utf8foldernames: folders named in UTF-8 here, in modified UTF-7 on the server",
          "[integration]") {
  sync_env env;
  const std::string ete_wire = "&AMk-t&AOk-", ete = "\xc3\x89t\xc3\xa9"; // "Été"
  REQUIRE(env.imap().command("CREATE " + ete_wire).ok());
  REQUIRE(env.imap().append(ete_wire, make_message("ete-1", "summer\r\n")).ok());
  env.close_imap();
  const std::string cafe = "Caf\xc3\xa9"; // "Café", made here
  make_local_folder(env.local_folder(cafe));
  write_file(env.local_folder(cafe) / "new" / "1700000000.M1.here",
             lf(make_message("cafe-1", "coffee\r\n")));
  env.write_config();

  auto r = env.oimap({"-o", "-k", "Account_Test:utf8foldernames=yes"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  require_same(env, ete_wire, ete);
  require_same(env, "Caf&AOk-", cafe);
  CHECK_FALSE(fs::exists(env.local_folder(ete_wire)));
  r = env.oimap({"-o", "-k", "Account_Test:utf8foldernames=yes"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("created") == std::string::npos);
  CHECK(maildir_messages(env.server_folder("Caf&AOk-")).size() == 1);
}
