// filterheaders over the raw header block, line by line.
#include "storage/header_filter.hpp"

#include <algorithm>
#include <cctype>

namespace oimap::storage {
namespace {

bool dropped(std::string_view line, const std::vector<std::string>& names) {
  const auto colon = line.find(':');
  if (colon == std::string_view::npos)
    return false;
  std::string_view name = line.substr(0, colon);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t'))
    name.remove_suffix(1); // obsolete syntax allows space before the colon
  return std::any_of(names.begin(), names.end(), [&](const std::string& n) {
    return n.size() == name.size()
           && std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
                return a == std::tolower(static_cast<unsigned char>(b));
              });
  });
}

} // namespace

std::optional<filtered_head>
filter_header_block(std::string_view text, const std::vector<std::string>& names, bool complete) {
  filtered_head out{{}, 0};
  bool dropping = false;
  std::size_t at = 0;
  while (at < text.size()) {
    const auto nl = text.find('\n', at);
    if (nl == std::string_view::npos && !complete)
      return std::nullopt;
    const std::size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    const std::string_view line = text.substr(at, end - at);
    if (line == "\n" || line == "\r\n") { // the end of the block
      out.head.append(line);
      out.length = end;
      return out;
    }
    const bool continuation = line[0] == ' ' || line[0] == '\t';
    if (!continuation)
      dropping = dropped(line, names);
    if (!dropping)
      out.head.append(line);
    at = end;
  }
  if (!complete)
    return std::nullopt;
  out.length = text.size();
  return out;
}

} // namespace oimap::storage
