// Sequence-set compression, size-bounded splitting and bounded parsing.
#include "protocol/seqset.hpp"

#include <algorithm>
#include <stdexcept>

namespace oimap::protocol {

namespace {

void append_range(std::string& out, const uid_range& r) {
  out += std::to_string(r.first);
  if (r.last != r.first) {
    out += ':';
    out += std::to_string(r.last);
  }
}

// seq-number = nz-number / "*";  nz-number = digit-nz *DIGIT
bool parse_seq_number(std::string_view s, std::size_t& i, std::optional<std::uint32_t> star,
                      std::uint32_t& out) {
  if (i < s.size() && s[i] == '*') {
    if (!star)
      return false;
    out = *star;
    ++i;
    return true;
  }
  if (i >= s.size() || s[i] < '1' || s[i] > '9')
    return false;
  std::uint64_t n = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    n = n * 10 + static_cast<std::uint64_t>(s[i] - '0');
    if (n > UINT32_MAX)
      return false;
    ++i;
  }
  out = static_cast<std::uint32_t>(n);
  return true;
}

} // namespace

std::vector<uid_range> to_ranges(std::span<const std::uint32_t> uids) {
  std::vector<std::uint32_t> sorted;
  if (!std::is_sorted(uids.begin(), uids.end())) {
    sorted.assign(uids.begin(), uids.end());
    std::sort(sorted.begin(), sorted.end());
    uids = sorted;
  }
  std::vector<uid_range> out;
  for (auto uid : uids) {
    if (uid == 0)
      throw std::invalid_argument("uid 0 in a sequence set");
    if (!out.empty() && uid <= std::uint64_t{out.back().last} + 1) {
      out.back().last = std::max(out.back().last, uid); // adjacent or duplicate
      continue;
    }
    out.push_back({uid, uid});
  }
  return out;
}

std::string to_string(std::span<const uid_range> ranges) {
  std::string out;
  for (const auto& r : ranges) {
    if (!out.empty())
      out += ',';
    append_range(out, r);
  }
  return out;
}

std::string compress_uids(std::span<const std::uint32_t> uids) {
  const auto ranges = to_ranges(uids);
  return to_string(ranges);
}

std::vector<std::string> split_uids(std::span<const std::uint32_t> uids, std::size_t max_bytes) {
  if (max_bytes < 21)
    throw std::invalid_argument("sequence set limit below the longest single range");
  std::vector<std::string> out;
  std::string cur, piece;
  for (const auto& r : to_ranges(uids)) {
    piece.clear();
    append_range(piece, r);
    if (!cur.empty() && cur.size() + 1 + piece.size() > max_bytes) {
      out.push_back(std::move(cur));
      cur.clear();
    }
    if (!cur.empty())
      cur += ',';
    cur += piece;
  }
  if (!cur.empty())
    out.push_back(std::move(cur));
  return out;
}

std::optional<std::vector<uid_range>> parse_ranges(std::string_view set,
                                                   std::optional<std::uint32_t> star) {
  std::vector<uid_range> out;
  std::size_t i = 0;
  for (;;) {
    std::uint32_t a, b;
    if (!parse_seq_number(set, i, star, a))
      return std::nullopt;
    b = a;
    if (i < set.size() && set[i] == ':') {
      ++i;
      if (!parse_seq_number(set, i, star, b))
        return std::nullopt;
    }
    out.push_back({std::min(a, b), std::max(a, b)});
    if (i == set.size())
      return out;
    if (set[i] != ',')
      return std::nullopt;
    ++i;
  }
}

std::optional<std::vector<std::uint32_t>> parse_uids(std::string_view set, std::size_t max_count,
                                                     std::optional<std::uint32_t> star) {
  const auto ranges = parse_ranges(set, star);
  if (!ranges)
    return std::nullopt;
  std::uint64_t total = 0;
  for (const auto& r : *ranges) {
    total += r.count();
    if (total > max_count)
      return std::nullopt;
  }
  std::vector<std::uint32_t> out;
  out.reserve(static_cast<std::size_t>(total));
  for (const auto& r : *ranges)
    for (std::uint64_t u = r.first; u <= r.last; ++u)
      out.push_back(static_cast<std::uint32_t>(u));
  return out;
}

} // namespace oimap::protocol
