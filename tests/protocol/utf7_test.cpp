// Tests of modified UTF-7 mailbox name encoding (RFC 3501 §5.1.3).
#include "protocol/utf7.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

using namespace oimap::protocol;
using namespace std::string_literals;

namespace {

void round_trip(const std::string& utf8, const std::string& utf7) {
  INFO(utf8 << " <-> " << utf7);
  CHECK(to_imap_utf7(utf8) == utf7);
  const auto back = from_imap_utf7(utf7);
  REQUIRE(back.has_value());
  CHECK(*back == utf8);
}

} // namespace

TEST_CASE("modified UTF-7 round trips", "[utf7]") {
  round_trip("", "");
  round_trip("INBOX", "INBOX");
  round_trip("a b/c.d~e", "a b/c.d~e");
  round_trip("&", "&-");
  round_trip("Tom & Jerry &&", "Tom &- Jerry &-&-");
  round_trip("Entw\xc3\xbcrfe", "Entw&APw-rfe");
  round_trip("\xc3\xa4\xc3\xb6\xc3\xbc", "&AOQA9gD8-"); // one run for adjacent characters
  // RFC 3501's example.
  round_trip("~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
             "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
  // Japanese: "送信済みメール" (Sent mail)
  round_trip("\xe9\x80\x81\xe4\xbf\xa1\xe6\xb8\x88\xe3\x81\xbf\xe3\x83\xa1\xe3\x83\xbc\xe3\x83\xab",
             "&kAFP4W4IMH8w4TD8MOs-");
  // U+1F600 needs a surrogate pair: D83D DE00.
  round_trip("\xf0\x9f\x98\x80", "&2D3eAA-");
  round_trip("a\xf0\x9f\x98\x80"
             "b\xf0\x9f\x98\x80\xf0\x9f\x98\x81",
             "a&2D3eAA-b&2D3eANg93gE-");
  // Control characters and DEL are not printable, so they are encoded.
  round_trip("a\tb\x7f", "a&AAk-b&AH8-");
  // "," in base64 stands for "/": U+FFFF is 0xFFFF -> "//8" -> ",,8".
  round_trip("\xef\xbf\xbf", "&,,8-");
}

TEST_CASE("encoding refuses invalid UTF-8", "[utf7]") {
  for (const auto& bad : {"\xff"s, "\xc3"s, "\xc3\x28"s, "\xc0\xaf"s /* overlong "/" */,
                          "\xe0\x80\xaf"s, "\xed\xa0\x80"s /* encoded surrogate */,
                          "\xf4\x90\x80\x80"s /* above U+10FFFF */, "a\0b"s, "\xf0\x9f\x98"s}) {
    INFO("input bytes: " << bad.size());
    CHECK_FALSE(try_to_imap_utf7(bad).has_value());
    CHECK_THROWS_AS(to_imap_utf7(bad), std::invalid_argument);
  }
}

TEST_CASE("decoding refuses anything but the canonical form", "[utf7]") {
  for (const auto& bad : {
           "&"s,               // unterminated
           "&APw"s,            // unterminated run
           "Entw&APw"s,        // same, in a name
           "&-&"s,             //
           "&A-"s,             // 6 bits: not a whole UTF-16 unit
           "&AP-"s,            // 12 bits
           "&APx-"s,           // U+00FC with non-zero padding bits
           "&APwA-"s,          // excess bits: a whole sextet of padding
           "&AGE-"s,           // "a" encoded though it stands for itself
           "&ACY-"s,           // "&" encoded instead of "&-"
           "&APw-&APw-"s,      // two adjacent runs instead of one
           "&A*w-"s,           // not modified base64
           "&APw/-"s,          // "/" is "," in modified base64
           "&APw=-"s,          // no "=" padding
           "&2D0-"s,           // lone high surrogate
           "&2D0AYQ-"s,        // high surrogate followed by a non-surrogate
           "&3gA-"s,           // lone low surrogate
           "&AAA-"s,           // NUL
           "Entw\xc3\xbcrfe"s, // raw 8-bit
           "a\tb"s,            // raw control character
           "a\x7f"s,           // raw DEL
       }) {
    INFO(bad);
    CHECK_FALSE(from_imap_utf7(bad).has_value());
  }
}
