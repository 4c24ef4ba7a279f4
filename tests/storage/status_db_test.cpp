// Tests for the RocksDB status database: round trips, isolation, persistence, locking, modes.
#include "storage/status_db.hpp"
#include "storage/storage_error.hpp"

#include "temp_dir.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <map>
#include <rocksdb/db.h>

using namespace oimap::storage;
namespace fs = std::filesystem;

TEST_CASE("records round-trip in numeric uid order", "[status_db]") {
  test::temp_dir tmp;
  auto db = status_db::open(tmp.path() / "db", false);
  status_db::batch b;
  b.set_record("INBOX", {300, flag::seen});
  b.set_record("INBOX", {2, flag_set(flag_set::all_bits)});
  b.set_record("INBOX", {70000, flag_set()});
  b.set_record("INBOX", {4294967295u, flag::draft});
  CHECK(b.size() == 4);
  CHECK(db->load("INBOX").empty()); // nothing visible before write()
  db->write(b);
  CHECK(b.empty());

  std::vector<status_record> expected{{2, flag_set(flag_set::all_bits)},
                                      {300, flag::seen},
                                      {70000, flag_set()},
                                      {4294967295u, flag::draft}};
  CHECK(db->load("INBOX") == expected);
  CHECK(db->get_record("INBOX", 300) == flag_set(flag::seen));
  CHECK_FALSE(db->get_record("INBOX", 301));

  b.erase_record("INBOX", 300);
  b.set_record("INBOX", {2, flag::replied}); // overwrite
  db->write(b);
  CHECK(db->load("INBOX")
        == std::vector<status_record>{
            {2, flag::replied}, {70000, flag_set()}, {4294967295u, flag::draft}});
}

TEST_CASE("the last recorded uid of a folder is found without loading it", "[status_db]") {
  test::temp_dir tmp;
  auto db = status_db::open(tmp.path() / "db", false);
  status_db::batch b;
  b.set_record("a", {7, flag::seen});
  b.set_record("a", {300, flag_set()});
  b.set_key("a", 300, "1700000000.M1P1.host"); // the folder's other keys do not count
  b.set_meta("a", {1, 301, 1, 2});
  b.set_record("ab", {4294967295u, flag_set()}); // a folder whose name extends "a"
  b.set_record("b", {9, flag_set()});
  db->write(b);
  CHECK(db->last_uid("a") == 300u);
  CHECK(db->last_uid("ab") == 4294967295u);
  CHECK(db->last_uid("b") == 9u);
  CHECK_FALSE(db->last_uid("c"));
  CHECK_FALSE(db->last_uid(""));

  b.erase_record("a", 300);
  db->write(b);
  CHECK(db->last_uid("a") == 7u);
}

TEST_CASE("how many folders the last run had to sync is kept outside every folder", "[status_db]") {
  test::temp_dir tmp;
  {
    auto db = status_db::open(tmp.path() / "db", false);
    CHECK_FALSE(db->folders_to_sync_last_run());
    status_db::batch b;
    b.set_record("INBOX", {1, flag::seen});
    b.set_folders_to_sync(40);
    db->write(b);
    CHECK(db->folders_to_sync_last_run() == 40u);
    CHECK(db->folders() == std::vector<std::string>{"INBOX"});
    b.set_folders_to_sync(0);
    db->write(b);
  }
  auto db = status_db::open(tmp.path() / "db", false);
  CHECK(db->folders_to_sync_last_run() == 0u);
}

TEST_CASE("a write left unsynced is there after a clean close", "[status_db]") {
  test::temp_dir tmp;
  {
    auto db = status_db::open(tmp.path() / "db", true);
    status_db::batch b;
    b.set_folders_to_sync(7);
    db->write_unsynced(b);
    CHECK(db->folders_to_sync_last_run() == 7u);
  }
  CHECK(status_db::open(tmp.path() / "db", true)->folders_to_sync_last_run() == 7u);
}

TEST_CASE("folder metadata round-trips", "[status_db]") {
  test::temp_dir tmp;
  auto db = status_db::open(tmp.path(), true);
  CHECK_FALSE(db->get_meta("INBOX"));
  folder_meta m{4294967295u, 12345, 18446744073709551615ull, 0};
  status_db::batch b;
  b.set_meta("INBOX", m);
  b.set_meta("Sent", {1, 2, 3, 4});
  db->write(b);
  CHECK(db->get_meta("INBOX") == m);
  CHECK(db->get_meta("Sent") == folder_meta{1, 2, 3, 4});

  folder_meta keyed{7, 8, 9, 10, 11, 12, true};
  b.set_meta("Drafts", keyed);
  db->write(b);
  CHECK(db->get_meta("Drafts") == keyed);
  CHECK(db->get_meta("Drafts")->keys_recorded);
  CHECK_FALSE(db->get_meta("Sent")->keys_recorded);
}

TEST_CASE("folder metadata from a later version, with fields added at its end, still reads",
          "[status_db]") {
  test::temp_dir tmp;
  {
    auto db = status_db::open(tmp.path(), true);
    status_db::batch b;
    b.set_meta("INBOX", {1, 2, 3, 4, 5, 6, true});
    db->write(b);
  }
  {
    // What a later oimap would write: the same record plus two varints.
    rocksdb::DB* raw = nullptr;
    rocksdb::Options o;
    REQUIRE(rocksdb::DB::Open(o, tmp.path().string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    const std::string key = std::string("\0\0\0\5INBOXm", 10);
    std::string value;
    REQUIRE(db->Get(rocksdb::ReadOptions(), key, &value).ok());
    value += "\x81\x01\x07";
    REQUIRE(db->Put(rocksdb::WriteOptions(), key, value).ok());
    REQUIRE(db->Close().ok());
  }
  auto db = status_db::open(tmp.path(), true);
  CHECK(db->get_meta("INBOX") == folder_meta{1, 2, 3, 4, 5, 6, true});
}

TEST_CASE("a message's local key is kept beside its record, and goes with it", "[status_db]") {
  test::temp_dir tmp;
  auto db = status_db::open(tmp.path(), true);
  status_db::batch b;
  const std::string key = "1700000000_0.123.host,U=5,FMD5=0123456789abcdef0123456789abcdef";
  b.set_record("INBOX", {5, flag::seen});
  b.set_key("INBOX", 5, key);
  b.set_record("INBOX", {6, {}});
  b.set_key("INBOX", 6, "other");
  b.set_key("INBOX.Sent", 5, "elsewhere");
  db->write(b);
  CHECK(db->get_key("INBOX", 5) == key);
  CHECK(db->get_key("INBOX.Sent", 5) == "elsewhere");
  CHECK_FALSE(db->get_key("INBOX", 7));
  // Keys are not records: loading a folder sees the records only.
  CHECK(db->load("INBOX") == std::vector<status_record>{{5, flag::seen}, {6, {}}});

  b.erase_record("INBOX", 5);
  b.erase_key("INBOX", 6);
  db->write(b);
  CHECK_FALSE(db->get_key("INBOX", 5));
  CHECK_FALSE(db->get_key("INBOX", 6));
  CHECK(db->get_record("INBOX", 6));
  b.erase_folder("INBOX.Sent");
  db->write(b);
  CHECK_FALSE(db->get_key("INBOX.Sent", 5));
}

TEST_CASE("pending uploads round-trip and are erased by key", "[status_db]") {
  test::temp_dir tmp;
  auto db = status_db::open(tmp.path(), false);
  pending_upload p1{"1700000000.M1P2.host", 41, 123456789012ull, std::string("<id@x>\0bin", 10),
                    "0123456789abcdef0123456789abcdef"};
  pending_upload p2{"1_0.1.h,U=3,FMD5=aa", 0, 0, "", ""};
  status_db::batch b;
  b.add_pending("INBOX", p1);
  b.add_pending("INBOX", p2);
  db->write(b);
  CHECK(db->pending("INBOX") == std::vector<pending_upload>{p1, p2}); // sorted by key

  // The journal's life cycle: the uid is recorded and the entry erased at once.
  b.set_record("INBOX", {42, flag::seen});
  b.erase_pending("INBOX", p1.key);
  db->write(b);
  CHECK(db->pending("INBOX") == std::vector<pending_upload>{p2});
  CHECK(db->load("INBOX") == std::vector<status_record>{{42, flag::seen}});
}

TEST_CASE("folders are isolated even when one name prefixes another", "[status_db]") {
  test::temp_dir tmp;
  auto db = status_db::open(tmp.path(), false);
  status_db::batch b;
  b.set_record("a", {1, flag::seen});
  b.set_record("ab", {2, flag::flagged});
  b.set_record("", {3, flag_set()});
  b.set_meta("a", {1, 1, 1, 1});
  b.add_pending("ab", {"k", 1, 1, "", ""});
  b.set_record(std::string("a\0b", 3), {4, flag_set()});
  db->write(b);

  CHECK(db->load("a") == std::vector<status_record>{{1, flag::seen}});
  CHECK(db->load("ab") == std::vector<status_record>{{2, flag::flagged}});
  CHECK(db->load("") == std::vector<status_record>{{3, flag_set()}});
  CHECK(db->load(std::string("a\0b", 3)) == std::vector<status_record>{{4, flag_set()}});
  CHECK(db->pending("a").empty());
  CHECK_FALSE(db->get_meta("ab"));
  CHECK(db->folders() == std::vector<std::string>{"", "a", "ab", std::string("a\0b", 3)});

  b.erase_folder("a");
  db->write(b);
  CHECK(db->load("a").empty());
  CHECK_FALSE(db->get_meta("a"));
  CHECK(db->load("ab") == std::vector<status_record>{{2, flag::flagged}});
  CHECK(db->pending("ab").size() == 1);
  CHECK(db->folders() == std::vector<std::string>{"", "ab", std::string("a\0b", 3)});

  // A folder erased and refilled in one batch keeps only the new records.
  b.erase_folder("ab");
  b.set_record("ab", {9, flag::seen});
  db->write(b);
  CHECK(db->load("ab") == std::vector<status_record>{{9, flag::seen}});
  CHECK(db->pending("ab").empty());
}

TEST_CASE("data persists across close and reopen", "[status_db]") {
  test::temp_dir tmp;
  for (bool fsync : {false, true}) {
    fs::path dir = tmp.path() / (fsync ? "synced" : "unsynced");
    {
      auto db = status_db::open(dir, fsync);
      status_db::batch b;
      for (std::uint32_t uid = 1; uid <= 1000; ++uid)
        b.set_record("INBOX", {uid, flag_set(static_cast<std::uint8_t>(uid % 32))});
      b.set_meta("INBOX", {7, 1001, 99, 1000});
      db->write(b);
      db->close();
      CHECK_THROWS_WITH(db->load("INBOX"), Catch::Contains("is closed"));
    }
    auto db = status_db::open(dir, fsync);
    auto records = db->load("INBOX");
    REQUIRE(records.size() == 1000);
    CHECK(records[499] == status_record{500, flag_set(500 % 32)});
    CHECK(db->get_meta("INBOX") == folder_meta{7, 1001, 99, 1000});
  }
}

TEST_CASE("a second open of a database in use fails clearly", "[status_db]") {
  test::temp_dir tmp;
  fs::path dir = tmp.path() / "db";
  auto db = status_db::open(dir, false);
  CHECK_THROWS_WITH(status_db::open(dir, false),
                    "status database " + dir.string() + " is in use by another oimap process");

  // The same from another process (RocksDB's fcntl lock), via this test
  // binary running the hidden case below.
  fs::path self = fs::read_symlink("/proc/self/exe");
  std::string cmd =
      "OIMAP_TEST_STATUS_DIR='" + dir.string() + "' '" + self.string()
      + "' -w NoTests '[status_db_child]' >/dev/null 2>&1"; // NoTests: fail if it ran nothing
  CHECK(std::system(cmd.c_str()) == 0);

  db.reset(); // closing releases the lock
  CHECK_NOTHROW(status_db::open(dir, false));
}

TEST_CASE("child: open a database another process holds", "[.][status_db_child]") {
  const char* dir = std::getenv("OIMAP_TEST_STATUS_DIR");
  REQUIRE(dir);
  CHECK_THROWS_WITH(status_db::open(dir, false),
                    std::string("status database ") + dir + " is in use by another oimap process");
}

TEST_CASE("directory is 0700 and every file 0600", "[status_db]") {
  test::temp_dir tmp;
  fs::path dir = tmp.path() / "meta" / "status";
  auto check_modes = [&] {
    CHECK(test::mode_of(dir) == 0700);
    CHECK(test::mode_of(tmp.path() / "meta") == 0700);
    size_t files = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
      CAPTURE(e.path());
      CHECK(test::mode_of(e.path()) == 0600);
      ++files;
    }
    CHECK(files > 3);
  };
  {
    auto db = status_db::open(dir, true);
    status_db::batch b;
    b.set_record("INBOX", {1, flag::seen});
    db->write(b);
    check_modes();
  }
  check_modes();
  // Reopening creates new log and manifest files; they are private too.
  auto db = status_db::open(dir, true);
  check_modes();

  // An existing directory with loose permissions is tightened.
  fs::path loose = tmp.path() / "loose";
  fs::create_directory(loose);
  fs::permissions(loose, fs::perms::all);
  auto db2 = status_db::open(loose, false);
  CHECK(test::mode_of(loose) == 0700);
}

TEST_CASE("an unusable directory gives an error naming it", "[status_db]") {
  test::temp_dir tmp;
  test::write_file(tmp.path() / "file", "x");
  CHECK_THROWS_WITH(status_db::open(tmp.path() / "file" / "db", false),
                    Catch::Contains((tmp.path() / "file" / "db").string()));
}

TEST_CASE("a corrupt database is an error naming it, and saying what to do", "[status_db]") {
  test::temp_dir tmp;
  const auto dir = tmp.path() / "db";
  status_db::open(dir, false)->close();
  test::write_file(dir / "CURRENT", "garbage\n");
  CHECK_THROWS_WITH(status_db::open(dir, false),
                    Catch::Contains(dir.string()) && Catch::Contains("Corruption")
                        && Catch::Contains("move it aside and the next run rebuilds it"));
}

namespace {

int files_ending(const fs::path& dir, const char* extension) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir))
    n += e.path().extension() == extension;
  return n;
}

} // namespace

TEST_CASE("sessions that write nothing close without flushing, and their logs stay few",
          "[status_db]") {
  test::temp_dir tmp;
  const auto dir = tmp.path() / "status";
  {
    auto db = status_db::open(dir, true);
    status_db::batch b;
    b.set_record("INBOX", {1, flag::seen});
    db->write(b);
  }
  const int tables = files_ending(dir, ".sst");
  REQUIRE(files_ending(dir, ".log") == 1);
  // A no-change run: open, read, close. It writes no table...
  status_db::open(dir, true)->close();
  CHECK(files_ending(dir, ".sst") == tables);
  // ...and the empty logs such runs leave are retired once a few pile up.
  for (int i = 0; i < 12; ++i) {
    status_db::open(dir, true)->close();
    CHECK(files_ending(dir, ".log") <= 4);
  }
  CHECK(status_db::open(dir, true)->load("INBOX") == std::vector<status_record>{{1, flag::seen}});
}

TEST_CASE("the status directory gets neither RocksDB's info log nor its OPTIONS file",
          "[status_db]") {
  // At every open RocksDB would dump every option into LOG (rolling to a new
  // file each time), and write, sync, parse back and rename an OPTIONS file.
  test::temp_dir tmp;
  const auto dir = tmp.path() / "status";
  for (int run = 0; run < 3; ++run) {
    auto db = status_db::open(dir, true);
    status_db::batch b;
    b.set_record("INBOX", {static_cast<std::uint32_t>(run + 1), flag::seen});
    db->write(b);
    db->close();
  }
  // One left by an earlier oimap, which let RocksDB write them, goes too.
  { std::ofstream(dir / "OPTIONS-000007") << "[Version]\n"; }
  status_db::open(dir, true)->close();
  std::vector<std::string> unwanted;
  for (const auto& e : fs::directory_iterator(dir)) {
    const auto name = e.path().filename().string();
    if (name.starts_with("LOG") || name.starts_with("OPTIONS"))
      unwanted.push_back(name);
  }
  CHECK(unwanted.empty());
  // Opening needs neither.
  CHECK(status_db::open(dir, true)->load("INBOX").size() == 3);
}

TEST_CASE("many writing sessions keep level 0 compacted at close", "[status_db]") {
  test::temp_dir tmp;
  const auto dir = tmp.path() / "status";
  for (std::uint32_t run = 0; run < 8; ++run) {
    auto db = status_db::open(dir, false);
    status_db::batch b;
    for (std::uint32_t uid = 1; uid <= 100; ++uid)
      b.set_record("INBOX", {run * 100 + uid, flag::seen});
    db->write(b);
  }
  int tables = 0;
  for (const auto& e : fs::directory_iterator(dir))
    tables += e.path().extension() == ".sst";
  CHECK(tables < 4); // each close flushes one; the one that makes four compacts them
  CHECK(status_db::open(dir, false)->load("INBOX").size() == 800);
}

TEST_CASE("small writing sessions after a big one merge their tables, the big one stays",
          "[status_db]") {
  test::temp_dir tmp;
  const auto dir = tmp.path() / "status";
  auto tables = [&] {
    std::map<std::string, std::uintmax_t> out; // name -> size
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".sst")
        out[e.path().filename().string()] = e.file_size();
    return out;
  };
  {
    // An initial sync, then enough small runs to have it all compacted once.
    auto db = status_db::open(dir, false);
    status_db::batch b;
    for (std::uint32_t uid = 1; uid <= 20000; ++uid)
      b.set_record("INBOX", {uid, flag::seen});
    db->write(b);
  }
  for (std::uint32_t run = 0; run < 3; ++run) {
    auto db = status_db::open(dir, false);
    status_db::batch b;
    b.set_record("INBOX", {20001 + run, {}});
    db->write(b);
  }
  auto before = tables();
  REQUIRE(before.size() == 1);
  const std::string big = before.begin()->first;
  // Runs changing a few records each: their tables merge among themselves,
  // and the big table is not rewritten for them.
  for (std::uint32_t run = 0; run < 9; ++run) {
    auto db = status_db::open(dir, false);
    status_db::batch b;
    b.set_record("INBOX", {run + 1, flag::flagged});
    db->write(b);
    db->close();
    auto now = tables();
    CHECK(now.size() <= 4);
    CHECK(now.count(big) == 1);
  }
  auto db = status_db::open(dir, false);
  auto records = db->load("INBOX");
  REQUIRE(records.size() == 20003);
  CHECK(records[0].flags == flag_set(flag::flagged));
  CHECK(records[8].flags == flag_set(flag::flagged));
  CHECK(records[9].flags == flag_set(flag::seen));
}

namespace {

// Every file of a directory with its size and modification time.
std::map<std::string, std::pair<std::uintmax_t, fs::file_time_type>> dir_state(const fs::path& d) {
  std::map<std::string, std::pair<std::uintmax_t, fs::file_time_type>> out;
  for (const auto& e : fs::directory_iterator(d))
    out[e.path().filename().string()] = {e.file_size(), e.last_write_time()};
  return out;
}

} // namespace

TEST_CASE("a read-only open reads what was written and changes nothing in the directory",
          "[status_db]") {
  test::temp_dir tmp;
  const auto dir = tmp.path() / "db";
  CHECK(status_db::open_read_only(dir) == nullptr);
  CHECK_FALSE(fs::exists(dir)); // never synced: nothing made

  auto db = status_db::open(dir, false);
  status_db::batch b;
  b.set_record("INBOX", {7, flag::seen});
  db->write(b);
  // While the writer holds it (another oimap syncing), and its write is
  // still only in the log.
  const auto before = dir_state(dir);
  {
    auto ro = status_db::open_read_only(dir);
    REQUIRE(ro);
    CHECK(ro->load("INBOX") == std::vector<status_record>{{7, flag::seen}});
    b.set_record("INBOX", {8, flag::seen});
    CHECK_THROWS_AS(ro->write(b), storage_error);
    ro->close();
  }
  CHECK(dir_state(dir) == before);
  db->close();

  const auto closed = dir_state(dir);
  for (int i = 0; i < 5; ++i) // a closing writer would flush once logs pile up
    status_db::open_read_only(dir)->close();
  CHECK(dir_state(dir) == closed);
}

TEST_CASE("a folder's window is recorded, replaced, cleared and erased with it", "[status_db]") {
  test::temp_dir tmp;
  auto db = status_db::open(tmp.path() / "db", false);
  CHECK(db->window("INBOX").empty());
  status_db::batch b;
  b.set_window("INBOX", "maxage=30");
  b.set_window("Work", "maxsize=1000");
  db->write(b);
  CHECK(db->window("INBOX") == "maxage=30");
  CHECK(db->window("Work") == "maxsize=1000");
  b.set_window("INBOX", "");
  db->write(b);
  CHECK(db->window("INBOX").empty());
  b.erase_folder("Work");
  db->write(b);
  CHECK(db->window("Work").empty());
}
