// Tests for dir_watch: the names arriving in and leaving a directory, or "cannot vouch".
#include "storage/dir_watch.hpp"

#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <fstream>

using namespace oimap::storage;
namespace fs = std::filesystem;

namespace {

std::string describe(const std::vector<dir_watch::event>& events) {
  std::string out;
  for (const auto& e : events)
    out += std::string(1, e.change) + e.name + " ";
  return out;
}

} // namespace

TEST_CASE("dir_watch reports names arriving and leaving, in order", "[dir_watch]") {
  test::temp_dir tmp;
  fs::create_directories(tmp.path() / "cur");
  fs::create_directories(tmp.path() / "elsewhere");
  std::ofstream(tmp.path() / "cur" / "before") << "x";
  dir_watch watch;
  int h = watch.add(tmp.path() / "cur");
  REQUIRE(h >= 0);

  std::ofstream(tmp.path() / "elsewhere" / "m") << "x";
  fs::rename(tmp.path() / "elsewhere" / "m", tmp.path() / "cur" / "m:2,S");
  fs::rename(tmp.path() / "cur" / "m:2,S", tmp.path() / "cur" / "m:2,FS");
  fs::remove(tmp.path() / "cur" / "before");
  std::ofstream(tmp.path() / "elsewhere" / "not-watched") << "x";

  auto events = watch.take(h);
  REQUIRE(events);
  CHECK(describe(*events) == "Am:2,S Dm:2,S Am:2,FS Dbefore ");
  // Taken events are gone; new ones queue up again.
  CHECK(watch.take(h)->empty());
  fs::remove(tmp.path() / "cur" / "m:2,FS");
  CHECK(describe(*watch.take(h)) == "Dm:2,FS ");

  SECTION("a removed handle has nothing to vouch for") {
    watch.remove(h);
    std::ofstream(tmp.path() / "cur" / "late") << "x";
    CHECK_FALSE(watch.take(h));
  }
  SECTION("the directory itself moved: nothing to vouch for") {
    fs::rename(tmp.path() / "cur", tmp.path() / "cur2");
    CHECK_FALSE(watch.take(h));
  }
}

TEST_CASE("dir_watch keeps two directories' events apart", "[dir_watch]") {
  test::temp_dir tmp;
  fs::create_directories(tmp.path() / "a");
  fs::create_directories(tmp.path() / "b");
  dir_watch watch;
  int a = watch.add(tmp.path() / "a");
  int b = watch.add(tmp.path() / "b");
  REQUIRE(a >= 0);
  REQUIRE(b >= 0);
  std::ofstream(tmp.path() / "a" / "1") << "x";
  std::ofstream(tmp.path() / "b" / "2") << "x";
  CHECK(describe(*watch.take(b)) == "A2 ");
  CHECK(describe(*watch.take(a)) == "A1 ");
}

TEST_CASE("dir_watch gives up when the kernel's queue overflowed", "[dir_watch]") {
  long limit = 16384;
  std::ifstream("/proc/sys/fs/inotify/max_queued_events") >> limit;
  test::temp_dir tmp;
  fs::create_directories(tmp.path() / "cur");
  std::ofstream(tmp.path() / "cur" / "m0") << "x";
  dir_watch watch;
  int h = watch.add(tmp.path() / "cur");
  REQUIRE(h >= 0);
  // Each rename queues two events; nobody reads until take().
  for (long i = 0; i <= limit / 2 + 1; ++i)
    fs::rename(tmp.path() / "cur" / ("m" + std::to_string(i)),
               tmp.path() / "cur" / ("m" + std::to_string(i + 1)));
  CHECK_FALSE(watch.take(h));
}
