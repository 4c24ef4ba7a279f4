// Tests for md5: RFC 1321's test vectors, whole and fed in pieces.
#include "storage/md5.hpp"

#include <catch2/catch.hpp>

using namespace oimap::storage;

TEST_CASE("md5 gives RFC 1321's digests as lowercase hex", "[md5]") {
  CHECK(md5_hex("") == "d41d8cd98f00b204e9800998ecf8427e");
  CHECK(md5_hex("abc") == "900150983cd24fb0d6963f7d28e17f72");
  CHECK(md5_hex("message digest") == "f96b697d7cb7938d525a2f31aaf161d0");
}

TEST_CASE("md5 fed in pieces equals md5 of the whole", "[md5]") {
  const std::string text =
      "12345678901234567890123456789012345678901234567890123456789012345678901234567890";
  md5_hasher h;
  for (std::size_t i = 0; i < text.size(); i += 7)
    h.update(std::string_view(text).substr(i, 7));
  CHECK(h.hex() == "57edf4a22be3c955ac49da2e2107b67a");
  CHECK(md5_hex(text) == "57edf4a22be3c955ac49da2e2107b67a");
}
