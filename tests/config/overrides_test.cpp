// The -k [Section_Name:]option=value overrides.
#include "config/overrides.hpp"

#include "test_helpers.hpp"

#include <catch2/catch.hpp>

using namespace oimap::config;
using Catch::Matchers::Contains;
using oimap::config::test::error_text;

TEST_CASE("parse_override splits as OfflineIMAP does", "[overrides]") {
  const auto plain = parse_override("ui=basic");
  CHECK(plain.section == "general");
  CHECK(plain.option == "ui");
  CHECK(plain.value == "basic");

  const auto account = parse_override("Account_Personal:autorefresh=30");
  CHECK(account.section == "Account Personal");
  CHECK(account.option == "autorefresh");
  CHECK(account.value == "30");

  // The value starts after the first '=' and is kept verbatim.
  const auto odd = parse_override("Repository_My_Remote:remotepass= a:b=c ");
  CHECK(odd.section == "Repository My Remote");
  CHECK(odd.option == "remotepass");
  CHECK(odd.value == " a:b=c ");

  CHECK(parse_override("metadata=").value.empty());
}

TEST_CASE("malformed -k arguments are errors naming the argument", "[overrides]") {
  CHECK_THAT(error_text([] { parse_override("autorefresh"); }),
             Contains("-k autorefresh") && Contains("option=value"));
  CHECK_THAT(error_text([] { parse_override(":ui=basic"); }), Contains("-k :ui=..."));
  CHECK_THAT(error_text([] { parse_override("Account_X:=5"); }), Contains("-k Account_X:="));
  // The value, which may be a password, is never quoted.
  CHECK_THAT(error_text([] { parse_override("Repository_R:=hunter2"); }), !Contains("hunter2"));
}

TEST_CASE("apply_overrides sets values, later arguments win", "[overrides]") {
  auto file = config_file::parse("[general]\n"
                                 "accounts = Personal\n"
                                 "ui = ttyui\n"
                                 "[Account Personal]\n"
                                 "autorefresh = 5\n",
                                 "rc");
  apply_overrides(file, {"Account_Personal:autorefresh=30", "ui=quiet", "ui=basic",
                         "Repository_New_Repo:type=IMAP"});
  CHECK(file.get_double("Account Personal", "autorefresh", 0) == 30.0);
  CHECK(file.get("general", "ui") == "basic");
  CHECK(file.get("Repository New Repo", "type") == "IMAP");
  CHECK(file.where("Account Personal", "autorefresh")
        == "command line (-k Account_Personal:autorefresh)");
  // A bad value is reported against the -k argument, not the file.
  apply_overrides(file, {"Account_Personal:autorefresh=soon"});
  CHECK_THAT(error_text([&] { (void)file.get_double("Account Personal", "autorefresh", 0); }),
             Contains("command line (-k Account_Personal:autorefresh)") && Contains("'soon'"));
}

TEST_CASE("an override with a stray % is refused without quoting it", "[overrides]") {
  auto file = config_file::parse("[Repository R]\n", "rc");
  const auto text =
      error_text([&] { apply_overrides(file, {"Repository_R:remotepass=100%secret"}); });
  CHECK_THAT(text,
             Contains("Repository_R:remotepass") && !Contains("100%secret") && !Contains("secret"));
}
