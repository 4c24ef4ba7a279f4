// The embedded CPython for pythonfile, *eval and folderfilter: values, calls, errors, threads.
#include "config/python_eval.hpp"

#include "config/config_error.hpp"
#include "test_helpers.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <future>

using namespace oimap::config;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using oimap::config::test::error_text;
using oimap::config::test::temp_dir;

TEST_CASE("an expression's value comes back as text", "[python_eval]") {
  python_evaluator py(std::nullopt);
  CHECK(py.value("'imap.' + 'example.org'", "rc:3") == "imap.example.org");
  CHECK(py.value("990 + 3", "rc:4") == "993");
  CHECK(py.value("b'secret\\xc3\\xa9'", "rc:5") == "secret\xc3\xa9");
}

TEST_CASE("pythonfile runs once, and expressions see its names", "[python_eval]") {
  temp_dir dir;
  const auto file = dir.path() / "helpers.py";
  std::ofstream(file) << "import os\n"
                         "calls = []\n"
                         "def get_password(account):\n"
                         "    calls.append(account)\n"
                         "    return 'pw-' + account\n"
                         "def keep(folder):\n"
                         "    return folder not in ('Trash', 'Spam')\n";
  python_evaluator py(file, "rc:2");
  CHECK(py.value("get_password('work')", "rc:9") == "pw-work");
  CHECK(py.value("get_password('home')", "rc:9") == "pw-home");
  CHECK(py.value("len(calls)", "rc:9") == "2"); // the file ran once: one list
  // A value is kept: the password helper is not asked again.
  CHECK(py.value("get_password('work')", "rc:9") == "pw-work");
  CHECK(py.value("str(len(calls))", "rc:9") == "2");

  CHECK(py.call("keep", {"INBOX"}, "rc:10"));
  CHECK_FALSE(py.call("keep", {"Trash"}, "rc:10"));
  CHECK(py.call("lambda folder: folder.startswith('Lists.')", {"Lists.dev"}, "rc:11"));
  CHECK_FALSE(py.call("lambda folder: folder.startswith('Lists.')", {"INBOX"}, "rc:11"));
  CHECK(py.call_text("lambda a, b: a + '/' + b", {"acct", "INBOX"}, "rc:12") == "acct/INBOX");
  // nametrans must give a str: a non-ASCII name comes back as UTF-8, None
  // is an error naming what was given.
  CHECK(py.call_str("lambda f: re.sub('^INBOX', 'Eingang', f)", {"INBOX.Sent"}, "rc:13")
        == "Eingang.Sent");
  CHECK(py.call_str("lambda f: f + '\\u00e9'", {"Caf"}, "rc:13") == "Caf\xc3\xa9");
  CHECK(error_text([&] { py.call_str("lambda f: None", {"INBOX"}, "rc:14"); })
        == "rc:14: 'lambda f: None' gave None for 'INBOX', not a str");
  CHECK(error_text([&] { py.call_str("lambda f: b'x'", {"INBOX"}, "rc:14"); })
        == "rc:14: 'lambda f: b'x'' gave b'x' for 'INBOX', not a str");

  // Another evaluator has a namespace of its own.
  python_evaluator other(std::nullopt);
  CHECK_THAT(error_text([&] { other.value("get_password('x')", "rc:12"); }), Contains("NameError"));
}

TEST_CASE("Python's errors name the option's line and the exception", "[python_eval]") {
  python_evaluator py(std::nullopt);
  CHECK(error_text([&] { py.value("undefined_name", "rc:7"); })
        == "rc:7: 'undefined_name' failed: NameError: name 'undefined_name' is not defined");
  CHECK_THAT(error_text([&] { py.value("lambda x: ", "rc:8"); }),
             StartsWith("rc:8: 'lambda x: ' failed: SyntaxError"));
  CHECK_THAT(error_text([&] { py.call("lambda f: 1 / 0", {"INBOX"}, "rc:9"); }),
             StartsWith("rc:9:") && Contains("ZeroDivisionError: division by zero"));
  CHECK_THAT(error_text([&] { py.call("lambda: True", {"INBOX"}, "rc:10"); }),
             Contains("TypeError"));
  // The interpreter is fine afterwards.
  CHECK(py.value("1 + 1", "rc:11") == "2");
}

TEST_CASE("a pythonfile that fails is reported by every call", "[python_eval]") {
  temp_dir dir;
  const auto file = dir.path() / "broken.py";
  std::ofstream(file) << "def ok():\n    return 1\nraise RuntimeError('no keyring here')\n";
  python_evaluator py(file, "rc:2");
  const std::string expected =
      "rc:2: pythonfile " + file.string() + " failed: RuntimeError: no keyring here";
  CHECK(error_text([&] { py.value("ok()", "rc:5"); }) == expected);
  CHECK(error_text([&] { py.call("lambda f: True", {"x"}, "rc:6"); }) == expected);

  python_evaluator missing(dir.path() / "none.py", "rc:3");
  CHECK_THAT(error_text([&] { missing.value("1", "rc:5"); }),
             StartsWith("rc:3: cannot read pythonfile"));
}

TEST_CASE("calls from several threads at once are served one at a time", "[python_eval]") {
  python_evaluator py(std::nullopt);
  std::vector<std::future<bool>> calls;
  for (int t = 0; t < 4; ++t)
    calls.push_back(std::async(std::launch::async, [&py, t] {
      bool all = true;
      for (int i = 0; i < 200; ++i)
        all = all
              && py.call("lambda a, b: int(a) + 1 == int(b)",
                         {std::to_string(t * 1000 + i), std::to_string(t * 1000 + i + 1)}, "rc:1");
      return all;
    }));
  for (auto& c : calls)
    CHECK(c.get());
}
