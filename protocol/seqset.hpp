// Sequence sets (RFC 3501 §9 sequence-set): compressing uid lists, splitting, parsing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace oimap::protocol {

// An inclusive range first..last with first <= last; a single number has first == last.
struct uid_range {
  std::uint32_t first = 0;
  std::uint32_t last = 0;
  std::uint64_t count() const { return std::uint64_t{last} - first + 1; }
  bool operator==(const uid_range&) const = default;
};

// Consecutive uids merged into ranges. Input need not be sorted and may hold
// duplicates. Throws std::invalid_argument on uid 0, which is never valid.
std::vector<uid_range> to_ranges(std::span<const std::uint32_t> uids);

// "1:5,7,9:12"; empty input gives "".
std::string to_string(std::span<const uid_range> ranges);
std::string compress_uids(std::span<const std::uint32_t> uids);

// The ranges as several sets, each at most max_bytes long, so each command
// built from one stays under the server's line limit (~8 KB is safe).
// Throws std::invalid_argument when max_bytes < 21, the longest single range
// ("4294967295:4294967295").
std::vector<std::string> split_uids(std::span<const std::uint32_t> uids, std::size_t max_bytes);

// sequence-set = (seq-number / seq-range) ["," sequence-set]
// seq-range = seq-number ":" seq-number;  seq-number = nz-number / "*"
// Ranges come back in the order written, each with first <= last ("5:3" is
// 3:5); COPYUID pairs its two sets by that order. "*" stands for star when
// given and is an error otherwise. nullopt on any syntax error, 0, or a
// number above 4294967295.
std::optional<std::vector<uid_range>> parse_ranges(std::string_view set,
                                                   std::optional<std::uint32_t> star = {});

// The uids of a set, in the order written. nullopt on a syntax error or when
// the set holds more than max_count uids (a hostile "1:4294967295" would
// otherwise take 16 GB), checked before anything is allocated.
std::optional<std::vector<std::uint32_t>> parse_uids(std::string_view set,
                                                     std::size_t max_count = 1'000'000,
                                                     std::optional<std::uint32_t> star = {});

} // namespace oimap::protocol
