// .netrc entries as Python's netrc module finds them, and the owner-only rule for ~/.netrc.
#include "config/netrc.hpp"

#include "config/config_error.hpp"
#include "test_helpers.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sys/stat.h>

using namespace oimap::config;
using Catch::Matchers::Contains;
using oimap::config::test::error_text;
using oimap::config::test::temp_dir;

namespace {

std::filesystem::path write_netrc(const temp_dir& dir, const std::string& text,
                                  mode_t mode = 0600) {
  const auto file = dir.path() / "netrc";
  std::ofstream(file) << text;
  ::chmod(file.c_str(), mode);
  return file;
}

} // namespace

TEST_CASE("the machine's entry, else the default one", "[netrc]") {
  temp_dir dir;
  const auto file = write_netrc(dir, "# mail servers\n"
                                     "machine imap.example.org login alice password s3cret\n"
                                     "machine other.example login bob\n"
                                     "  password \"two words\" account x\n"
                                     "macdef init\ncd /pub\nls\n\n"
                                     "default login anonymous password guest@\n");
  auto e = netrc_lookup(file, "imap.example.org", true);
  REQUIRE(e);
  CHECK(e->login == "alice");
  REQUIRE(e->password);
  CHECK(e->password->reveal() == "s3cret");

  e = netrc_lookup(file, "other.example", true);
  REQUIRE(e);
  CHECK(e->login == "bob");
  CHECK(e->password->reveal() == "two words");

  e = netrc_lookup(file, "unknown.example", true);
  REQUIRE(e);
  CHECK(e->login == "anonymous");

  CHECK_FALSE(netrc_lookup(dir.path() / "missing", "imap.example.org", true));
}

TEST_CASE("a ~/.netrc others may read gives no password", "[netrc]") {
  temp_dir dir;
  const auto file = write_netrc(dir, "machine m login u password p\n", 0644);
  const auto message = error_text([&] { netrc_lookup(file, "m", true); });
  CHECK_THAT(message, Contains(file.string()) && Contains("chmod 600"));
  CHECK_THAT(message, !Contains(" p "));
  // /etc/netrc is the administrator's business, as in Python.
  CHECK(netrc_lookup(file, "m", false)->password->reveal() == "p");
}

TEST_CASE("a netrc Python would not parse is an error naming the file", "[netrc]") {
  temp_dir dir;
  const auto file = write_netrc(dir, "machine m login u pasword p\n");
  CHECK_THAT(error_text([&] { netrc_lookup(file, "m", true); }),
             Contains(file.string()) && Contains("'pasword'"));
}
