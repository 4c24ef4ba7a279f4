// Tests for leave_process: the exit code goes through, and a child takes the inotify instances
// over.
#include "storage/leave_process.hpp"

#include "temp_dir.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <climits>
#include <string>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace oimap::storage;

namespace {

// What a process calling leave_process left behind, seen by its subreaper.
struct departure {
  int code = -1;            // the leaver's exit code
  std::string output;       // what it wrote on stdout, read to the end
  int others = 0;           // processes orphaned by it and reaped after it
  bool others_ended = true; // each of them exited 0 on its own
};

// Runs leaver in a grandchild whose stdout is a pipe, under a child that
// becomes its subreaper: the leaver's orphans come back to that child, which
// reaps them. An alarm ends the child if anything hangs.
template <class Leaver> departure leave_under_reaper(Leaver leaver) {
  int report[2];
  REQUIRE(::pipe(report) == 0);
  const pid_t reaper = ::fork();
  REQUIRE(reaper >= 0);
  if (reaper == 0) {
    ::close(report[0]);
    ::alarm(60);
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    int out[2];
    if (::pipe(out) != 0)
      ::_exit(100);
    const pid_t leaving = ::fork();
    if (leaving == 0) {
      ::dup2(out[1], 1);
      ::close_range(3, UINT_MAX, 0); // nothing inherited from the test process
      leaver();
      ::_exit(101); // leaver must not return
    }
    ::close(out[1]);
    departure d;
    int st = 0;
    ::waitpid(leaving, &st, 0);
    d.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    char buf[256];
    for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;)
      d.output.append(buf, static_cast<size_t>(n));
    for (pid_t p; (p = ::wait(&st)) > 0;) {
      ++d.others;
      // Gone on its own, once the leaver's files were all closed.
      d.others_ended = d.others_ended && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    std::string line = std::to_string(d.code) + " " + std::to_string(d.others) + " "
                       + (d.others_ended ? "1" : "0") + " " + d.output;
    (void)!::write(report[1], line.data(), line.size());
    ::_exit(0);
  }
  ::close(report[1]);
  std::string line;
  char buf[256];
  for (ssize_t n; (n = ::read(report[0], buf, sizeof buf)) > 0;)
    line.append(buf, static_cast<size_t>(n));
  ::close(report[0]);
  int st = 0;
  ::waitpid(reaper, &st, 0);
  INFO("reaper status " << st << ", report '" << line << "'");
  REQUIRE(WIFEXITED(st));
  REQUIRE(WEXITSTATUS(st) == 0);
  departure d;
  size_t a = line.find(' '), b = line.find(' ', a + 1), c = line.find(' ', b + 1);
  REQUIRE(c != std::string::npos);
  d.code = std::stoi(line.substr(0, a));
  d.others = std::stoi(line.substr(a + 1, b - a - 1));
  d.others_ended = line.substr(b + 1, c - b - 1) == "1";
  d.output = line.substr(c + 1);
  return d;
}

} // namespace

TEST_CASE("inotify_descriptors finds the open inotify instances and nothing else",
          "[leave_process]") {
  const int ino = ::inotify_init1(IN_CLOEXEC);
  REQUIRE(ino >= 0);
  int found[64];
  int n = inotify_descriptors(found, 64);
  CHECK(std::count(found, found + n, ino) == 1);
  CHECK(std::count(found, found + n, 1) == 0);
  ::close(ino);
  n = inotify_descriptors(found, 64);
  CHECK(std::count(found, found + n, ino) == 0);
}

TEST_CASE("leaving with an inotify instance open passes the code on and a child ends after it",
          "[leave_process]") {
  test::temp_dir tmp;
  const auto dir = tmp.path();
  auto d = leave_under_reaper([dir] {
    const int ino = ::inotify_init1(IN_CLOEXEC);
    if (ino < 0 || ::inotify_add_watch(ino, dir.c_str(), IN_CREATE) < 0)
      ::_exit(102);
    (void)!::write(1, "written", 7);
    leave_process(7);
  });
  CHECK(d.code == 7);
  CHECK(d.output == "written");
  // The child that held the instance: it ends when the leaver is gone.
  CHECK(d.others == 1);
  CHECK(d.others_ended);
}

TEST_CASE("leaving without an inotify instance makes no child", "[leave_process]") {
  auto d = leave_under_reaper([] {
    (void)!::write(1, "plain", 5);
    leave_process(3);
  });
  CHECK(d.code == 3);
  CHECK(d.output == "plain");
  CHECK(d.others == 0);
}
