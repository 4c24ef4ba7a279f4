// Python str whitespace and lower() semantics over UTF-8 text.
#include "config/python_str.hpp"

#include <cstdint>

namespace oimap::config {

namespace {

// Decodes the UTF-8 sequence at text[pos]; returns 0 length if malformed so
// that stray bytes are treated as ordinary (non-space) characters.
struct code_point {
  std::uint32_t value = 0;
  std::size_t length = 0;
};

code_point decode_at(std::string_view text, std::size_t pos) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(pos);
  std::size_t length = 0;
  std::uint32_t value = 0;
  if (lead < 0x80) {
    return {lead, 1};
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2;
    value = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    value = lead & 0x0F;
  } else {
    return {}; // 4-byte sequences hold no whitespace; treat as non-space
  }
  if (pos + length > text.size()) {
    return {};
  }
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(pos + i) & 0xC0) != 0x80) {
      return {};
    }
    value = (value << 6) | (byte(pos + i) & 0x3F);
  }
  return {value, length};
}

bool is_python_space(std::uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0
         || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F
         || c == 0x205F || c == 0x3000;
}

// Length of the whitespace code point that ends just before `end`, or 0.
std::size_t python_space_before(std::string_view text, std::size_t end) {
  // A code point is at most 3 bytes for every whitespace character.
  for (std::size_t length = 1; length <= 3 && length <= end; ++length) {
    const std::size_t start = end - length;
    const auto c = static_cast<unsigned char>(text[start]);
    if ((c & 0xC0) == 0x80) {
      continue; // continuation byte: the code point starts further back
    }
    return python_space_at(text, start) == length ? length : 0;
  }
  return 0;
}

} // namespace

std::size_t python_space_at(std::string_view text, std::size_t pos) {
  if (pos >= text.size()) {
    return 0;
  }
  const code_point cp = decode_at(text, pos);
  return cp.length != 0 && is_python_space(cp.value) ? cp.length : 0;
}

std::string_view python_lstrip(std::string_view text) {
  std::size_t pos = 0;
  while (std::size_t n = python_space_at(text, pos)) {
    pos += n;
  }
  return text.substr(pos);
}

std::string_view python_rstrip(std::string_view text) {
  std::size_t end = text.size();
  while (std::size_t n = python_space_before(text, end)) {
    end -= n;
  }
  return text.substr(0, end);
}

std::string_view python_strip(std::string_view text) {
  return python_rstrip(python_lstrip(text));
}

std::size_t python_indent(std::string_view line) {
  std::size_t pos = 0;
  std::size_t count = 0;
  while (std::size_t n = python_space_at(line, pos)) {
    pos += n;
    ++count;
  }
  return count;
}

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

} // namespace oimap::config
