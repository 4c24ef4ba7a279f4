// filterheaders over a header block: which lines go, which stay byte for byte.
#include "storage/header_filter.hpp"

#include <catch2/catch.hpp>

using namespace oimap::storage;

namespace {

const std::vector<std::string> spam{"x-spam", "x-keywords"};

struct row {
  const char* text;
  const char* head; // what is kept of the block
  std::size_t length;
};

} // namespace

TEST_CASE("fields are left out by name, with their continuation lines", "[header_filter]") {
  const row rows[] = {
      // Case-insensitive names; a longer name is another field.
      {"X-SPAM: 1\nX-Spam-Score: 2\nSubject: s\n\nbody", "X-Spam-Score: 2\nSubject: s\n\n", 38},
      // Folded lines go with their field, and only theirs.
      {"X-Spam: 1\n 2\n\t3\nTo: t\n  folded\n\nb", "To: t\n  folded\n\n", 32},
      // CRLF files, and space before the colon (obsolete syntax).
      {"X-Keywords : k\r\nFrom: f\r\n\r\nbody", "From: f\r\n\r\n", 27},
      // No field to drop: the block as it is.
      {"From: f\nTo: t\n\nbody\n", "From: f\nTo: t\n\n", 15},
      // A message that is all header.
      {"X-Spam: 1\nFrom: f\n", "From: f\n", 18},
      // An empty block, and a line without a colon kept.
      {"\nbody", "\n", 1},
      {"garbage line\nX-Spam: y\n\n", "garbage line\n\n", 24},
  };
  for (const auto& r : rows) {
    INFO(r.text);
    const auto out = filter_header_block(r.text, spam, true);
    REQUIRE(out);
    CHECK(out->head == r.head);
    CHECK(out->length == r.length);
  }
}

TEST_CASE("a block not yet complete waits for more", "[header_filter]") {
  CHECK_FALSE(filter_header_block("From: f\nX-Spam: 1\n", spam, false));
  CHECK_FALSE(filter_header_block("From: f\nX-Sp", spam, false));
  CHECK(filter_header_block("From: f\n\n", spam, false)->head == "From: f\n\n");
  // Fed a byte at a time, it answers once the empty line is in.
  const std::string text = "X-Spam: 1\n 2\nFrom: f\n\nbody";
  std::optional<filtered_head> got;
  std::size_t fed = 0;
  while (!got && fed < text.size())
    got = filter_header_block(std::string_view(text).substr(0, ++fed), spam, false);
  REQUIRE(got);
  CHECK(fed == 22);
  CHECK(got->head == "From: f\n\n");
  CHECK(got->length == 22);
}
