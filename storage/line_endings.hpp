// Streaming line-ending converters between IMAP wire form (CRLF) and Maildir form (LF).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace oimap::storage {

// Wire -> Maildir. Only a CR immediately followed by LF is dropped; a bare CR
// is data and stays. Chunks may split anywhere, so a CR that ends a chunk is
// held until the next chunk (or finish()) shows what follows it.
class crlf_to_lf {
public:
  // Appends the converted chunk to out.
  void convert(std::string_view chunk, std::string& out);
  // Writes the converted chunk at dst, which has room for chunk.size() + 1
  // bytes; returns the end of what was written.
  char* convert(std::string_view chunk, char* dst);
  // End of input: emits a held CR, which turned out not to start a CRLF.
  void finish(std::string& out);
  bool holds_cr() const { return held_cr_; }

private:
  bool held_cr_ = false;
};

// Maildir -> wire. A LF not preceded by CR becomes CRLF; an existing CRLF is
// kept as is, so a file already stored with CRLF is not doubled.
class lf_to_crlf {
public:
  // Appends the converted chunk to out.
  void convert(std::string_view chunk, std::string& out);

private:
  bool last_was_cr_ = false;
};

// Counts the bytes lf_to_crlf would produce, without producing them.
class wire_size_counter {
public:
  void feed(std::string_view chunk);
  std::uint64_t size() const { return size_; }

private:
  std::uint64_t size_ = 0;
  bool last_was_cr_ = false;
};

// Size of the file after LF -> CRLF: the length of its APPEND literal.
// Reads the file once in chunks; throws storage_error naming the path.
std::uint64_t wire_size_of_file(const std::filesystem::path& path);

} // namespace oimap::storage
