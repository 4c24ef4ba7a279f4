// Tests for the streaming CRLF <-> LF converters, with every way of splitting the input.
#include "storage/line_endings.hpp"

#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <random>

using namespace oimap::storage;

namespace {

// Straightforward whole-buffer versions to compare the streaming ones with.
std::string reference_to_lf(const std::string& in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i)
    if (!(in[i] == '\r' && i + 1 < in.size() && in[i + 1] == '\n'))
      out.push_back(in[i]);
  return out;
}

std::string reference_to_crlf(const std::string& in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
      out.push_back('\r');
    out.push_back(in[i]);
  }
  return out;
}

std::string to_lf(const std::string& in, const std::vector<size_t>& cuts) {
  crlf_to_lf c;
  std::string out;
  size_t prev = 0;
  for (size_t cut : cuts) {
    c.convert(std::string_view(in).substr(prev, cut - prev), out);
    prev = cut;
  }
  c.convert(std::string_view(in).substr(prev), out);
  c.finish(out);
  return out;
}

std::string to_crlf(const std::string& in, const std::vector<size_t>& cuts) {
  lf_to_crlf c;
  std::string out;
  size_t prev = 0;
  for (size_t cut : cuts) {
    c.convert(std::string_view(in).substr(prev, cut - prev), out);
    prev = cut;
  }
  c.convert(std::string_view(in).substr(prev), out);
  return out;
}

std::uint64_t counted(const std::string& in, const std::vector<size_t>& cuts) {
  wire_size_counter c;
  size_t prev = 0;
  for (size_t cut : cuts) {
    c.feed(std::string_view(in).substr(prev, cut - prev));
    prev = cut;
  }
  c.feed(std::string_view(in).substr(prev));
  return c.size();
}

// Every split into up to three pieces (cuts may coincide: empty chunks),
// plus one byte at a time.
std::vector<std::vector<size_t>> all_splits(size_t n) {
  std::vector<std::vector<size_t>> out{{}};
  for (size_t a = 0; a <= n; ++a) {
    out.push_back({a});
    for (size_t b = a; b <= n; ++b)
      out.push_back({a, b});
  }
  std::vector<size_t> bytes;
  for (size_t i = 1; i < n; ++i)
    bytes.push_back(i);
  out.push_back(bytes);
  return out;
}

void check_all_splits(const std::string& in, const std::string& lf, const std::string& crlf) {
  CAPTURE(in);
  for (const auto& cuts : all_splits(in.size())) {
    CAPTURE(cuts);
    REQUIRE(to_lf(in, cuts) == lf);
    REQUIRE(to_crlf(in, cuts) == crlf);
    REQUIRE(counted(in, cuts) == crlf.size());
  }
}

} // namespace

TEST_CASE("CRLF to LF drops only a CR right before LF", "[line_endings]") {
  check_all_splits("a\r\nb\r\n", "a\nb\n", "a\r\nb\r\n");
  check_all_splits("a\rb", "a\rb", "a\rb");
  check_all_splits("a\r\r\n", "a\r\n", "a\r\r\n");
  check_all_splits("\r\n\r\n", "\n\n", "\r\n\r\n");
  check_all_splits("no final newline", "no final newline", "no final newline");
  check_all_splits("", "", "");
}

TEST_CASE("a CR ending the input is kept", "[line_endings]") {
  check_all_splits("a\r", "a\r", "a\r");
  check_all_splits("\r", "\r", "\r");
  check_all_splits("\r\r", "\r\r", "\r\r");
  crlf_to_lf c;
  std::string out;
  c.convert("x\r", out);
  CHECK(out == "x");
  CHECK(c.holds_cr());
  c.convert("", out); // an empty chunk does not release it
  CHECK(c.holds_cr());
  c.convert("\n", out);
  CHECK(out == "x\n");
}

TEST_CASE("LF to CRLF turns bare LF into CRLF and keeps CRLF", "[line_endings]") {
  check_all_splits("a\nb\n", "a\nb\n", "a\r\nb\r\n");
  check_all_splits("\n", "\n", "\r\n");
  check_all_splits("\n\n", "\n\n", "\r\n\r\n");
  check_all_splits("a\r\nb\nc", "a\nb\nc", "a\r\nb\r\nc");
}

TEST_CASE("binary bytes pass through unchanged", "[line_endings]") {
  std::string bin("\0\xff\x80\r\n\x01\r\x7f\n\0", 10);
  check_all_splits(bin, reference_to_lf(bin), reference_to_crlf(bin));
  CHECK(reference_to_lf(bin) == std::string("\0\xff\x80\n\x01\r\x7f\n\0", 9));
}

TEST_CASE("random inputs match the whole-buffer conversion", "[line_endings]") {
  std::mt19937 rng(12345);
  const char alphabet[] = {'a', '\r', '\n', '\0', '\xff'};
  for (int round = 0; round < 300; ++round) {
    std::string in(rng() % 24, 'a');
    for (char& c : in)
      c = alphabet[rng() % 5];
    check_all_splits(in, reference_to_lf(in), reference_to_crlf(in));
  }
}

TEST_CASE("wire_size_of_file counts the CRLF form", "[line_endings]") {
  test::temp_dir tmp;
  std::string body = "Subject: x\n\nline\r\nbare\rcr\n";
  for (int i = 0; i < 20000; ++i)
    body += "filler line number " + std::to_string(i) + "\n";
  test::write_file(tmp.path() / "m", body);
  CHECK(wire_size_of_file(tmp.path() / "m") == reference_to_crlf(body).size());
  test::write_file(tmp.path() / "empty", "");
  CHECK(wire_size_of_file(tmp.path() / "empty") == 0);
  CHECK_THROWS_WITH(wire_size_of_file(tmp.path() / "missing"),
                    Catch::Contains("cannot open " + (tmp.path() / "missing").string())
                        && Catch::Contains("No such file or directory"));
}
