// A repository's nametrans through the embedded Python: asked once per name, errors named.
#include "sync/nametrans.hpp"

#include "config/config_error.hpp"
#include "config/python_eval.hpp"

#include <catch2/catch.hpp>

using namespace oimap;

namespace {

config::repository_settings repository(std::optional<std::string> nametrans) {
  config::repository_settings repo;
  repo.name = "Remote";
  repo.where = "rc:7";
  repo.nametrans = std::move(nametrans);
  return repo;
}

std::string error_of(const sync::nametrans_fn& fn, const std::string& name) {
  try {
    fn(name);
  } catch (const config::config_error& e) {
    return e.what();
  }
  return "(no error)";
}

} // namespace

TEST_CASE("nametrans is asked once per folder name", "[nametrans]") {
  auto python = std::make_shared<config::python_evaluator>(std::nullopt);
  // Each call is counted in a list of the namespace.
  const auto fn =
      sync::nametrans_of(repository("lambda f: globals().setdefault('calls', []).append(f) or "
                                    "re.sub('^INBOX', 'in', f)"),
                         python);
  REQUIRE(fn);
  CHECK(fn("INBOX.Sent") == "in.Sent");
  CHECK(fn("INBOX.Sent") == "in.Sent");
  CHECK(fn("Work") == "Work");
  CHECK(fn("INBOX.Sent") == "in.Sent");
  CHECK(python->call_text("lambda: ','.join(calls)", {}, "test") == "INBOX.Sent,Work");
}

TEST_CASE("nametrans: none is an empty function, and its errors name the repository",
          "[nametrans]") {
  auto python = std::make_shared<config::python_evaluator>(std::nullopt);
  CHECK_FALSE(sync::nametrans_of(repository(std::nullopt), python));
  const auto none = sync::nametrans_of(repository("lambda f: None if f == 'Bad' else f"), python);
  CHECK(none("Good") == "Good");
  CHECK(error_of(none, "Bad")
        == "rc:7: repository 'Remote': nametrans: 'lambda f: None if f == 'Bad' else f' gave "
           "None for 'Bad', not a str");
  // A name that failed is asked again, not remembered as empty.
  CHECK(error_of(none, "Bad") != "(no error)");
  CHECK_THROWS_AS(sync::nametrans_of(repository("lambda f: f"), nullptr), config::config_error);
}
