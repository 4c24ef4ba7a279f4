// Tests of the command encoder: quoting, literal choice, segments, tags, redaction.
#include "protocol/command.hpp"
#include "protocol/quote.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

using namespace oimap::protocol;
using namespace std::string_literals;

namespace {

// The bytes that go on the wire, segments joined.
std::string wire(const encoded_command& e) {
  std::string out;
  for (const auto& s : e.segments)
    out += s;
  return out;
}

} // namespace

TEST_CASE("atoms, quoted strings and their validation", "[command][quote]") {
  CHECK(is_atom("INBOX"));
  CHECK(is_atom("$Forwarded"));
  CHECK_FALSE(is_atom(""));
  CHECK_FALSE(is_atom("a b"));
  CHECK_FALSE(is_atom("a]"));
  CHECK(is_astring_atom("a]"));
  for (char c : "(){%*\"\\]"s)
    CHECK_FALSE(is_atom_char(c));
  CHECK_FALSE(is_atom_char('\x7f'));
  CHECK_FALSE(is_atom_char('\x80'));
  CHECK_FALSE(is_atom_char('\x1f'));

  CHECK(quote("") == "\"\"");
  CHECK(quote("a \"b\" \\c") == R"("a \"b\" \\c")");
  CHECK(is_quotable(std::string(1000, 'a')));
  CHECK_FALSE(is_quotable(std::string(1001, 'a')));
  CHECK_FALSE(is_quotable("a\rb"));
  CHECK_FALSE(is_quotable("a\nb"));
  CHECK_FALSE(is_quotable("a\0b"s));
  CHECK_FALSE(is_quotable("Entw\xc3\xbcrfe"));

  CHECK(choose_form("INBOX", true) == string_form::atom);
  CHECK(choose_form("INBOX", false) == string_form::quoted);
  CHECK(choose_form("NIL", true) == string_form::quoted);
  CHECK(choose_form("nil", true) == string_form::quoted);
  CHECK(choose_form("", true) == string_form::quoted);
  CHECK(choose_form("a b", true) == string_form::quoted);
  CHECK(choose_form("a\r\nb", true) == string_form::literal);
}

TEST_CASE("arguments are encoded in the form the server cannot misread", "[command]") {
  command c("SELECT");
  c.astring("INBOX");
  CHECK(wire(c.encode("A1")) == "A1 SELECT INBOX\r\n");

  command q("SELECT");
  q.astring("Sent Items");
  CHECK(wire(q.encode("A2")) == "A2 SELECT \"Sent Items\"\r\n");

  command e("LIST");
  e.string("").astring("a\"b\\c");
  CHECK(wire(e.encode("A3")) == "A3 LIST \"\" \"a\\\"b\\\\c\"\r\n");

  // atom() falls back to a string when its argument is not an atom.
  command a("X");
  a.atom("ok").atom("not ok").atom("");
  CHECK(wire(a.encode("A4")) == "A4 X ok \"not ok\" \"\"\r\n");

  command lists("UID STORE");
  lists.raw("1:5,7").raw("+FLAGS.SILENT").begin_list().flag("\\Seen").flag("$Forwarded").end_list();
  CHECK(wire(lists.encode("A5")) == "A5 UID STORE 1:5,7 +FLAGS.SILENT (\\Seen $Forwarded)\r\n");

  command empty("STORE");
  empty.raw("1").raw("FLAGS").begin_list().end_list();
  CHECK(wire(empty.encode("A6")) == "A6 STORE 1 FLAGS ()\r\n");

  command n("X");
  n.number(0).number(18446744073709551615u);
  CHECK(wire(n.encode("A7")) == "A7 X 0 18446744073709551615\r\n");
}

TEST_CASE("nothing can inject a line break", "[command]") {
  CHECK_THROWS_AS(command("NOOP\r\nA2 LOGOUT"), std::invalid_argument);
  command c("X");
  CHECK_THROWS_AS(c.raw("1\r\nA2 DELETE INBOX"), std::invalid_argument);
  CHECK_THROWS_AS(c.raw("a\0b"s), std::invalid_argument);
  CHECK_THROWS_AS(c.flag("\\Seen)"), std::invalid_argument);
  CHECK_THROWS_AS(c.flag("two words"), std::invalid_argument);
  CHECK_THROWS_AS(c.flag("\\"), std::invalid_argument);
  CHECK_THROWS_AS(c.continuation("a\nb"), std::invalid_argument);
  // A string holding CRLF becomes a literal, so its CRLF is data.
  c.astring("x\r\nA2 DELETE INBOX");
  const auto e = c.encode("A1", {true, false});
  CHECK(wire(e) == "A1 X {18+}\r\nx\r\nA2 DELETE INBOX\r\n");
}

TEST_CASE("literal choice and LITERAL+ / LITERAL- / synchronizing segments", "[command]") {
  const std::string box = "Entw\xc3\xbcrfe";
  SECTION("8-bit, CR/LF and long strings become literals") {
    command c("X");
    c.string(box).string("a\nb").string(std::string(1001, 'q')).string(std::string(1000, 'q'));
    const auto e = c.encode("A1", {true, false});
    REQUIRE(e.segments.size() == 1);
    CHECK(e.segments[0]
          == "A1 X {9+}\r\n" + box + " {3+}\r\na\nb {1001+}\r\n" + std::string(1001, 'q') + " \""
                 + std::string(1000, 'q') + "\"\r\n");
  }
  SECTION("without LITERAL+ every literal waits for a continuation") {
    command c("LOGIN");
    c.astring(box).astring("pass word");
    const auto e = c.encode("A1");
    CHECK(e.tag == "A1");
    REQUIRE(e.segments.size() == 2);
    CHECK(e.segments[0] == "A1 LOGIN {9}\r\n");
    CHECK(e.segments[1] == box + " \"pass word\"\r\n");

    command two("APPEND");
    two.astring("INBOX").literal("a").literal("bc");
    const auto t = two.encode("A2");
    REQUIRE(t.segments.size() == 3);
    CHECK(t.segments[0] == "A2 APPEND INBOX {1}\r\n");
    CHECK(t.segments[1] == "a {2}\r\n");
    CHECK(t.segments[2] == "bc\r\n");
  }
  SECTION("LITERAL- is non-synchronizing only up to 4096 bytes") {
    const std::string small(4096, 's'), big(4097, 'b');
    command c("APPEND");
    c.astring("INBOX").literal(small).literal(big);
    const auto e = c.encode("A3", {false, true});
    REQUIRE(e.segments.size() == 2);
    CHECK(e.segments[0] == "A3 APPEND INBOX {4096+}\r\n" + small + " {4097}\r\n");
    CHECK(e.segments[1] == big + "\r\n");
    // LITERAL+ takes any size, and wins over LITERAL-.
    const auto p = c.encode("A4", {true, true});
    REQUIRE(p.segments.size() == 1);
    CHECK(p.segments[0] == "A4 APPEND INBOX {4096+}\r\n" + small + " {4097+}\r\n" + big + "\r\n");
  }
  SECTION("a literal inside a list and an empty literal") {
    command c("APPEND");
    c.astring("INBOX")
        .begin_list()
        .flag("\\Seen")
        .end_list()
        .string("17-Jul-1996 02:44:25 -0700")
        .literal("");
    CHECK(wire(c.encode("A5", {true, false}))
          == "A5 APPEND INBOX (\\Seen) \"17-Jul-1996 02:44:25 -0700\" {0+}\r\n\r\n");
  }
}

TEST_CASE("tags count up per generator", "[command]") {
  tag_generator g;
  CHECK(g.next() == "A1");
  CHECK(g.next() == "A2");
  CHECK(g.issued() == 2);
  tag_generator h("oim");
  CHECK(h.next() == "oim1");
  CHECK_THROWS_AS(tag_generator("a+"), std::invalid_argument);
  CHECK_THROWS_AS(tag_generator("*"), std::invalid_argument);
  CHECK_THROWS_AS(tag_generator(""), std::invalid_argument);
}

TEST_CASE("base64 as SASL needs it", "[command]") {
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("foob") == "Zm9vYg==");
  CHECK(base64_encode("\xff\xfe\xfd") == "//79");
  // RFC 4616 example: "\0tim\0tanstaaftanstaaf"
  CHECK(base64_encode("\0tim\0tanstaaftanstaaf"s) == "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
}

TEST_CASE("a password never reaches the redacted trace", "[command][redaction]") {
  const std::string password = "s3cr\"t pw";
  SECTION("LOGIN") {
    const auto c = command::login("joe", password);
    CHECK(wire(c.encode("A1")) == "A1 LOGIN joe \"s3cr\\\"t pw\"\r\n");
    const auto t = c.redacted_text("A1");
    CHECK(t == "A1 LOGIN joe <password>");
    CHECK(t.find("s3cr") == std::string::npos);
  }
  SECTION("LOGIN with a password that needs a literal: not even its length shows") {
    const std::string pw8 = "p\xc3\xa4ss\r\nword";
    const auto c = command::login("joe", pw8);
    const auto e = c.encode("A1");
    REQUIRE(e.segments.size() == 2);
    CHECK(e.segments[0] == "A1 LOGIN joe {11}\r\n");
    CHECK(e.segments[1] == pw8 + "\r\n");
    CHECK(c.redacted_text("A1") == "A1 LOGIN joe <password>");
  }
  SECTION("AUTHENTICATE PLAIN with SASL-IR: the base64 is redacted too") {
    const auto c = command::authenticate_plain("tim", "tanstaaftanstaaf", true);
    const auto e = c.encode("A2");
    REQUIRE(e.segments.size() == 1);
    CHECK(e.segments[0] == "A2 AUTHENTICATE PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n");
    const auto t = c.redacted_text("A2");
    CHECK(t == "A2 AUTHENTICATE PLAIN <redacted>");
    CHECK(t.find("tanstaaf") == std::string::npos);
    CHECK(t.find("AHRpbQB0YW5zdGFhZnRhbnN0YWFm") == std::string::npos);
    CHECK(t.find("dGFuc3RhYWY") == std::string::npos);
  }
  SECTION("AUTHENTICATE PLAIN without SASL-IR waits for the server's +") {
    const auto c = command::authenticate_plain("tim", "tanstaaftanstaaf", false, "admin");
    const auto e = c.encode("A3");
    REQUIRE(e.segments.size() == 2);
    CHECK(e.segments[0] == "A3 AUTHENTICATE PLAIN\r\n");
    CHECK(e.segments[1] == base64_encode("admin\0tim\0tanstaaftanstaaf"s) + "\r\n");
    const auto t = c.redacted_text("A3");
    CHECK(t == "A3 AUTHENTICATE PLAIN\r\n<redacted>");
    CHECK(t.find(base64_encode("admin\0tim\0tanstaaftanstaaf"s)) == std::string::npos);
  }
  SECTION("other literals show by size only, on one line") {
    command c("APPEND");
    c.astring("INBOX").begin_list().end_list().literal("Subject: hi\r\n\r\nbody");
    CHECK(c.redacted_text("A4") == "A4 APPEND INBOX () {19 bytes}");
    command s("X");
    s.secret("tok", "<token>").continuation("visible", false);
    CHECK(s.redacted_text("A5") == "A5 X <token>\r\nvisible");
    CHECK(wire(s.encode("A5")) == "A5 X tok\r\nvisible\r\n");
  }
}
