// Tests for Maildir folder discovery and creation.
#include "storage/maildir_name.hpp"
#include "storage/maildir_store.hpp"
#include "storage/storage_error.hpp"

#include "temp_dir.hpp"

#include <catch2/catch.hpp>

using namespace oimap::storage;
namespace fs = std::filesystem;

TEST_CASE("flat layout lists direct subdirectories that are Maildirs", "[maildir_store]") {
  test::temp_dir tmp;
  maildir_store store(tmp.path() / "mail", '.');
  CHECK(store.list_folders().empty()); // the root does not exist yet

  store.create_folder("INBOX");
  store.create_folder("INBOX.Sent");
  store.create_folder(".Drafts"); // Maildir++ style names are folders too with '.'
  fs::create_directory(tmp.path() / "mail" / "plain");
  test::write_file(tmp.path() / "mail" / "afile", "x");
  CHECK(store.list_folders() == std::vector<std::string>{".Drafts", "INBOX", "INBOX.Sent"});

  CHECK(test::mode_of(tmp.path() / "mail") == 0700);
  for (const char* sub : {"", "cur", "new", "tmp"})
    CHECK(test::mode_of(tmp.path() / "mail" / "INBOX.Sent" / sub) == 0700);

  // The root becomes folder "" once it has cur/new/tmp.
  store.create_folder("");
  CHECK(store.list_folders() == std::vector<std::string>{"", ".Drafts", "INBOX", "INBOX.Sent"});
  CHECK(store.has_folder("INBOX"));
  CHECK_FALSE(store.has_folder("plain"));

  store.create_folder("INBOX"); // again: fine
  CHECK_THROWS_AS(store.create_folder("a/b"), storage_error);
  CHECK_THROWS_AS(store.create_folder(".."), storage_error);
  CHECK_THROWS_AS(store.create_folder("cur"), storage_error);
}

TEST_CASE("nested layout recurses, skipping dot-directories", "[maildir_store]") {
  test::temp_dir tmp;
  fs::path root = tmp.path() / "deep" / "root";
  maildir_store store(root, '/', {false, false});
  store.create_folder("a/b/c");
  store.create_folder("a");
  store.create_folder("x/y");
  fs::create_directories(root / ".hidden" / "cur");
  fs::create_directories(root / ".hidden" / "new");
  fs::create_directories(root / ".hidden" / "tmp");
  fs::create_directories(root / "a" / "b" / "c" / ".notmuch" / "cur");
  CHECK(store.list_folders() == std::vector<std::string>{"a", "a/b/c", "x/y"});

  // Intermediate levels are plain directories, as with OfflineIMAP's makedirs.
  CHECK(fs::is_directory(root / "a" / "b"));
  CHECK_FALSE(fs::exists(root / "a" / "b" / "cur"));
  CHECK_FALSE(fs::exists(root / "x" / "cur"));
  CHECK(test::mode_of(root / "x") == 0700);
  CHECK(test::mode_of(tmp.path() / "deep") == 0700);

  CHECK_THROWS_WITH(store.create_folder("a/new/b"), Catch::Contains("cur, new or tmp"));
  CHECK_THROWS_AS(store.create_folder("a//b"), storage_error);
  CHECK_THROWS_AS(store.create_folder("/abs"), storage_error);
  CHECK_THROWS_AS(store.create_folder("a/../b"), storage_error);
}

TEST_CASE("a symlink loop does not hang the nested listing", "[maildir_store]") {
  test::temp_dir tmp;
  maildir_store store(tmp.path(), '/', {false, false});
  store.create_folder("a/b");
  fs::create_directory_symlink(tmp.path() / "a", tmp.path() / "a" / "b" / "loop");
  CHECK(store.list_folders() == std::vector<std::string>{"a/b"});
}

TEST_CASE("open needs an existing Maildir and uses the visible name for FMD5", "[maildir_store]") {
  test::temp_dir tmp;
  maildir_store store(tmp.path(), '.');
  CHECK_THROWS_WITH(store.open("INBOX"), Catch::Contains("is not a Maildir"));
  store.create_folder("INBOX.Sent");
  auto f = store.open("INBOX.Sent");
  CHECK(f->md5() == folder_md5("INBOX.Sent"));
  CHECK(f->path() == tmp.path() / "INBOX.Sent");
  auto g = store.open("INBOX.Sent", std::string_view("Sent"));
  CHECK(g->md5() == folder_md5("Sent"));
}
