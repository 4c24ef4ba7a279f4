// expand_user / expand_vars / default_config_path against Python's os.path behaviour.
#include "config/paths.hpp"

#include "test_helpers.hpp"

#include <catch2/catch.hpp>

#include <pwd.h>
#include <unistd.h>

using namespace oimap::config;
using oimap::config::test::scoped_env;
using oimap::config::test::temp_dir;

TEST_CASE("expand_user follows os.path.expanduser", "[paths]") {
  const scoped_env home("HOME", "/home/tester/");
  CHECK(expand_user("~") == "/home/tester"); // trailing '/' of HOME dropped
  CHECK(expand_user("~/Mail") == "/home/tester/Mail");
  CHECK(expand_user("/abs/~/x") == "/abs/~/x");
  CHECK(expand_user("rel/path") == "rel/path");
  CHECK(expand_user("~nosuchuser_oimap/x") == "~nosuchuser_oimap/x");
  // "~root" comes from the password database, whatever HOME says.
  const passwd* root = getpwnam("root");
  REQUIRE(root != nullptr);
  CHECK(expand_user("~root/x") == std::string(root->pw_dir) + "/x");
  SECTION("an empty HOME still counts as set") {
    const scoped_env empty("HOME", "");
    CHECK(expand_user("~") == "/");
    CHECK(expand_user("~/x") == "/x");
  }
  SECTION("without HOME the passwd entry is used") {
    const scoped_env unset("HOME", std::nullopt);
    const passwd* me = getpwuid(getuid());
    REQUIRE(me != nullptr);
    std::string dir = me->pw_dir;
    while (dir.size() > 1 && dir.back() == '/') {
      dir.pop_back();
    }
    CHECK(expand_user("~/x") == (dir == "/" ? "" : dir) + "/x");
  }
}

TEST_CASE("expand_vars follows os.path.expandvars", "[paths]") {
  const scoped_env x("OIMAP_X", "ex");
  const scoped_env empty("OIMAP_EMPTY", "");
  const scoped_env unset("OIMAP_UNSET", std::nullopt);
  CHECK(expand_vars("$OIMAP_X/a") == "ex/a");
  CHECK(expand_vars("${OIMAP_X}y") == "exy");
  CHECK(expand_vars("$OIMAP_Xy") == "$OIMAP_Xy"); // the name runs to the last word char
  CHECK(expand_vars("a$OIMAP_EMPTY.b") == "a.b");
  CHECK(expand_vars("$OIMAP_UNSET/${OIMAP_UNSET}") == "$OIMAP_UNSET/${OIMAP_UNSET}");
  CHECK(expand_vars("cost: $5 and $") == "cost: $5 and $");
  CHECK(expand_vars("${OIMAP_X") == "${OIMAP_X"); // unclosed brace
  CHECK(expand_vars("${}") == "${}");
  CHECK(expand_vars("$$OIMAP_X") == "$ex");
  SECTION("substituted text is not expanded again") {
    const scoped_env nested("OIMAP_NESTED", "$OIMAP_X");
    CHECK(expand_vars("$OIMAP_NESTED") == "$OIMAP_X");
  }
}

TEST_CASE("expand_path: ~ first, then variables", "[paths]") {
  const scoped_env home("HOME", "/home/tester");
  const scoped_env mail("OIMAP_MAILDIR", "Maildir");
  CHECK(expand_path("~/$OIMAP_MAILDIR") == "/home/tester/Maildir");
  CHECK(expand_path("$HOME/Mail") == "/home/tester/Mail");
  CHECK(expand_path("${HOME}/Mail") == "/home/tester/Mail");
  // expandvars runs second, so a variable holding '~' keeps it.
  const scoped_env tilde("OIMAP_TILDE", "~/t");
  CHECK(expand_path("$OIMAP_TILDE") == "~/t");
}

TEST_CASE("default_config_path: -c, then XDG, then ~/.offlineimaprc", "[paths]") {
  const temp_dir dir;
  const scoped_env home("HOME", dir.path().string());
  const scoped_env xdg_unset("XDG_CONFIG_HOME", std::nullopt);

  CHECK(default_config_path(std::string("~/my.rc")) == dir.path() / "my.rc");
  CHECK(default_config_path(std::string("/etc/x")) == "/etc/x");

  CHECK(default_config_path(std::nullopt) == dir.path() / ".offlineimaprc");
  dir.write(".config/offlineimap/config", "[general]\n");
  CHECK(default_config_path(std::nullopt) == dir.path() / ".config/offlineimap/config");

  SECTION("XDG_CONFIG_HOME is honoured when set and non-empty") {
    const scoped_env xdg("XDG_CONFIG_HOME", (dir.path() / "xdg").string());
    CHECK(default_config_path(std::nullopt) == dir.path() / ".offlineimaprc");
    dir.write("xdg/offlineimap/config", "");
    CHECK(default_config_path(std::nullopt) == dir.path() / "xdg/offlineimap/config");
  }
  SECTION("an empty XDG_CONFIG_HOME means ~/.config") {
    const scoped_env xdg("XDG_CONFIG_HOME", "");
    CHECK(default_config_path(std::nullopt) == dir.path() / ".config/offlineimap/config");
  }
}
