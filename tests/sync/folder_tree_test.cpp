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
