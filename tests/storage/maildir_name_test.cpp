// Tests for OfflineIMAP-compatible Maildir file names.
#include "storage/maildir_name.hpp"

#include <catch2/catch.hpp>
#include <unistd.h>

using namespace oimap::storage;

namespace {
// printf INBOX.Sent | md5sum
const std::string sent_md5 = "dd2c1d98c3e9c5f84458a490730ccd62";
} // namespace

TEST_CASE("folder_md5 is md5 hex of the visible name", "[maildir_name]") {
  CHECK(folder_md5("INBOX") == "7e33429f656f1e6e9d79b29c3f82c57e");
  CHECK(folder_md5("INBOX.Sent") == sent_md5);
  CHECK(folder_md5("a/b") == "a7e86136543b019d72468ceebf71fb8e");
  CHECK(folder_md5("") == "d41d8cd98f00b204e9800998ecf8427e");
}

TEST_CASE("new names follow OfflineIMAP's format", "[maildir_name]") {
  name_origin o{1700000000, 3, 4242, "my/host"};
  CHECK(unique_part(o) == "1700000000_3.4242.my-host");
  CHECK(format_name(unique_part(o), 17, sent_md5, (flag_set(flag::seen) | flag::flagged), false)
        == "1700000000_3.4242.my-host,U=17,FMD5=" + sent_md5 + ":2,FS");
  CHECK(format_name(unique_part(o), 17, sent_md5, flag_set(), true)
        == "1700000000_3.4242.my-host,U=17,FMD5=" + sent_md5 + "!2,");
  CHECK(format_name("u", 1, "m", flag_set(flag_set::all_bits), false) == "u,U=1,FMD5=m:2,DFRST");
}

TEST_CASE("next_name_origin never repeats within a process", "[maildir_name]") {
  name_origin a = next_name_origin();
  name_origin b = next_name_origin();
  CHECK(a.pid == static_cast<long>(::getpid()));
  CHECK(b.seq > a.seq);
  CHECK(unique_part(a) != unique_part(b));
  CHECK(a.time > 1600000000);
  CHECK(!a.hostname.empty());
}

TEST_CASE("format then parse round-trips", "[maildir_name]") {
  for (bool windows : {false, true}) {
    for (std::uint8_t bits = 0; bits <= flag_set::all_bits; ++bits) {
      std::string name =
          format_name("1700000000_3.4242.host", 4000000000u, sent_md5, flag_set(bits), windows);
      parsed_name p = parse_name(name, sent_md5, windows);
      CHECK(p.key == "1700000000_3.4242.host,U=4000000000,FMD5=" + sent_md5);
      REQUIRE(p.uid);
      CHECK(*p.uid == 4000000000u);
      CHECK(p.fmd5 == sent_md5);
      CHECK(p.flags == flag_set(bits));
    }
  }
}

TEST_CASE("the info separator must match the windows option", "[maildir_name]") {
  std::string win = "1_0.1.h,U=5,FMD5=" + sent_md5 + "!2,S";
  parsed_name as_unix = parse_name(win, sent_md5, false);
  CHECK(as_unix.key == win);
  CHECK(as_unix.flags.empty());
  parsed_name as_win = parse_name(win, sent_md5, true);
  CHECK(as_win.key == "1_0.1.h,U=5,FMD5=" + sent_md5);
  CHECK(as_win.flags == flag_set(flag::seen));
  CHECK(as_win.uid == 5u);
}

TEST_CASE("a foreign or missing FMD5 makes the message new", "[maildir_name]") {
  parsed_name foreign =
      parse_name("1_0.1.h,U=5,FMD5=" + folder_md5("INBOX") + ":2,S", sent_md5, false);
  CHECK_FALSE(foreign.uid);
  CHECK(foreign.fmd5 == folder_md5("INBOX"));
  CHECK(foreign.flags == flag_set(flag::seen));

  parsed_name no_fmd5 = parse_name("1_0.1.h,U=5:2,S", sent_md5, false);
  CHECK_FALSE(no_fmd5.uid);
  CHECK(no_fmd5.fmd5.empty());

  // An FMD5 that merely starts with ours is another folder's.
  CHECK_FALSE(parse_name("1_0.1.h,U=5,FMD5=" + sent_md5 + "ab:2,", sent_md5, false).uid);
}

TEST_CASE("names from other programs and odd UIDs", "[maildir_name]") {
  parsed_name plain = parse_name("1700000000.M123P456.host", sent_md5, false);
  CHECK(plain.key == "1700000000.M123P456.host");
  CHECK_FALSE(plain.uid);
  CHECK(plain.flags.empty());

  parsed_name dovecot = parse_name("1700000000.M1P2.host,S=1234,W=1260:2,PSabT", sent_md5, false);
  CHECK(dovecot.key == "1700000000.M1P2.host,S=1234,W=1260");
  CHECK(dovecot.flags == (flag_set(flag::seen) | flag::trashed));

  auto uid_of = [](const std::string& u) {
    return parse_name("k,U=" + u + ",FMD5=" + sent_md5 + ":2,", sent_md5, false).uid;
  };
  CHECK(uid_of("1") == 1u);
  CHECK(uid_of("4294967295") == 4294967295u);
  CHECK_FALSE(uid_of("0"));
  CHECK_FALSE(uid_of("4294967296"));
  CHECK_FALSE(uid_of(""));
}

TEST_CASE("name_with_flags keeps letters it does not model", "[maildir_name]") {
  CHECK(name_with_flags("x:2,PSa", flag::flagged, false) == "x:2,FPa");
  CHECK(name_with_flags("x:2,S", flag_set(), false) == "x:2,");
  CHECK(name_with_flags("x", flag::seen, false) == "x:2,S");
  CHECK(name_with_flags("x!2,T", (flag_set(flag::draft) | flag::seen), true) == "x!2,DS");
  // With the other separator the old info is not recognised, as in OfflineIMAP.
  CHECK(name_with_flags("x!2,T", flag::seen, false) == "x!2,T:2,S");
}

TEST_CASE("key_with_uid replaces foreign U= and FMD5= fields", "[maildir_name]") {
  std::string inbox = folder_md5("INBOX");
  CHECK(key_with_uid("1_0.1.h,U=3,FMD5=" + inbox, 9, sent_md5) == "1_0.1.h,U=9,FMD5=" + sent_md5);
  CHECK(key_with_uid("1700.M1P2.host,S=123", 9, sent_md5)
        == "1700.M1P2.host,S=123,U=9,FMD5=" + sent_md5);
  CHECK(key_with_uid("h,U=3", 9, sent_md5) == "h,U=9,FMD5=" + sent_md5);
  // A removal that would join ",U" and "=5" into a new field is undone too.
  std::string odd = key_with_uid("h,U,FMD5==5", 9, sent_md5);
  parsed_name p = parse_name(odd + ":2,", sent_md5, false);
  CHECK(p.uid == 9u);
  CHECK(odd.find(",U=5") == std::string::npos);
}
