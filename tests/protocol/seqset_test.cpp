// Tests of sequence sets: compression, size-bounded splitting, bounded parsing.
#include "protocol/seqset.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

using namespace oimap::protocol;

namespace {

std::string compress(std::vector<std::uint32_t> uids) {
  return compress_uids(uids);
}

} // namespace

TEST_CASE("uid lists compress into ranges", "[seqset]") {
  CHECK(compress({}) == "");
  CHECK(compress({7}) == "7");
  CHECK(compress({1, 2, 3, 4, 5, 7, 9, 10, 11, 12}) == "1:5,7,9:12");
  CHECK(compress({1, 3, 5}) == "1,3,5");
  CHECK(compress({4294967294u, 4294967295u}) == "4294967294:4294967295");
  // Unsorted input and duplicates are fine.
  CHECK(compress({12, 9, 1, 3, 2, 10, 11, 3, 1}) == "1:3,9:12");
  CHECK_THROWS_AS(compress({0, 1}), std::invalid_argument);

  const std::vector<std::uint32_t> uids{5, 6, 8};
  const auto ranges = to_ranges(uids);
  REQUIRE(ranges.size() == 2);
  CHECK(ranges[0] == uid_range{5, 6});
  CHECK(ranges[0].count() == 2);
  CHECK(ranges[1] == uid_range{8, 8});
  CHECK(to_string(ranges) == "5:6,8");
}

TEST_CASE("long sets split into pieces under a byte limit", "[seqset]") {
  // Every other uid, so nothing merges: 1,3,5,...
  std::vector<std::uint32_t> uids;
  for (std::uint32_t u = 1; u < 200000; u += 2)
    uids.push_back(u);
  const auto pieces = split_uids(uids, 8000);
  REQUIRE(pieces.size() > 1);
  std::vector<std::uint32_t> back;
  for (const auto& p : pieces) {
    CHECK(p.size() <= 8000);
    CHECK(p.front() != ',');
    CHECK(p.back() != ',');
    const auto part = parse_uids(p);
    REQUIRE(part.has_value());
    back.insert(back.end(), part->begin(), part->end());
  }
  CHECK(back == uids); // nothing lost, nothing repeated, order kept
  // Pieces are filled: all but the last leave no room for the next range.
  for (std::size_t i = 0; i + 1 < pieces.size(); ++i)
    CHECK(pieces[i].size() + 1 + pieces[i + 1].substr(0, pieces[i + 1].find(',')).size() > 8000);

  CHECK(split_uids(std::vector<std::uint32_t>{}, 100).empty());
  const std::vector<std::uint32_t> one_range{1, 2, 3};
  CHECK(split_uids(one_range, 21) == std::vector<std::string>{"1:3"});
  const std::vector<std::uint32_t> few{1, 3, 5, 7};
  CHECK(split_uids(few, 21) == std::vector<std::string>{"1,3,5,7"});
  const std::vector<std::uint32_t> big{4294967290u, 4294967291u, 4294967293u, 4294967294u};
  CHECK(split_uids(big, 21)
        == std::vector<std::string>{"4294967290:4294967291", "4294967293:4294967294"});
  CHECK_THROWS_AS(split_uids(few, 20), std::invalid_argument);
}

TEST_CASE("sets parse into ranges and uids", "[seqset]") {
  const auto r = parse_ranges("41,43:116,5:3");
  REQUIRE(r.has_value());
  REQUIRE(r->size() == 3);
  CHECK((*r)[0] == uid_range{41, 41});
  CHECK((*r)[1] == uid_range{43, 116});
  CHECK((*r)[2] == uid_range{3, 5}); // reversed ranges are normalised

  const auto appenduid = parse_uids("3955:3957");
  REQUIRE(appenduid.has_value());
  CHECK(*appenduid == std::vector<std::uint32_t>{3955, 3956, 3957});
  // COPYUID pairs two sets by position, so the order written is kept.
  CHECK(*parse_uids("304,319:320") == std::vector<std::uint32_t>{304, 319, 320});
  CHECK(*parse_uids("9,2") == std::vector<std::uint32_t>{9, 2});
  CHECK(*parse_uids("4294967295") == std::vector<std::uint32_t>{4294967295u});

  // "*" only where the caller says what it means.
  CHECK_FALSE(parse_ranges("1:*").has_value());
  const auto star = parse_ranges("1:*", 40);
  REQUIRE(star.has_value());
  CHECK((*star)[0] == uid_range{1, 40});
  CHECK(*parse_uids("*", 10, 7) == std::vector<std::uint32_t>{7});

  for (const char* bad : {"", ",", "1,", ",1", "0", "1:0", "01", "1::2", "1:2:3", "a", "1 2",
                          "4294967296", "99999999999999999999", "1-3", "1,,2", ":3"}) {
    INFO(bad);
    CHECK_FALSE(parse_ranges(bad).has_value());
    CHECK_FALSE(parse_uids(bad).has_value());
  }
}

TEST_CASE("absurd sets are refused before anything is allocated", "[seqset]") {
  // The ranges themselves are cheap to hold...
  const auto r = parse_ranges("1:4294967295");
  REQUIRE(r.has_value());
  CHECK((*r)[0].count() == 4294967295u);
  // ...but expanding them is bounded.
  CHECK_FALSE(parse_uids("1:4294967295").has_value());
  CHECK_FALSE(parse_uids("1:600000,700000:1200000").has_value()); // sum over the default
  CHECK_FALSE(parse_uids("1:11", 10).has_value());
  const auto ten = parse_uids("1:10", 10);
  REQUIRE(ten.has_value());
  CHECK(ten->size() == 10);
}
