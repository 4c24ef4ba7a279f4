// config_file against what Python 3.11's configparser.ConfigParser gives for the same text.
#include "config/config_file.hpp"

#include "test_helpers.hpp"

#include <catch2/catch.hpp>

using Catch::Matchers::Contains;
using oimap::config::config_error;
using oimap::config::config_file;
using oimap::config::test::error_text;
using oimap::config::test::temp_dir;

namespace {

config_file parse(std::string_view text) {
  return config_file::parse(text, "rc");
}

} // namespace

TEST_CASE("the manual's example parses as Python parses it", "[config_file]") {
  const auto file = parse("[My Section]\n"
                          "foodir: %(dir)s/whatever\n"
                          "dir=frob\n"
                          "long: this value continues\n"
                          "   in the next line\n");
  CHECK(file.sections() == std::vector<std::string>{"My Section"});
  CHECK(file.get("My Section", "foodir") == "frob/whatever");
  CHECK(file.get("My Section", "dir") == "frob");
  CHECK(file.get("My Section", "long") == "this value continues\nin the next line");
  CHECK(file.get_raw("My Section", "foodir") == "%(dir)s/whatever");
}

TEST_CASE("sections keep file order, DEFAULT is not one of them", "[config_file]") {
  const auto file = parse("[general]\na=1\n[DEFAULT]\nd=2\n[Account B]\n[Account A]\n");
  CHECK(file.sections() == std::vector<std::string>{"general", "Account B", "Account A"});
  CHECK(file.has_section("general"));
  CHECK(file.has_section("Account A"));
  CHECK_FALSE(file.has_section("DEFAULT"));
  CHECK_FALSE(file.has_section("General")); // section names are case-sensitive
  CHECK_FALSE(file.has_section("nope"));
}

TEST_CASE("every section inherits [DEFAULT]", "[config_file]") {
  const auto file = parse("[DEFAULT]\n"
                          "autorefresh = 5\n"
                          "d = %(s)s!\n"
                          "[a]\n"
                          "s = A\n"
                          "autorefresh = 1\n"
                          "[b]\n"
                          "s = B\n");
  CHECK(file.get("a", "autorefresh") == "1"); // own value wins
  CHECK(file.get("b", "autorefresh") == "5"); // inherited
  CHECK(file.has_option("b", "autorefresh"));
  CHECK(file.has_option("DEFAULT", "autorefresh"));
  // A [DEFAULT] value's references resolve in the section being read.
  CHECK(file.get("a", "d") == "A!");
  CHECK(file.get("b", "d") == "B!");
  // Python raises NoSectionError for a missing section, even for defaults.
  CHECK_FALSE(file.get("missing", "autorefresh").has_value());
  CHECK_FALSE(file.has_option("missing", "autorefresh"));
  CHECK(file.get("DEFAULT", "autorefresh") == "5");
  CHECK(file.options("a") == std::vector<std::string>{"s", "autorefresh", "d"});
  CHECK(file.options("b") == std::vector<std::string>{"s", "autorefresh", "d"});
}

TEST_CASE("[DEFAULT] may appear twice but not set an option twice", "[config_file]") {
  const auto file = parse("[DEFAULT]\nx=1\n[DEFAULT]\ny=2\n[a]\n");
  CHECK(file.get("a", "x") == "1");
  CHECK(file.get("a", "y") == "2");
  const auto text = error_text([] { parse("[DEFAULT]\nx=1\n[DEFAULT]\nx=2\n"); });
  CHECK_THAT(text, Contains("rc:4:") && Contains("'x'") && Contains("rc:2"));
}

TEST_CASE("option names are case-insensitive, values keep their case", "[config_file]") {
  const auto file = parse("[a]\nRemoteHost = Mail.Example.COM\nx = %(REMOTEHOST)s\n");
  CHECK(file.get("a", "remotehost") == "Mail.Example.COM");
  CHECK(file.get("a", "REMOTEHOST") == "Mail.Example.COM");
  CHECK(file.get("a", "x") == "Mail.Example.COM");
  CHECK(file.has_option("a", "RemoteHOST"));
  CHECK(file.options("a") == std::vector<std::string>{"remotehost", "x"});
}

TEST_CASE("the first '=' or ':' delimits, and spaces around are stripped", "[config_file]") {
  const auto file = parse("[a]\n"
                          "k = v = w : x\n"
                          "k2 : a=b\n"
                          "url=https://host:993/\n"
                          "spaced name   =   value with  inner  spaces   \n"
                          "empty =\n"
                          "  indented = is a continuation of 'empty'\n");
  CHECK(file.get("a", "k") == "v = w : x");
  CHECK(file.get("a", "k2") == "a=b");
  CHECK(file.get("a", "url") == "https://host:993/");
  CHECK(file.get("a", "spaced name") == "value with  inner  spaces");
  CHECK(file.get("a", "empty") == "\nindented = is a continuation of 'empty'");
  CHECK_FALSE(file.has_option("a", "indented"));
}

TEST_CASE("continuation lines", "[config_file]") {
  SECTION("blank lines inside a value are kept, trailing ones dropped") {
    const auto file = parse("[a]\nx = 1\n\n  cont\n\n\ny=2\n");
    CHECK(file.get("a", "x") == "1\n\ncont");
    CHECK(file.get("a", "y") == "2");
  }
  SECTION("comment lines inside a value are skipped without ending it") {
    const auto file = parse("[a]\nx = 1\n  # comment\n  more\n; c\n  again\n");
    CHECK(file.get("a", "x") == "1\nmore\nagain");
  }
  SECTION("anything indented deeper continues, even a section header") {
    const auto file = parse("[a]\nx = 1\n  [b]\n");
    CHECK(file.get("a", "x") == "1\n[b]");
    CHECK_FALSE(file.has_section("b"));
  }
  SECTION("an empty first line gives a leading newline") {
    const auto file = parse("[a]\nx =\n  b\ny =\n");
    CHECK(file.get("a", "x") == "\nb");
    CHECK(file.get("a", "y") == "");
  }
  SECTION("indentation is relative to the option line") {
    const auto file = parse("[a]\n  y = 2\n    more\nz = 3\n");
    CHECK(file.get("a", "y") == "2\nmore");
    CHECK(file.get("a", "z") == "3");
  }
  SECTION("a typical multi-line nametrans") {
    const auto file = parse("[Repository R]\n"
                            "nametrans = lambda f: re.sub('^INBOX', 'inbox',\n"
                            "                              f)\n"
                            "type = IMAP\n");
    CHECK(file.get("Repository R", "nametrans") == "lambda f: re.sub('^INBOX', 'inbox',\nf)");
    CHECK(file.get("Repository R", "type") == "IMAP");
  }
}

TEST_CASE("only whole lines are comments: '#' and semicolons inside a value stay",
          "[config_file]") {
  const auto file = parse("# leading comment\n"
                          "; another\n"
                          "[a]\n"
                          "   # indented comment\n"
                          "remotepass = se;cr#et\n"
                          "x = a # not a comment\n"
                          "y = b ; nor this\n");
  CHECK(file.get("a", "remotepass") == "se;cr#et");
  CHECK(file.get("a", "x") == "a # not a comment");
  CHECK(file.get("a", "y") == "b ; nor this");
  CHECK(file.options("a") == std::vector<std::string>{"remotepass", "x", "y"});
}

TEST_CASE("section header forms Python accepts", "[config_file]") {
  // SECTCRE runs to the last ']' and ignores what follows it.
  const auto file = parse("[foo] trailing\nx=1\n[a]b]\ny=2\n[ spaced ]\nz=3\n");
  CHECK(file.sections() == std::vector<std::string>{"foo", "a]b", " spaced "});
  CHECK(file.get("a]b", "y") == "2");
}

TEST_CASE("line endings and encodings", "[config_file]") {
  SECTION("CRLF and lone CR end lines as when Python reads a file") {
    const auto file = parse("[a]\r\nx=1\r\ny = 2\rlong = a\r\n  b\r\n");
    CHECK(file.get("a", "x") == "1");
    CHECK(file.get("a", "y") == "2");
    CHECK(file.get("a", "long") == "a\nb");
  }
  SECTION("a UTF-8 byte order mark is skipped") {
    const auto file = parse("\xEF\xBB\xBF[a]\nx=1\n");
    CHECK(file.get("a", "x") == "1");
  }
  SECTION("Unicode whitespace is stripped as str.strip() does") {
    // U+00A0 (no-break space) and U+3000 around the value, as pasted text has.
    const auto file = parse("[a]\nx =\xC2\xA0v\xC2\xA0\ny = \xE3\x80\x80w\n");
    CHECK(file.get("a", "x") == "v");
    CHECK(file.get("a", "y") == "w");
  }
  SECTION("UTF-8 in names and values is kept") {
    const auto file = parse("[Account Müller]\nname = Jürgen\n");
    CHECK(file.get("Account Müller", "name") == "Jürgen");
  }
}

TEST_CASE("interpolation", "[config_file]") {
  SECTION("%% is a literal percent") {
    const auto file = parse("[a]\nk = %%x%%\np = 100%% sure\n");
    CHECK(file.get("a", "k") == "%x%");
    CHECK(file.get("a", "p") == "100% sure");
    CHECK(file.get_raw("a", "p") == "100%% sure");
  }
  SECTION("references are recursive and case-insensitive") {
    const auto file = parse("[DEFAULT]\n"
                            "home = /home/u\n"
                            "[a]\n"
                            "mail = %(HOME)s/Mail\n"
                            "inbox = %(mail)s/INBOX\n"
                            "lit = %(esc)s\n"
                            "esc = %%(z)s\n");
    CHECK(file.get("a", "inbox") == "/home/u/Mail/INBOX");
    // A referenced value is expanded too, so its %% becomes %.
    CHECK(file.get("a", "lit") == "%(z)s");
  }
  SECTION("10 levels deep work, 11 are an error, like MAX_INTERPOLATION_DEPTH") {
    std::string text = "[a]\n";
    for (int i = 0; i < 12; ++i) {
      text += "v" + std::to_string(i) + " = %(v" + std::to_string(i + 1) + ")s\n";
    }
    text += "v12 = end\n";
    const auto file = parse(text);
    CHECK(file.get("a", "v2") == "end");
    CHECK(file.get("a", "v11") == "end");
    const auto message = error_text([&] { (void)file.get("a", "v1"); });
    CHECK_THAT(message, Contains("rc:3:") && Contains("'v1'") && Contains("10 levels"));
  }
  SECTION("a self reference is the depth error") {
    const auto file = parse("[a]\n\nx = %(y)s\ny = %(x)s\n");
    CHECK_THAT(error_text([&] { (void)file.get("a", "x"); }),
               Contains("rc:3: bad interpolation in 'x'"));
  }
  SECTION("a missing reference names the key and line") {
    const auto file = parse("[a]\nq = %(missing)s\n");
    CHECK_THAT(error_text([&] { (void)file.get("a", "q"); }),
               Contains("rc:2: bad interpolation in 'q'") && Contains("missing"));
  }
  SECTION("a bare % is an error, as in Python") {
    const auto file = parse("[a]\n\n\np = 50%\nr = %(k)x\nt = a%b\n");
    CHECK_THAT(error_text([&] { (void)file.get("a", "p"); }),
               Contains("rc:4: bad interpolation in 'p'") && Contains("%%"));
    CHECK_THAT(error_text([&] { (void)file.get("a", "r"); }),
               Contains("rc:5: bad interpolation in 'r'"));
    CHECK_THAT(error_text([&] { (void)file.get("a", "t"); }),
               Contains("rc:6: bad interpolation in 't'"));
    CHECK(file.get_raw("a", "p") == "50%"); // raw access never interpolates
  }
  SECTION("an error inside a referenced value names both options") {
    const auto file = parse("[a]\nx = %(y)s\ny = 5%\n");
    CHECK_THAT(error_text([&] { (void)file.get("a", "x"); }),
               Contains("rc:2: bad interpolation in 'x'") && Contains("'y'"));
  }
  SECTION("errors never quote the value") {
    const auto file = parse("[a]\nremotepass = hunter%2\n");
    CHECK_THAT(error_text([&] { (void)file.get("a", "remotepass"); }), !Contains("hunter"));
  }
}

TEST_CASE("broken files name file:line", "[config_file]") {
  SECTION("option before any section") {
    const auto text = error_text([] { parse("# comment\n\nx = 1\n[a]\n"); });
    CHECK_THAT(text, Contains("rc:3:") && Contains("outside any section"));
  }
  SECTION("line without delimiter") {
    const auto text = error_text([] { parse("[a]\nx = 1\nnodelimiter\n"); });
    CHECK_THAT(text, Contains("rc:3:") && !Contains("nodelimiter"));
  }
  SECTION("empty option name") {
    CHECK_THAT(error_text([] { parse("[a]\n\n= 1\n"); }), Contains("rc:3:"));
  }
  SECTION("an empty section header is not a header") {
    CHECK_THAT(error_text([] { parse("[a]\n[]\n"); }), Contains("rc:2:"));
  }
  SECTION("duplicate section names both lines") {
    const auto text = error_text([] { parse("[a]\nx=1\n[b]\n[a]\ny=2\n"); });
    CHECK_THAT(text, Contains("rc:4:") && Contains("[a]") && Contains("rc:1"));
  }
  SECTION("duplicate option, even in another case, names both lines") {
    const auto text = error_text([] { parse("[a]\nx=1\n\nX=2\n"); });
    CHECK_THAT(text, Contains("rc:4:") && Contains("'x'") && Contains("rc:2"));
  }
  SECTION("a duplicate password line does not reveal the password") {
    const auto text = error_text([] { parse("[a]\nremotepass=one\nremotepass=two\n"); });
    CHECK_THAT(text, Contains("rc:3:") && !Contains("one") && !Contains("two"));
  }
  SECTION("a password line before any section is not quoted") {
    const auto text = error_text([] { parse("remotepass = s3cret\n"); });
    CHECK_THAT(text, Contains("rc:1:") && !Contains("s3cret"));
  }
}

TEST_CASE("where() says where a value comes from", "[config_file]") {
  auto file = parse("[DEFAULT]\nd = 1\n[a]\nx = 2\n");
  CHECK(file.where("a", "x") == "rc:4");
  CHECK(file.where("a", "X") == "rc:4");
  CHECK(file.where("a", "d") == "rc:2");       // inherited: its [DEFAULT] line
  CHECK(file.where("a", "missing") == "rc:3"); // the section header
  CHECK(file.where("nope", "x") == "rc");
  CHECK(file.where_section("a") == "rc:3");
  file.set("a", "x", "3");
  CHECK(file.where("a", "x") == "command line (-k)");
}

TEST_CASE("set() overrides, creates sections and checks % syntax", "[config_file]") {
  auto file = parse("[general]\nui = basic\n[DEFAULT]\nd = 1\n");
  file.set("general", "UI", "quiet");
  CHECK(file.get("general", "ui") == "quiet");
  file.set("Account New", "autorefresh", "30");
  CHECK(file.has_section("Account New"));
  CHECK(file.sections() == std::vector<std::string>{"general", "Account New"});
  CHECK(file.get("Account New", "autorefresh") == "30");
  CHECK(file.get("Account New", "d") == "1"); // a new section inherits too
  file.set("DEFAULT", "d", "2");
  CHECK(file.get("general", "d") == "2");
  file.set("general", "p", "100%% and %(d)s");
  CHECK(file.get("general", "p") == "100% and 2");
  const auto text = error_text([&] { file.set("general", "remotepass", "50%off"); });
  CHECK_THAT(text,
             Contains("command line (-k)") && Contains("'remotepass'") && !Contains("50%off"));
  CHECK_FALSE(file.has_option("general", "remotepass"));
}

TEST_CASE("typed getters", "[config_file]") {
  const auto file = parse("[a]\n"
                          "b1 = yes\nb2 = No\nb3 = TRUE\nb4 = false\nb5 = On\nb6 = off\nb7 = 1\n"
                          "b8 = 0\n"
                          "bad = maybe\n"
                          "i = 1_000\ni2 = +7\ni3 = -3\nbadint = 4.0\n"
                          "f = 1e3\nf2 = .5\nf3 = 2\nbadf = 1e\n"
                          "list = a, b,,c ,\n");
  CHECK(file.get_bool("a", "b1", false));
  CHECK_FALSE(file.get_bool("a", "b2", true));
  CHECK(file.get_bool("a", "b3", false));
  CHECK_FALSE(file.get_bool("a", "b4", true));
  CHECK(file.get_bool("a", "b5", false));
  CHECK_FALSE(file.get_bool("a", "b6", true));
  CHECK(file.get_bool("a", "b7", false));
  CHECK_FALSE(file.get_bool("a", "b8", true));
  CHECK(file.get_bool("a", "absent", true));
  CHECK_FALSE(file.get_bool("a", "absent", false));
  CHECK_THAT(error_text([&] { (void)file.get_bool("a", "bad", true); }),
             Contains("rc:10:") && Contains("'bad'") && Contains("'maybe'") && Contains("[a]"));

  CHECK(file.get_int("a", "i", 0) == 1000);
  CHECK(file.get_int("a", "i2", 0) == 7);
  CHECK(file.get_int("a", "i3", 0) == -3);
  CHECK(file.get_int("a", "absent", 42) == 42);
  CHECK_THAT(error_text([&] { (void)file.get_int("a", "badint", 0); }),
             Contains("rc:14:") && Contains("'4.0'") && Contains("integer"));

  CHECK(file.get_double("a", "f", 0) == 1000.0);
  CHECK(file.get_double("a", "f2", 0) == 0.5);
  CHECK(file.get_double("a", "f3", 0) == 2.0);
  CHECK(file.get_double("a", "absent", 1.5) == 1.5);
  CHECK_THAT(error_text([&] { (void)file.get_double("a", "badf", 0); }), Contains("rc:18:"));

  CHECK(file.get_list("a", "list") == std::vector<std::string>{"a", "b", "c"});
  CHECK(file.get_list("a", "absent").empty());
}

TEST_CASE("load() reads a file and reports unreadable ones", "[config_file]") {
  const temp_dir dir;
  const auto path = dir.write("offlineimaprc", "[general]\naccounts = A\n");
  const auto file = config_file::load(path);
  CHECK(file.get("general", "accounts") == "A");
  CHECK(file.where("general", "accounts") == path.string() + ":2");

  const auto shown = config_file::load(path, "~/.offlineimaprc");
  CHECK(shown.where("general", "accounts") == "~/.offlineimaprc:2");

  const auto missing = dir.path() / "nope";
  CHECK(error_text([&] { config_file::load(missing); })
        == "cannot read " + missing.string() + ": No such file or directory");
  CHECK_THAT(error_text([&] { config_file::load(dir.path()); }), Contains("Is a directory"));

  const auto broken = dir.write("broken", "[a]\nx=1\n[a]\n");
  CHECK_THAT(error_text([&] { config_file::load(broken, "~/rc"); }), Contains("~/rc:3:"));
}
