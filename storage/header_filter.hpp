// filterheaders: a message's header block with some fields left out.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oimap::storage {

struct filtered_head {
  std::string head;   // the kept fields and the empty line that ends the block
  std::size_t length; // the block's length in the input
};

// The header block at the start of text, up to and including the first
// empty line (LF or CRLF); without one, all of text. Each field whose name
// equals one of names (lower-case; compared case-insensitively) is left
// out with its continuation lines; the rest is kept byte for byte. nullopt
// while text may not yet hold the whole block (no empty line, and
// complete is false).
std::optional<filtered_head>
filter_header_block(std::string_view text, const std::vector<std::string>& names, bool complete);

} // namespace oimap::storage
