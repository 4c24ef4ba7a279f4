// presynchook / postsynchook: how a hook is run and what comes back of it.
#include "sync/sync_hook.hpp"

#include "support/dovecot_fixture.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <fcntl.h>
#include <future>
#include <sys/stat.h>
#include <unistd.h>

using oimap::sync::run_hook;

TEST_CASE("a hook's output, both streams, and its exit status come back", "[sync_hook]") {
  auto r = run_hook("echo to-stdout; echo to-stderr >&2; exit 3", "full");
  CHECK(r.status == 3);
  CHECK(r.why.empty());
  CHECK(r.output == "to-stdout\nto-stderr\n");

  r = run_hook("kill -TERM $$", "full");
  CHECK(r.status == 128 + 15);
}

TEST_CASE("a hook is told the sync mode, as OfflineIMAP's are", "[sync_hook]") {
  // One set already in our environment is replaced, not doubled (the
  // shell's own environment, as it was started, shows that).
  ::setenv("OFFLINEIMAPSYNCMODE", "stale", 1);
  auto r = run_hook("echo \"$OFFLINEIMAPSYNCMODE\"; tr '\\0' '\\n' < /proc/$$/environ | grep -c "
                    "'^OFFLINEIMAPSYNCMODE='",
                    "quick");
  ::unsetenv("OFFLINEIMAPSYNCMODE");
  CHECK(r.status == 0);
  CHECK(r.output == "quick\n1\n");
}

TEST_CASE("a hook reads nothing from our stdin", "[sync_hook]") {
  // Our stdin, for the while, is a pipe holding a line: a hook given it
  // would print that.
  int p[2];
  REQUIRE(::pipe(p) == 0);
  REQUIRE(::write(p[1], "ours\n", 5) == 5);
  ::close(p[1]);
  const int saved = ::dup(0);
  ::dup2(p[0], 0);
  ::close(p[0]);
  auto r = run_hook("cat; echo after-cat", "full");
  ::dup2(saved, 0);
  ::close(saved);
  CHECK(r.status == 0);
  CHECK(r.output == "after-cat\n");
}

TEST_CASE("a background process that keeps the hook's output open is not waited for",
          "[sync_hook]") {
  oimap::test::temp_dir dir;
  const auto fifo = (dir.path() / "release").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // The background reader holds the output pipe until the test writes to
  // the fifo; the shell itself exits at once.
  auto hook = std::async(std::launch::async, [&] {
    return run_hook("read x < '" + fifo + "' & echo started", "full");
  });
  const bool returned = hook.wait_for(std::chrono::seconds(30)) == std::future_status::ready;
  // Release the background reader either way, so that nothing is left behind.
  const int w = ::open(fifo.c_str(), O_WRONLY);
  REQUIRE(w >= 0);
  REQUIRE(::write(w, "x\n", 2) == 2);
  ::close(w);
  REQUIRE(returned);
  const auto r = hook.get();
  CHECK(r.status == 0);
  CHECK(r.output == "started\n");
}
