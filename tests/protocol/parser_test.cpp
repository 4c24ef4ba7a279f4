// Tests of the response parser: every shape in every split, streaming, limits, errors.
#include "protocol/parser.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

using namespace oimap::protocol;
using namespace std::string_literals;

namespace {

// Records what the parser hands a literal_sink, checking the call order.
struct recording_sink : literal_sink {
  struct literal {
    std::uint64_t size = 0;
    std::string data;
    bool ended = false;
    bool operator==(const literal&) const = default;
  };
  std::vector<literal> literals;
  std::size_t data_calls = 0;
  bool order_ok = true;

  void begin(std::uint64_t size) override {
    if (!literals.empty() && !literals.back().ended)
      order_ok = false;
    literals.push_back({size, {}, false});
  }
  void data(std::string_view chunk) override {
    ++data_calls;
    if (literals.empty() || literals.back().ended || chunk.empty())
      order_ok = false;
    else
      literals.back().data.append(chunk);
  }
  void end() override {
    if (literals.empty() || literals.back().ended
        || literals.back().data.size() != literals.back().size)
      order_ok = false;
    else
      literals.back().ended = true;
  }
};

struct outcome {
  std::vector<response> responses;
  bool ok = true;
  std::string error;
  std::vector<recording_sink::literal> streamed;
  bool operator==(const outcome&) const = default;
};

struct options {
  parser_limits limits;
  bool use_sink = false;
  std::uint64_t threshold = 0;
};

// Feeds input cut at the given sizes (the remainder goes last).
outcome run(std::string_view input, const std::vector<std::size_t>& pieces, const options& opt) {
  response_parser p(opt.limits);
  recording_sink sink;
  if (opt.use_sink)
    p.set_literal_sink(&sink, opt.threshold);
  outcome out;
  std::size_t pos = 0;
  auto feed = [&](std::string_view bytes) {
    if (p.feed(bytes) == response_parser::status::error)
      out.ok = false;
  };
  for (auto n : pieces) {
    if (pos >= input.size())
      break;
    n = std::min(n, input.size() - pos);
    feed(input.substr(pos, n));
    pos += n;
  }
  if (pos < input.size())
    feed(input.substr(pos));
  response r;
  while (p.next(r))
    out.responses.push_back(r);
  if (!out.ok)
    out.error = p.error();
  REQUIRE(sink.order_ok);
  out.streamed = sink.literals;
  return out;
}

std::vector<std::size_t> random_pieces(std::size_t total, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::size_t> len(1, std::max<std::size_t>(1, total / 3 + 1));
  std::vector<std::size_t> pieces;
  for (std::size_t done = 0; done < total;) {
    auto n = len(rng);
    pieces.push_back(n);
    done += n;
  }
  return pieces;
}

// Parses input whole, one byte at a time and in 20 random splits, requires
// that all of them agree, and returns the common outcome.
outcome parse_every_way(std::string_view input, const options& opt = {}) {
  const auto whole = run(input, {}, opt);
  INFO("input: " << std::string(input));
  const auto bytewise = run(input, std::vector<std::size_t>(input.size(), 1), opt);
  REQUIRE(bytewise == whole);
  for (unsigned seed = 1; seed <= 20; ++seed)
    REQUIRE(run(input, random_pieces(input.size(), seed), opt) == whole);
  return whole;
}

// The single response input must parse to.
response parse_one(std::string_view input, const options& opt = {}) {
  const auto out = parse_every_way(input, opt);
  INFO("error: " << out.error);
  REQUIRE(out.ok);
  REQUIRE(out.responses.size() == 1);
  return out.responses[0];
}

std::string render(std::string_view input) {
  return to_string(parse_one(input));
}

// The error input must end in (checked on every split).
std::string parse_error(std::string_view input, const options& opt = {}) {
  const auto out = parse_every_way(input, opt);
  REQUIRE_FALSE(out.ok);
  REQUIRE_FALSE(out.error.empty());
  return out.error;
}

} // namespace

TEST_CASE("greeting, PREAUTH and BYE are untagged status responses", "[parser]") {
  const auto g = parse_one("* OK [CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN] Dovecot ready.\r\n");
  CHECK(g.type == response::kind::untagged);
  CHECK(g.is_status());
  CHECK(g.status == "OK");
  CHECK(g.keyword.empty());
  REQUIRE(g.code.size() == 4);
  CHECK(g.code[0].is_atom("capability"));
  CHECK(g.code[2].type == value::kind::atom);
  CHECK(g.code[2].text == "LITERAL+");
  CHECK(g.code[3].text == "AUTH=PLAIN");
  CHECK(g.text == "Dovecot ready.");

  CHECK(render("* PREAUTH [CAPABILITY IMAP4rev1] Logged in as joe\r\n")
        == R"(* PREAUTH [CAPABILITY IMAP4rev1] "Logged in as joe")");
  const auto bye = parse_one("* BYE Autologout; idle for too long\r\n");
  CHECK(bye.status == "BYE");
  CHECK(bye.code.empty());
  CHECK(bye.text == "Autologout; idle for too long");
  // Status words are case-insensitive and come back upper-cased.
  CHECK(parse_one("* ok hi\r\n").status == "OK");
}

TEST_CASE("tagged OK, NO and BAD with and without codes", "[parser]") {
  const auto ok = parse_one("A1 OK [READ-WRITE] SELECT completed\r\n");
  CHECK(ok.type == response::kind::tagged);
  CHECK(ok.tag == "A1");
  CHECK(ok.status == "OK");
  REQUIRE(ok.code.size() == 1);
  CHECK(ok.code[0].is_atom("READ-WRITE"));
  CHECK(ok.text == "SELECT completed");

  CHECK(render("A2 NO [TRYCREATE] Mailbox doesn't exist: Foo\r\n")
        == R"(A2 NO [TRYCREATE] "Mailbox doesn't exist: Foo")");
  CHECK(render("A3 BAD Error in IMAP command received by server.\r\n")
        == R"(A3 BAD "Error in IMAP command received by server.")");
  // Text is optional in practice.
  CHECK(render("a4 ok\r\n") == R"(a4 OK "")");
  CHECK(render("A5 OK [ALERT]\r\n") == R"(A5 OK [ALERT] "")");
  // A "[" that opens no well-formed code is kept as text, not an error.
  const auto odd = parse_one("A6 OK [oops \"x] done\r\n");
  CHECK(odd.code.empty());
  CHECK(odd.text == "[oops \"x] done");
  CHECK(parse_one("A7 NO [unterminated code\r\n").text == "[unterminated code");
}

TEST_CASE("continuation requests with and without text", "[parser]") {
  const auto c = parse_one("+ Ready for literal data\r\n");
  CHECK(c.type == response::kind::continuation);
  CHECK(c.text == "Ready for literal data");
  CHECK_FALSE(c.is_status());
  CHECK(parse_one("+ \r\n").text.empty());
  CHECK(parse_one("+\r\n").text.empty());
  CHECK(parse_one("+\n").text.empty());
  CHECK(parse_one("+ dGVzdA==\r\n").text == "dGVzdA==");
  CHECK(render("+ [ALERT] go ahead\r\n") == R"(+ [ALERT] "go ahead")");
}

TEST_CASE("CAPABILITY and ENABLED data are atoms", "[parser]") {
  const auto r = parse_one("* CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN SASL-IR ID\r\n");
  CHECK(r.keyword == "CAPABILITY");
  CHECK_FALSE(r.has_number);
  REQUIRE(r.data.size() == 5);
  for (const auto& v : r.data)
    CHECK(v.type == value::kind::atom);
  CHECK(r.data[1].text == "LITERAL+");
  CHECK(render("* ENABLED CONDSTORE QRESYNC\r\n") == "* ENABLED CONDSTORE QRESYNC");
  // Keywords come back upper-cased.
  CHECK(parse_one("* capability IMAP4rev1\r\n").keyword == "CAPABILITY");
}

TEST_CASE("LIST and LSUB in all their forms", "[parser]") {
  const auto r = parse_one("* LIST (\\HasNoChildren \\Noselect) \"/\" \"INBOX/Sent\"\r\n");
  CHECK(r.keyword == "LIST");
  REQUIRE(r.data.size() == 3);
  REQUIRE(r.data[0].type == value::kind::list);
  REQUIRE(r.data[0].items.size() == 2);
  CHECK(r.data[0].items[0].is_atom("\\HASNOCHILDREN"));
  CHECK(r.data[0].items[1].text == "\\Noselect");
  CHECK(r.data[1].type == value::kind::string);
  CHECK(r.data[1].text == "/");
  CHECK(r.data[2].type == value::kind::string);
  CHECK(r.data[2].text == "INBOX/Sent");

  const auto nil = parse_one("* LIST () NIL INBOX\r\n");
  REQUIRE(nil.data.size() == 3);
  CHECK(nil.data[0].type == value::kind::list);
  CHECK(nil.data[0].items.empty());
  CHECK(nil.data[1].type == value::kind::nil);
  CHECK(nil.data[2].is_atom("INBOX"));

  // A name sent as a literal; its bytes are raw, CRLF included.
  const auto lit = parse_one("* LIST (\\Marked) \".\" {10}\r\nodd\r\nname!\r\n");
  REQUIRE(lit.data.size() == 3);
  CHECK(lit.data[2].type == value::kind::string);
  CHECK(lit.data[2].text == "odd\r\nname!");

  CHECK(render("* LSUB () \".\" #news.comp.mail.misc\r\n")
        == R"(* LSUB () "." #news.comp.mail.misc)");
  // Quoted names with escapes, and 8-bit names some servers send raw.
  CHECK(parse_one("* LIST () \"/\" \"a \\\"b\\\" \\\\c\"\r\n").data[2].text == "a \"b\" \\c");
  CHECK(parse_one("* LIST () \"/\" Entw\xc3\xbcrfe\r\n").data[2].text == "Entw\xc3\xbcrfe");
  // Wildcards and "]" are read as atom characters.
  CHECK(parse_one("* LIST () \"/\" foo*%]\r\n").data[2].text == "foo*%]");
}

TEST_CASE("STATUS carries a list of name/number pairs", "[parser]") {
  const auto r =
      parse_one("* STATUS \"x\" (MESSAGES 3 UIDNEXT 4 UIDVALIDITY 5 HIGHESTMODSEQ 7)\r\n");
  CHECK(r.keyword == "STATUS");
  REQUIRE(r.data.size() == 2);
  CHECK(r.data[0].text == "x");
  const auto& items = r.data[1].items;
  REQUIRE(items.size() == 8);
  CHECK(items[0].is_atom("MESSAGES"));
  CHECK(items[1].type == value::kind::number);
  CHECK(items[1].number == 3);
  CHECK(items[3].number == 4);
  CHECK(items[5].number == 5);
  CHECK(items[6].is_atom("HIGHESTMODSEQ"));
  CHECK(items[7].number == 7);
  CHECK(items[7].text == "7");
}

TEST_CASE("numbered untagged data: EXISTS, RECENT, EXPUNGE", "[parser]") {
  const auto e = parse_one("* 3 EXISTS\r\n");
  CHECK(e.has_number);
  CHECK(e.number == 3);
  CHECK(e.keyword == "EXISTS");
  CHECK(e.data.empty());
  const auto r = parse_one("* 0 RECENT\r\n");
  CHECK(r.has_number);
  CHECK(r.number == 0);
  CHECK(r.keyword == "RECENT");
  CHECK(render("* 2 EXPUNGE\r\n") == "* 2 EXPUNGE");
  CHECK(parse_one("* 18446744073709551615 EXISTS\r\n").number == 18446744073709551615u);
}

TEST_CASE("FLAGS and the SELECT response codes", "[parser]") {
  const auto f =
      parse_one("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded)\r\n");
  REQUIRE(f.data.size() == 1);
  REQUIRE(f.data[0].items.size() == 6);
  CHECK(f.data[0].items[5].text == "$Forwarded");

  const auto pf = parse_one("* OK [PERMANENTFLAGS (\\Seen \\*)] Limited\r\n");
  REQUIRE(pf.code.size() == 2);
  CHECK(pf.code[0].is_atom("PERMANENTFLAGS"));
  REQUIRE(pf.code[1].type == value::kind::list);
  CHECK(pf.code[1].items[1].text == "\\*");
  CHECK(pf.text == "Limited");

  for (auto [line, name, n] :
       {std::tuple{"* OK [UIDVALIDITY 123] UIDs valid\r\n", "UIDVALIDITY", 123},
        std::tuple{"* OK [UIDNEXT 5] Predicted next UID\r\n", "UIDNEXT", 5},
        std::tuple{"* OK [HIGHESTMODSEQ 9] Highest\r\n", "HIGHESTMODSEQ", 9},
        std::tuple{"* OK [UIDVALIDITY 123]\r\n", "UIDVALIDITY", 123}}) {
    const auto r = parse_one(line);
    REQUIRE(r.code.size() == 2);
    CHECK(r.code[0].is_atom(name));
    CHECK(r.code[1].type == value::kind::number);
    CHECK(r.code[1].number == static_cast<std::uint64_t>(n));
  }
  const auto nm =
      parse_one("* OK [NOMODSEQ] Sorry, this mailbox format doesn't support modsequences\r\n");
  REQUIRE(nm.code.size() == 1);
  CHECK(nm.code[0].is_atom("NOMODSEQ"));
}

TEST_CASE("APPENDUID and COPYUID codes", "[parser]") {
  const auto one = parse_one("A OK [APPENDUID 38505 3955] APPEND completed\r\n");
  REQUIRE(one.code.size() == 3);
  CHECK(one.code[0].is_atom("APPENDUID"));
  CHECK(one.code[1].type == value::kind::number);
  CHECK(one.code[1].number == 38505);
  CHECK(one.code[2].type == value::kind::number);
  CHECK(one.code[2].number == 3955);

  const auto range = parse_one("A OK [APPENDUID 38505 3955:3957] APPEND completed\r\n");
  REQUIRE(range.code.size() == 3);
  CHECK(range.code[2].type == value::kind::atom);
  CHECK(range.code[2].text == "3955:3957");

  const auto copy = parse_one("A004 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n");
  REQUIRE(copy.code.size() == 4);
  CHECK(copy.code[0].is_atom("COPYUID"));
  CHECK(copy.code[1].number == 38505);
  CHECK(copy.code[2].text == "304,319:320");
  CHECK(copy.code[3].text == "3956:3958");
  CHECK(copy.text == "Done");
}

TEST_CASE("response codes with arbitrary arguments", "[parser]") {
  CHECK(render("* OK [X-FOO bar (baz 1 NIL) \"q s\" x[1]y] hi\r\n")
        == R"(* OK [X-FOO bar (baz 1 NIL) "q s" x[1]y] "hi")");
  CHECK(render("A1 NO [BADCHARSET (UTF-8 US-ASCII)] charset\r\n")
        == R"(A1 NO [BADCHARSET (UTF-8 US-ASCII)] "charset")");
  CHECK(render("A1 NO [REFERRAL imap://u@h/INBOX] go\r\n")
        == R"(A1 NO [REFERRAL imap://u@h/INBOX] "go")");
  // A literal is not allowed in a code: the whole remainder is text.
  CHECK(parse_one("* OK [X {3}] y\r\n").text == "[X {3}] y");
}

TEST_CASE("SEARCH, ESEARCH and VANISHED", "[parser]") {
  const auto s = parse_one("* SEARCH 2 3 5\r\n");
  REQUIRE(s.data.size() == 3);
  CHECK(s.data[2].type == value::kind::number);
  CHECK(s.data[2].number == 5);
  CHECK(parse_one("* SEARCH\r\n").data.empty());
  CHECK(parse_one("* SEARCH \r\n").data.empty());
  CHECK(render("* SEARCH 1 (MODSEQ 917162500)\r\n") == "* SEARCH 1 (MODSEQ 917162500)");

  const auto es = parse_one("* ESEARCH (TAG \"A285\") UID MIN 7 MAX 3800 ALL 7,10:3800\r\n");
  CHECK(es.keyword == "ESEARCH");
  REQUIRE(es.data.size() == 8);
  CHECK(es.data[0].items[1].type == value::kind::string);
  CHECK(es.data[0].items[1].text == "A285");
  CHECK(es.data[7].text == "7,10:3800");

  const auto v = parse_one("* VANISHED (EARLIER) 41,43:116\r\n");
  CHECK(v.keyword == "VANISHED");
  REQUIRE(v.data.size() == 2);
  CHECK(v.data[0].items[0].is_atom("EARLIER"));
  CHECK(v.data[1].text == "41,43:116");
  CHECK(render("* VANISHED 405\r\n") == "* VANISHED 405");
}

TEST_CASE("FETCH with every attribute shape", "[parser]") {
  const std::string body = "From: a@b\r\nSubject: x\r\n\r\n" + std::string(285, 'b');
  REQUIRE(body.size() == 310);
  const auto r =
      parse_one("* 12 FETCH (UID 5 FLAGS (\\Seen $Forwarded) RFC822.SIZE 44827 INTERNALDATE "
                "\"17-Jul-1996 02:44:25 -0700\" MODSEQ (12121231000) BODY[] {310}\r\n"
                + body + ")\r\n");
  CHECK(r.has_number);
  CHECK(r.number == 12);
  CHECK(r.keyword == "FETCH");
  REQUIRE(r.data.size() == 1);
  const auto& a = r.data[0].items;
  REQUIRE(a.size() == 12);
  CHECK(a[0].is_atom("UID"));
  CHECK(a[1].type == value::kind::number);
  CHECK(a[1].number == 5);
  CHECK(to_string(a[3]) == "(\\Seen $Forwarded)");
  CHECK(a[5].number == 44827);
  CHECK(a[7].type == value::kind::string);
  CHECK(a[7].text == "17-Jul-1996 02:44:25 -0700");
  CHECK(a[9].items[0].number == 12121231000u);
  CHECK(a[10].is_atom("BODY[]"));
  CHECK(a[11].type == value::kind::string);
  CHECK(a[11].text == body);

  // Sections with spaces and parens, and partial fetches, are one atom.
  const auto h =
      parse_one("* 1 FETCH (BODY[HEADER.FIELDS (MESSAGE-ID)] {21}\r\nMessage-ID: <x@y>\r\n\r\n "
                "BODY[]<0> \"ab\" BODY[HEADER.FIELDS.NOT (\"X-A\" DATE)]<10.20> NIL)\r\n");
  const auto& b = h.data[0].items;
  REQUIRE(b.size() == 6);
  CHECK(b[0].type == value::kind::atom);
  CHECK(b[0].text == "BODY[HEADER.FIELDS (MESSAGE-ID)]");
  CHECK(b[1].text == "Message-ID: <x@y>\r\n\r\n");
  CHECK(b[2].text == "BODY[]<0>");
  CHECK(b[4].text == "BODY[HEADER.FIELDS.NOT (\"X-A\" DATE)]<10.20>");
  CHECK(b[5].type == value::kind::nil);

  // A literal glued to its section (no SP) is still a literal; "{" inside
  // an atom elsewhere is just a character.
  const auto glued = parse_one("* 3 FETCH (BODY[]{2}\r\nhi X a{b} c{1})\r\n");
  CHECK(to_string(glued) == R"(* 3 FETCH (BODY[] "hi" X a{b} c{1}))");

  // BODYSTRUCTURE: lists with no SP between them, and two literals in one response.
  CHECK(
      render("* 2 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\")(\"TEXT\" \"HTML\") \"MIXED\") "
             "UID 7 X {1}\r\na Y {2}\r\nbc)\r\n")
      == R"(* 2 FETCH (BODYSTRUCTURE (("TEXT" "PLAIN") ("TEXT" "HTML") "MIXED") UID 7 X "a" Y "bc"))");
}

TEST_CASE("NIL, quoted strings, literals and literal8", "[parser]") {
  const auto r = parse_one("* X NIL nil \"\" \"a\\\\b\\\"c\" \"\\q\" {0}\r\n ~{3}\r\n\0\r\n\r\n"s);
  REQUIRE(r.data.size() == 7);
  CHECK(r.data[0].type == value::kind::nil);
  CHECK(r.data[1].type == value::kind::nil);
  CHECK(r.data[2].type == value::kind::string);
  CHECK(r.data[2].text.empty());
  CHECK(r.data[3].text == "a\\b\"c");
  CHECK(r.data[4].text == "q"); // unknown escapes tolerated as Dovecot does
  CHECK(r.data[5].type == value::kind::string);
  CHECK(r.data[5].text.empty()); // {0}
  CHECK(r.data[6].type == value::kind::string);
  CHECK(r.data[6].text == "\0\r\n"s); // literal8 bytes are raw, NUL included
  CHECK(r.data[6].text.size() == 3);

  // Every byte value survives a literal.
  std::string all;
  for (int c = 0; c < 256; ++c)
    all += static_cast<char>(c);
  const auto l = parse_one("* 1 FETCH (BODY[] {256}\r\n" + all + ")\r\n");
  CHECK(l.data[0].items[1].text == all);

  // Digit strings too long for 64 bits stay atoms.
  const auto big = parse_one("* X 18446744073709551616\r\n");
  CHECK(big.data[0].type == value::kind::atom);
  // A non-synchronizing marker from a server is unambiguous and accepted.
  CHECK(parse_one("* X {2+}\r\nab\r\n").data[0].text == "ab");
}

TEST_CASE("several responses, bare LF, and a response split across literals", "[parser]") {
  const auto out = parse_every_way("* 3 EXISTS\n* 0 RECENT\r\n+ go\r\nA1 OK done\r\n");
  REQUIRE(out.ok);
  REQUIRE(out.responses.size() == 4);
  CHECK(out.responses[0].keyword == "EXISTS");
  CHECK(out.responses[1].keyword == "RECENT");
  CHECK(out.responses[2].type == response::kind::continuation);
  CHECK(out.responses[3].tag == "A1");

  // Nothing is returned until the response is complete.
  response_parser p;
  response r;
  REQUIRE(p.feed("* 1 FETCH (BODY[] {5}\r\nab") == response_parser::status::ok);
  CHECK_FALSE(p.next(r));
  CHECK(p.in_response());
  REQUIRE(p.feed("c\r\n") == response_parser::status::ok);
  CHECK_FALSE(p.next(r));
  REQUIRE(p.feed(")\r") == response_parser::status::ok);
  CHECK_FALSE(p.next(r));
  REQUIRE(p.feed("\n") == response_parser::status::ok);
  REQUIRE(p.next(r));
  CHECK(r.data[0].items[1].text == "abc\r\n");
  CHECK_FALSE(p.in_response());
  CHECK_FALSE(p.next(r));
}

TEST_CASE("literals at or above the threshold stream to the sink", "[parser][sink]") {
  options opt;
  opt.use_sink = true;
  opt.threshold = 8;
  const std::string big = "0123456789\r\nabc\0def"s;
  const auto out = parse_every_way(
      "* 4 FETCH (UID 9 BODY[HEADER] {3}\r\nabc BODY[] {" + std::to_string(big.size()) + "}\r\n"
          + big + " BODY[TEXT] {8}\r\n12345678)\r\n* 5 FETCH (BODY[] {0}\r\n)\r\n",
      opt);
  REQUIRE(out.ok);
  REQUIRE(out.responses.size() == 2);
  CHECK(to_string(out.responses[0])
        == R"(* 4 FETCH (UID 9 BODY[HEADER] "abc" BODY[] <streamed 19> BODY[TEXT] <streamed 8>))");
  const auto& placeholder = out.responses[0].data[0].items[5];
  CHECK(placeholder.type == value::kind::streamed);
  CHECK(placeholder.number == big.size());
  CHECK(placeholder.text.empty());
  REQUIRE(out.streamed.size() == 2); // {0} is under the threshold
  CHECK(out.streamed[0].size == big.size());
  CHECK(out.streamed[0].data == big);
  CHECK(out.streamed[0].ended);
  CHECK(out.streamed[1].data == "12345678");
  CHECK(out.responses[1].data[0].items[1].type == value::kind::string);

  // Threshold 0 streams every literal, the empty one included.
  opt.threshold = 0;
  const auto all = parse_every_way("* 5 FETCH (BODY[] {0}\r\n)\r\n", opt);
  REQUIRE(all.streamed.size() == 1);
  CHECK(all.streamed[0].size == 0);
  CHECK(all.streamed[0].ended);
  CHECK(to_string(all.responses[0]) == "* 5 FETCH (BODY[] <streamed 0>)");
}

TEST_CASE("the sink applies from the next literal on", "[parser][sink]") {
  response_parser p;
  recording_sink sink;
  REQUIRE(p.feed("* 1 FETCH (BODY[] {4}\r\nab") == response_parser::status::ok);
  p.set_literal_sink(&sink);
  REQUIRE(p.feed("cd BODY[1] {2}\r\nxy)\r\n") == response_parser::status::ok);
  response r;
  REQUIRE(p.next(r));
  CHECK(to_string(r) == R"(* 1 FETCH (BODY[] "abcd" BODY[1] <streamed 2>))");
  REQUIRE(sink.literals.size() == 1);
  CHECK(sink.literals[0].data == "xy");
  p.set_literal_sink(nullptr);
  REQUIRE(p.feed("* 2 FETCH (BODY[] {1}\r\nz)\r\n") == response_parser::status::ok);
  REQUIRE(p.next(r));
  CHECK(r.data[0].items[1].text == "z");
  CHECK(sink.literals.size() == 1);
}

TEST_CASE("a multi-megabyte literal streams in pieces, byte-exact", "[parser][sink]") {
  std::string body;
  const std::size_t size = 8 * 1024 * 1024 + 17;
  body.reserve(size);
  std::mt19937 rng(7);
  while (body.size() < size)
    body += static_cast<char>(rng() & 0xff);
  const std::string input =
      "* 7 FETCH (UID 70 BODY[] {" + std::to_string(size) + "}\r\n" + body + ")\r\nA9 OK done\r\n";

  for (std::size_t piece : {std::size_t{4096}, std::size_t{1000}, std::size_t{65536 + 3}}) {
    response_parser p;
    recording_sink sink;
    p.set_literal_sink(&sink, 1024);
    bool all_ok = true;
    for (std::size_t pos = 0; pos < input.size(); pos += piece)
      all_ok = all_ok
               && p.feed(std::string_view(input).substr(pos, piece)) == response_parser::status::ok;
    REQUIRE(all_ok);
    REQUIRE(sink.order_ok);
    REQUIRE(sink.literals.size() == 1);
    CHECK(sink.literals[0].size == size);
    CHECK(sink.literals[0].ended);
    CHECK(sink.literals[0].data == body);
    // Chunks come straight from the feeds: no more calls than pieces.
    CHECK(sink.data_calls <= input.size() / piece + 2);
    response r;
    REQUIRE(p.next(r));
    CHECK(to_string(r) == "* 7 FETCH (UID 70 BODY[] <streamed " + std::to_string(size) + ">)");
    REQUIRE(p.next(r));
    CHECK(r.tag == "A9");
  }
}

TEST_CASE("big inputs take linear time however they are split", "[parser]") {
  // A 20 MB literal kept in memory, fed in 4 KB pieces: a parser that
  // re-scanned its buffer on every feed would need ~10^11 steps here.
  const std::size_t size = 20 * 1024 * 1024;
  const std::string head = "* 1 FETCH (BODY[] {" + std::to_string(size) + "}\r\n";
  response_parser p;
  REQUIRE(p.feed(head) == response_parser::status::ok);
  const std::string piece(4096, 'x');
  bool all_ok = true;
  for (std::size_t done = 0; done < size; done += piece.size())
    all_ok = all_ok && p.feed(piece) == response_parser::status::ok;
  REQUIRE(all_ok);
  REQUIRE(p.feed(")\r\n") == response_parser::status::ok);
  response r;
  REQUIRE(p.next(r));
  CHECK(r.data[0].items[1].text.size() == size);

  // A 2 MB line (no literal) fed one byte at a time.
  std::string line = "* SEARCH";
  for (int i = 1; line.size() < 2 * 1024 * 1024; ++i)
    line += ' ' + std::to_string(i);
  line += "\r\n";
  response_parser q;
  for (char c : line)
    all_ok = all_ok && q.feed(std::string_view(&c, 1)) == response_parser::status::ok;
  REQUIRE(all_ok);
  REQUIRE(q.next(r));
  CHECK(r.data.size() > 200000);
  CHECK(r.data.back().type == value::kind::number);
}

TEST_CASE("malformed responses are errors that say what and where", "[parser][errors]") {
  CHECK_THAT(parse_error("A1 FOO bar\r\n"),
             Catch::Contains("tagged response must be OK, NO or BAD at byte 3"));
  CHECK_THAT(parse_error("\r\n"), Catch::Contains("empty response line at byte 0"));
  CHECK_THAT(parse_error("*\r\n"), Catch::Contains("expected SP after '*' at byte 1"));
  CHECK_THAT(parse_error("*X OK\r\n"), Catch::Contains("invalid character in tag at byte 0"));
  CHECK_THAT(parse_error("A(1 OK x\r\n"), Catch::Contains("invalid character in tag at byte 1"));
  CHECK_THAT(parse_error("A1\r\n"), Catch::Contains("expected SP after tag at byte 2"));
  CHECK_THAT(parse_error("* 12\r\n"), Catch::Contains("expected a keyword after the number"));
  CHECK_THAT(parse_error("* 12x EXISTS\r\n"), Catch::Contains("invalid number at byte 2"));
  CHECK_THAT(parse_error("* (X\r\n"), Catch::Contains("invalid character in keyword at byte 2"));
  CHECK_THAT(parse_error("* LIST (\\Noselect \"/\" x\r\n"),
             Catch::Contains("unterminated list at byte 23"));
  CHECK_THAT(parse_error("* FLAGS a)\r\n"), Catch::Contains("unexpected ')' at byte 9"));
  CHECK_THAT(parse_error("* LIST () \"/ x\r\n"),
             Catch::Contains("unterminated quoted string at byte 10"));
  CHECK_THAT(parse_error("* X \"a\0b\"\r\n"s), Catch::Contains("NUL in quoted string at byte 6"));
  CHECK_THAT(parse_error("* X a\x01"
                         "b\r\n"),
             Catch::Contains("control character in atom at byte 5"));
  CHECK_THAT(parse_error("* X {abc}\r\n"), Catch::Contains("expected digits in literal size"));
  CHECK_THAT(parse_error("* X {3} x\r\nabc\r\n"),
             Catch::Contains("literal size must be followed by CRLF at byte 7"));
  CHECK_THAT(parse_error("* X {3\r\n"), Catch::Contains("expected '}' after literal size"));
  CHECK_THAT(parse_error("* X {99999999999999999999}\r\n"),
             Catch::Contains("literal size does not fit in 64 bits"));
  CHECK_THAT(parse_error("* X BODY[HEADER\r\n"),
             Catch::Contains("unterminated '[' in atom at byte 4"));
  CHECK_THAT(parse_error("* OK a\0b\r\n"s), Catch::Contains("NUL in response text at byte 6"));
  // Offsets count the bytes of literals before the error.
  CHECK_THAT(parse_error("* 1 FETCH (BODY[] {3}\r\nabc\"oops)\r\n"),
             Catch::Contains("unterminated quoted string at byte 26"));
  // The message quotes what was there.
  CHECK_THAT(parse_error("* FLAGS a)\r\n"), Catch::Contains("near ')'"));
}

TEST_CASE("each limit is enforced", "[parser][errors]") {
  SECTION("max_line, with and without a line end, literals not counted") {
    options opt;
    opt.limits.max_line = 32;
    CHECK(parse_one("* SEARCH 1 2 3 4 5 6 7 8 9 10\r\n", opt).data.size() == 10);
    CHECK_THAT(parse_error("* SEARCH 1 2 3 4 5 6 7 8 9 10 11\r\n", opt),
               Catch::Contains("longer than max_line (32 bytes) at byte 32"));
    // A server that never sends LF is stopped once the limit is passed.
    response_parser p(opt.limits);
    REQUIRE(p.feed(std::string(32, 'a')) == response_parser::status::ok);
    CHECK(p.feed("a") == response_parser::status::error);
    // Literal bytes do not count; the lines around them do.
    CHECK(parse_one("* 1 FETCH (BODY[] {40}\r\n" + std::string(40, 'z') + ")\r\n", opt)
              .data[0]
              .items[1]
              .text.size()
          == 40);
    CHECK_THAT(parse_error("* 1 FETCH (BODY[] {2}\r\nzz UID 1 FLAGS (\\Seen))\r\n", opt),
               Catch::Contains("max_line"));
  }
  SECTION("max_depth") {
    options opt;
    opt.limits.max_depth = 3;
    CHECK(render("* X (((a)))\r\n") == "* X (((a)))");
    CHECK_THAT(parse_error("* X ((((a))))\r\n", opt),
               Catch::Contains("lists nested deeper than max_depth (3) at byte 7"));
    // Too deep inside a code is a code that does not parse: kept as text.
    CHECK(parse_one("* OK [X ((((a))))] hi\r\n", opt).code.empty());
    CHECK(parse_one("* OK [X (((a)))] hi\r\n", opt).code.size() == 2);
    CHECK_THAT(parse_error("* X a[[[[b]]]]\r\n", opt), Catch::Contains("max_depth"));
  }
  SECTION("max_inline_literal without a sink") {
    options opt;
    opt.limits.max_inline_literal = 10;
    CHECK(parse_one("* X {10}\r\n0123456789\r\n", opt).data[0].text == "0123456789");
    CHECK_THAT(parse_error("* X {11}\r\n01234567890\r\n", opt),
               Catch::Contains("literal of 11 bytes exceeds max_inline_literal (10) at byte 4"));
    // With a sink the same literal streams; under the threshold it must fit.
    opt.use_sink = true;
    opt.threshold = 11;
    CHECK(to_string(parse_one("* X {11}\r\n01234567890\r\n", opt)) == "* X <streamed 11>");
    opt.threshold = 100;
    CHECK_THAT(parse_error("* X {11}\r\n01234567890\r\n", opt),
               Catch::Contains("exceeds max_inline_literal"));
  }
}

TEST_CASE("an error sticks until reset", "[parser][errors]") {
  response_parser p;
  REQUIRE(p.feed("* 3 EXISTS\r\nA1 FOO\r\n* 4 EXISTS\r\n") == response_parser::status::error);
  const auto err = p.error();
  CHECK_THAT(err, Catch::Contains("tagged response must be OK, NO or BAD"));
  // Responses completed before the error are still handed out.
  response r;
  REQUIRE(p.next(r));
  CHECK(r.number == 3);
  CHECK_FALSE(p.next(r));
  CHECK(p.feed("* 5 EXISTS\r\n") == response_parser::status::error);
  CHECK(p.error() == err);
  CHECK_FALSE(p.next(r));

  p.reset();
  CHECK(p.error().empty());
  REQUIRE(p.feed("* 5 EXISTS\r\n") == response_parser::status::ok);
  REQUIRE(p.next(r));
  CHECK(r.number == 5);
}

TEST_CASE("reset drops a partial response", "[parser]") {
  response_parser p;
  REQUIRE(p.feed("* 1 FETCH (BODY[] {10}\r\nabc") == response_parser::status::ok);
  CHECK(p.in_response());
  p.reset();
  CHECK_FALSE(p.in_response());
  REQUIRE(p.feed("A1 OK x\r\n") == response_parser::status::ok);
  response r;
  REQUIRE(p.next(r));
  CHECK(r.tag == "A1");
}

TEST_CASE("random input gives the same outcome however it is split", "[parser][fuzz]") {
  // Bytes drawn mostly from IMAP syntax so that many inputs get deep into
  // the grammar; the parser must never crash and must not depend on splits.
  const std::string alphabet = "* +A1OKNOBADFETCH(){}[]\"\\~ 0123\r\n\n\x80\x01";
  std::mt19937 rng(42);
  std::size_t succeeded = 0, failed = 0;
  for (int round = 0; round < 400; ++round) {
    std::string input;
    const auto len = rng() % 60;
    for (std::size_t i = 0; i < len; ++i)
      input += alphabet[rng() % alphabet.size()];
    const auto out = parse_every_way(input);
    (out.ok ? succeeded : failed)++;
  }
  // Both paths were exercised.
  CHECK(failed > 0);
  CHECK(succeeded > 0);
}

TEST_CASE("feed_one stops after the first complete response", "[parser][sink]") {
  const std::string input =
      "* 1 FETCH (BODY[] {3}\r\nabc)\r\n* 2 FETCH (BODY[] {2}\r\nxy)\r\nA1 OK d";
  response_parser p;
  recording_sink sink;
  p.set_literal_sink(&sink);
  std::string_view rest = input;
  std::size_t used = 0;
  REQUIRE(p.feed_one(rest, used) == response_parser::status::ok);
  CHECK(used == 29);
  // The sink has seen the first response's literal only.
  REQUIRE(sink.literals.size() == 1);
  CHECK(sink.literals[0].data == "abc");
  response r;
  REQUIRE(p.next(r));
  CHECK(r.number == 1);
  CHECK_FALSE(p.next(r));

  rest.remove_prefix(used);
  REQUIRE(p.feed_one(rest, used) == response_parser::status::ok);
  CHECK(used == 28);
  REQUIRE(sink.literals.size() == 2);
  REQUIRE(p.next(r));
  CHECK(r.number == 2);

  // Nothing completes: everything is consumed.
  rest.remove_prefix(used);
  REQUIRE(p.feed_one(rest, used) == response_parser::status::ok);
  CHECK(used == rest.size());
  CHECK_FALSE(p.next(r));
  REQUIRE(p.feed_one("one\r\n", used) == response_parser::status::ok);
  CHECK(used == 5);
  REQUIRE(p.next(r));
  CHECK(r.text == "done");

  // Byte by byte, it stops exactly at each response's last byte.
  response_parser q;
  std::vector<std::size_t> ends;
  for (std::size_t i = 0; i < input.size(); ++i) {
    REQUIRE(q.feed_one(std::string_view(input).substr(i, 1), used) == response_parser::status::ok);
    CHECK(used == 1);
    if (q.next(r))
      ends.push_back(i + 1);
  }
  CHECK(ends == std::vector<std::size_t>{29, 57});
}
