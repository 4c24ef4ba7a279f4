// Bool/int/float/list conversions against Python's getboolean, int() and float().
#include "config/typed_value.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

using namespace oimap::config;

TEST_CASE("parse_bool accepts configparser's spellings only", "[typed_value]") {
  for (const char* yes : {"1", "yes", "YES", "True", "true", "on", "On"}) {
    CHECK(parse_bool(yes) == true);
  }
  for (const char* no : {"0", "no", "No", "FALSE", "false", "off", "OFF"}) {
    CHECK(parse_bool(no) == false);
  }
  for (const char* bad : {"", "y", "n", "2", "enabled", " yes", "yes "}) {
    CHECK_FALSE(parse_bool(bad).has_value());
  }
}

TEST_CASE("parse_int follows Python int()", "[typed_value]") {
  CHECK(parse_int("42") == 42);
  CHECK(parse_int(" 5 ") == 5);
  CHECK(parse_int("+7") == 7);
  CHECK(parse_int("-1") == -1);
  CHECK(parse_int("042") == 42);
  CHECK(parse_int("1_000") == 1000);
  CHECK(parse_int("9223372036854775807") == std::numeric_limits<long long>::max());
  CHECK(parse_int("-9223372036854775808") == std::numeric_limits<long long>::min());
  for (const char* bad :
       {"", "1_", "_1", "1__0", "0x10", "5.0", "1e3", "+-1", "- 1", "12a", "9223372036854775808"}) {
    CHECK_FALSE(parse_int(bad).has_value());
  }
}

TEST_CASE("parse_double follows Python float()", "[typed_value]") {
  CHECK(parse_double("1e3") == 1000.0);
  CHECK(parse_double(".5") == 0.5);
  CHECK(parse_double("5.") == 5.0);
  CHECK(parse_double(" -2.25 ") == -2.25);
  CHECK(parse_double("+3") == 3.0);
  CHECK(parse_double("1_0.5") == 10.5);
  CHECK(std::isinf(*parse_double("inf")));
  CHECK(std::isinf(*parse_double("Infinity")));
  CHECK(std::isnan(*parse_double("nan")));
  for (const char* bad : {"", "1e", "+-1", "nan(1)", "1_e5", "0x1p3", "abc", "1.2.3"}) {
    CHECK_FALSE(parse_double(bad).has_value());
  }
}

TEST_CASE("split_list trims and drops empty items", "[typed_value]") {
  CHECK(split_list("a, b,,c ,") == std::vector<std::string>{"a", "b", "c"});
  CHECK(split_list("Personal") == std::vector<std::string>{"Personal"});
  CHECK(split_list("").empty());
  CHECK(split_list(" , ").empty());
}
