// Folder pairing across separators, and which folders get created where.
#include <catch2/catch.hpp>

#include <algorithm>

#include "sync/folder_tree.hpp"

using namespace oimap::sync;
using strings = std::vector<std::string>;

namespace {

strings remote_names(const folder_tree& t) {
  strings out;
  for (const auto& p : t.pairs)
    out.push_back(p.remote_name + "=" + p.local_name + "=" + p.status_name);
  return out;
}

} // namespace

TEST_CASE("folders pair across separators", "[folder_tree]") {
  const std::vector<remote_folder> remote{
      {"INBOX", '.', true}, {"Work", '.', true}, {"Work.Projects", '.', true}};
  SECTION("local sep '.' keeps the names") {
    auto t = pair_folders(remote, {"INBOX", "Work", "Work.Projects"}, {});
    CHECK(remote_names(t)
          == strings{"INBOX=INBOX=INBOX", "Work=Work=Work",
                     "Work.Projects=Work.Projects=Work.Projects"});
    CHECK(t.create_local.empty());
    CHECK(t.create_remote.empty());
  }
  SECTION("local sep '/' nests directories; the status name keeps '.'") {
    folder_tree_options o;
    o.local_sep = '/';
    auto t = pair_folders(remote, {"INBOX"}, o);
    CHECK(remote_names(t)
          == strings{"INBOX=INBOX=INBOX", "Work=Work=Work",
                     "Work.Projects=Work/Projects=Work.Projects"});
    CHECK(t.create_local == strings{"Work", "Work/Projects"});
  }
  SECTION("a server with '/' as delimiter") {
    const std::vector<remote_folder> slash{{"INBOX", '/', true}, {"a/b", '/', true}};
    auto t = pair_folders(slash, {}, {});
    CHECK(remote_names(t) == strings{"INBOX=INBOX=INBOX", "a/b=a.b=a.b"});
    CHECK(t.create_local == strings{"INBOX", "a.b"});
  }
}

TEST_CASE("new local folders are created on the server, parents first, once", "[folder_tree]") {
  folder_tree_options o;
  o.local_sep = '/';
  const std::vector<remote_folder> remote{{"INBOX", '.', true}};
  auto t = pair_folders(remote, {"INBOX", "a/b/c", "a/b/d"}, o);
  CHECK(t.create_remote == strings{"a", "a.b", "a.b.c", "a.b.d"});
  // The parents are mirrored locally at once, so the next run creates nothing.
  CHECK(t.create_local == strings{"a", "a/b"});
  CHECK(remote_names(t)
        == strings{"INBOX=INBOX=INBOX", "a=a=a", "a.b=a/b=a.b", "a.b.c=a/b/c=a.b.c",
                   "a.b.d=a/b/d=a.b.d"});

  SECTION("and the next run, seeing both trees alike, creates nothing") {
    std::vector<remote_folder> after{{"INBOX", '.', true}};
    for (const auto& n : t.create_remote)
      after.push_back({n, '.', true});
    auto again = pair_folders(after, {"INBOX", "a", "a/b", "a/b/c", "a/b/d"}, o);
    CHECK(again.create_remote.empty());
    CHECK(again.create_local.empty());
    CHECK(again.pairs.size() == 5);
  }
}

TEST_CASE("createfolders, readonly, Noselect and -f limit what is paired", "[folder_tree]") {
  const std::vector<remote_folder> remote{
      {"INBOX", '.', true}, {"Only.Remote", '.', true}, {"Container", '.', false}};
  const strings local{"INBOX", "Only.Local"};

  SECTION("createfolders off on both sides: only common folders") {
    folder_tree_options o;
    o.create_local = false;
    o.create_remote = false;
    auto t = pair_folders(remote, local, o);
    CHECK(remote_names(t) == strings{"INBOX=INBOX=INBOX"});
    CHECK(t.create_local.empty());
    CHECK(t.create_remote.empty());
  }
  SECTION("a readonly server gets no folders") {
    folder_tree_options o;
    o.remote_readonly = true;
    auto t = pair_folders(remote, local, o);
    CHECK(t.create_remote.empty());
    CHECK(t.create_local == strings{"Only.Remote"});
  }
  SECTION("\\Noselect folders are neither synced nor created") {
    auto t = pair_folders(remote, local, {});
    for (const auto& p : t.pairs)
      CHECK(p.remote_name != "Container");
    CHECK(t.create_remote == strings{"Only", "Only.Local"});
  }
  SECTION("-f names remote folders") {
    folder_tree_options o;
    o.only = {"Only.Remote"};
    auto t = pair_folders(remote, local, o);
    CHECK(remote_names(t) == strings{"Only.Remote=Only.Remote=Only.Remote"});
    CHECK(t.create_remote.empty());
  }
  SECTION("folderfilter: a folder it turns down is neither synced nor created, on either side") {
    folder_tree_options o;
    strings asked;
    o.filter = [&](const std::string& remote_name, const std::string& local_name) {
      asked.push_back(remote_name + "|" + local_name);
      return remote_name != "Only.Remote" && local_name != "Only.Local";
    };
    auto t = pair_folders(remote, local, o);
    CHECK(remote_names(t) == strings{"INBOX=INBOX=INBOX"});
    CHECK(t.create_local.empty());
    CHECK(t.create_remote.empty());
    // Each side's name is given, for each repository's own filter.
    CHECK(std::count(asked.begin(), asked.end(), "Only.Remote|Only.Remote") == 1);
    CHECK(std::count(asked.begin(), asked.end(), "Only.Local|Only.Local") == 1);
    // -f overrides it, as in OfflineIMAP.
    o.only = {"Only.Remote"};
    CHECK(remote_names(pair_folders(remote, local, o))
          == strings{"Only.Remote=Only.Remote=Only.Remote"});
  }
}

namespace {

// The manual's example: all but three folders under "GMX." here, and the
// local rule that undoes it.
std::string gmx_remote(const std::string& f) {
  return f == "INBOX" || f == "Drafts" || f == "Sent" ? f : "GMX." + f;
}
std::string gmx_local(const std::string& f) {
  return f.rfind("GMX.", 0) == 0 ? f.substr(4) : f;
}

strings fmd5_names(const folder_tree& t) {
  strings out;
  for (const auto& p : t.pairs)
    out.push_back(p.local_name + ":" + p.fmd5_name.value_or("(none)"));
  return out;
}

strings refused_names(const folder_tree& t) {
  strings out;
  for (const auto& r : t.refused)
    out.push_back(r.name);
  return out;
}

} // namespace

TEST_CASE("nametrans: each side's rule names the folder there, as OfflineIMAP does",
          "[folder_tree]") {
  folder_tree_options o;
  o.remote_nametrans = gmx_remote;
  o.local_nametrans = gmx_local;
  const std::vector<remote_folder> remote{
      {"INBOX", '.', true}, {"Sent", '.', true}, {"Work", '.', true}, {"Work.Sub", '.', true}};
  auto t = pair_folders(remote, {"INBOX", "GMX.New", "Other"}, o);
  // remote = local = status: the status is named after the remote folder's
  // translated name, as OfflineIMAP's LocalStatus is.
  CHECK(remote_names(t)
        == strings{"INBOX=INBOX=INBOX", "New=GMX.New=GMX.New", "Sent=Sent=Sent",
                   "Work=GMX.Work=GMX.Work", "Work.Sub=GMX.Work.Sub=GMX.Work.Sub"});
  CHECK(t.create_local == strings{"Sent", "GMX.Work", "GMX.Work.Sub"});
  CHECK(t.create_remote == strings{"New"});
  // The FMD5 in a local file's name is made of the local nametrans's result.
  CHECK(fmd5_names(t)
        == strings{"INBOX:INBOX", "GMX.New:New", "Sent:Sent", "GMX.Work:Work",
                   "GMX.Work.Sub:Work.Sub"});
  // "Other" would become "Other" on the server, which comes back as
  // "GMX.Other": refused, as OfflineIMAP's "INFINITE FOLDER CREATION".
  REQUIRE(refused_names(t) == strings{"Other"});
  CHECK(t.refused[0].reason.find("as 'Other', which comes back as 'GMX.Other'")
        != std::string::npos);
  CHECK(t.refused[0].reason.find("nametrans") != std::string::npos);

  SECTION("the next run, seeing both trees alike, creates nothing") {
    std::vector<remote_folder> after = remote;
    after.push_back({"New", '.', true});
    auto again =
        pair_folders(after, {"INBOX", "Sent", "GMX.New", "GMX.Work", "GMX.Work.Sub", "Other"}, o);
    CHECK(again.create_local.empty());
    CHECK(again.create_remote.empty());
    CHECK(again.pairs.size() == 5);
    CHECK(refused_names(again) == strings{"Other"});
  }
  SECTION("without a local rule the FMD5 is the local name's") {
    o.local_nametrans = nullptr;
    auto plain = pair_folders(remote, {"INBOX"}, o);
    for (const auto& p : plain.pairs)
      CHECK_FALSE(p.fmd5_name.has_value());
  }
  SECTION("a folderfilter sees the translated local name") {
    strings asked;
    o.filter = [&](const std::string& remote_name, const std::string& local_name) {
      asked.push_back(remote_name + "|" + local_name);
      return true;
    };
    pair_folders(remote, {"INBOX"}, o);
    CHECK(std::count(asked.begin(), asked.end(), "Work.Sub|GMX.Work.Sub") == 1);
  }
}

TEST_CASE("two server folders on one local folder are refused, not mixed", "[folder_tree]") {
  SECTION("a nametrans that is not one-to-one") {
    folder_tree_options o;
    o.remote_nametrans = [](const std::string& f) {
      std::string out = f;
      std::transform(out.begin(), out.end(), out.begin(), ::tolower);
      return out;
    };
    const std::vector<remote_folder> remote{
        {"INBOX", '.', true}, {"Work", '.', true}, {"work", '.', true}};
    auto t = pair_folders(remote, {"inbox"}, o);
    CHECK(remote_names(t) == strings{"INBOX=inbox=inbox"});
    CHECK(t.create_local.empty());
    REQUIRE(refused_names(t) == strings{"work"});
    CHECK(t.refused[0].reason.find("'Work' and 'work' would all be synced with it")
          != std::string::npos);
  }
  SECTION("a server name holding the local separator") {
    const std::vector<remote_folder> remote{{"a.b", '/', true}, {"a/b", '/', true}};
    auto t = pair_folders(remote, {"a.b"}, {});
    CHECK(t.pairs.empty());
    CHECK(t.create_remote.empty());
    CHECK(refused_names(t) == strings{"a.b"});
  }
  SECTION("two local folders on one status name") {
    folder_tree_options o;
    o.local_sep = '/';
    const std::vector<remote_folder> remote{{"a.b", '/', true}, {"a/b", '/', true}};
    auto t = pair_folders(remote, {}, o);
    CHECK(t.pairs.empty());
    CHECK(t.create_local.empty());
    REQUIRE(refused_names(t) == strings{"a.b", "a/b"});
    CHECK(t.refused[0].reason.find("would share the status name 'a.b'") != std::string::npos);
  }
}

TEST_CASE("a local folder is not created on the server under a name that comes back as another",
          "[folder_tree]") {
  folder_tree_options o;
  o.local_sep = '/';
  const std::vector<remote_folder> remote{{"INBOX", '.', true}};
  // "x.y" would be "x.y" on a server with '.', which comes back as "x/y".
  auto t = pair_folders(remote, {"INBOX", "x.y"}, o);
  CHECK(t.create_remote.empty());
  CHECK(t.create_local.empty());
  REQUIRE(refused_names(t) == strings{"x.y"});
  CHECK(t.refused[0].reason.find("holds the server's delimiter '.'") != std::string::npos);
  CHECK(remote_names(t) == strings{"INBOX=INBOX=INBOX"});
}

TEST_CASE("a local folder synced with a server folder is not created again under another name",
          "[folder_tree]") {
  // "a.b" on a server with '/' is local "a.b", which would otherwise go
  // back to the server as "a/b".
  const std::vector<remote_folder> remote{{"INBOX", '/', true}, {"a.b", '/', true}};
  auto t = pair_folders(remote, {"INBOX", "a.b"}, {});
  CHECK(t.create_remote.empty());
  CHECK(t.refused.empty());
  CHECK(remote_names(t) == strings{"INBOX=INBOX=INBOX", "a.b=a.b=a.b"});
}

TEST_CASE("utf8foldernames: server names decoded here, local names encoded there",
          "[folder_tree]") {
  folder_tree_options o;
  o.utf8_names = true;
  strings asked;
  o.filter = [&](const std::string& remote_name, const std::string&) {
    asked.push_back(remote_name);
    return true;
  };
  // "&AMk-t&AOk-" is "Été"; "Caf\xc3\xa9" is "Café".
  const std::vector<remote_folder> remote{{"INBOX", '.', true}, {"&AMk-t&AOk-", '.', true}};
  auto t = pair_folders(remote, {"INBOX", "Caf\xc3\xa9", "bad\xff"}, o);
  CHECK(remote_names(t)
        == strings{"&AMk-t&AOk-=\xc3\x89t\xc3\xa9=\xc3\x89t\xc3\xa9",
                   "Caf&AOk-=Caf\xc3\xa9=Caf\xc3\xa9", "INBOX=INBOX=INBOX"});
  CHECK(t.create_local == strings{"\xc3\x89t\xc3\xa9"});
  CHECK(t.create_remote == strings{"Caf&AOk-"});
  // The filter sees the decoded name, as OfflineIMAP's does.
  CHECK(std::count(asked.begin(), asked.end(), "\xc3\x89t\xc3\xa9") == 1);
  // A local name that is not UTF-8 cannot be named on the server.
  REQUIRE(refused_names(t) == strings{"bad\xff"});
  CHECK(t.refused[0].reason.find("not UTF-8") != std::string::npos);

  SECTION("a folder -f or a filter leaves out is no error, whatever its name") {
    o.only = {"INBOX"};
    CHECK(pair_folders(remote, {"INBOX", "bad\xff"}, o).refused.empty());
  }
  SECTION("without it, names stay as the server spells them") {
    o.utf8_names = false;
    auto plain = pair_folders(remote, {"INBOX"}, o);
    CHECK(plain.create_local == strings{"&AMk-t&AOk-"});
  }
}
