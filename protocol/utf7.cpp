// Modified UTF-7 encoding and strict decoding of mailbox names.
#include "protocol/utf7.hpp"

#include <cstdint>
#include <stdexcept>
#include <vector>

namespace oimap::protocol {

namespace {

constexpr char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == ',')
    return 63;
  return -1;
}

// Printable US-ASCII other than "&" stands for itself and must not be encoded.
bool is_direct(std::uint32_t cp) {
  return cp >= 0x20 && cp <= 0x7e && cp != '&';
}

// Decodes one UTF-8 sequence at s[i]; false on any malformation.
bool next_code_point(std::string_view s, std::size_t& i, std::uint32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t len;
  std::uint32_t min;
  if (b0 < 0x80) {
    cp = b0;
    ++i;
    return true;
  } else if ((b0 & 0xe0) == 0xc0) {
    len = 2, cp = b0 & 0x1f, min = 0x80;
  } else if ((b0 & 0xf0) == 0xe0) {
    len = 3, cp = b0 & 0x0f, min = 0x800;
  } else if ((b0 & 0xf8) == 0xf0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return false;
  }
  if (i + len > s.size())
    return false;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xc0) != 0x80)
      return false;
    cp = (cp << 6) | (b & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return false;
  i += len;
  return true;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

// "&" + modified base64 of UTF-16BE units + "-"
void append_shifted(std::string& out, const std::vector<std::uint16_t>& units) {
  out += '&';
  std::uint32_t bits = 0;
  int nbits = 0;
  for (auto u : units) {
    bits = (bits << 16) | u;
    nbits += 16;
    while (nbits >= 6) {
      nbits -= 6;
      out += b64_alphabet[(bits >> nbits) & 63];
    }
    bits &= (1u << nbits) - 1;
  }
  if (nbits > 0) // pad the last sextet with zero bits
    out += b64_alphabet[(bits << (6 - nbits)) & 63];
  out += '-';
}

} // namespace

std::optional<std::string> try_to_imap_utf7(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  std::vector<std::uint16_t> units; // pending run of non-direct characters
  std::size_t i = 0;
  while (i < utf8.size()) {
    std::uint32_t cp;
    if (!next_code_point(utf8, i, cp) || cp == 0)
      return std::nullopt;
    if (is_direct(cp) || cp == '&') {
      if (!units.empty()) {
        append_shifted(out, units);
        units.clear();
      }
      out += static_cast<char>(cp);
      if (cp == '&')
        out += '-';
      continue;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      units.push_back(static_cast<std::uint16_t>(0xd800 | (cp >> 10)));
      units.push_back(static_cast<std::uint16_t>(0xdc00 | (cp & 0x3ff)));
    } else {
      units.push_back(static_cast<std::uint16_t>(cp));
    }
  }
  if (!units.empty())
    append_shifted(out, units);
  return out;
}

std::string to_imap_utf7(std::string_view utf8) {
  auto r = try_to_imap_utf7(utf8);
  if (!r)
    throw std::invalid_argument("mailbox name is not valid UTF-8");
  return std::move(*r);
}

// mailbox names: RFC 3501 §5.1.3. The checks below cover what the grammar
// forbids; what remains (adjacent runs, a character that was encoded
// though it could stand for itself) is caught by re-encoding: the
// encoder's output is the only canonical form.
std::optional<std::string> from_imap_utf7(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c != '&') {
      if (!is_direct(c))
        return std::nullopt; // 8-bit or control byte
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    ++i;
    if (i < s.size() && s[i] == '-') {
      out += '&';
      ++i;
      continue;
    }
    std::uint32_t bits = 0;
    int nbits = 0;
    std::uint16_t high = 0; // pending high surrogate
    bool any = false;
    for (;;) {
      if (i == s.size())
        return std::nullopt; // unterminated "&"
      if (s[i] == '-') {
        ++i;
        break;
      }
      const int v = b64_value(s[i]);
      if (v < 0)
        return std::nullopt;
      ++i;
      bits = (bits << 6) | static_cast<std::uint32_t>(v);
      nbits += 6;
      if (nbits < 16)
        continue;
      nbits -= 16;
      const auto u = static_cast<std::uint16_t>(bits >> nbits);
      bits &= (1u << nbits) - 1;
      any = true;
      if (high) {
        if (u < 0xdc00 || u > 0xdfff)
          return std::nullopt; // high surrogate not followed by a low one
        append_utf8(out,
                    0x10000 + ((static_cast<std::uint32_t>(high) - 0xd800) << 10) + (u - 0xdc00));
        high = 0;
      } else if (u >= 0xd800 && u <= 0xdbff) {
        high = u;
      } else if (u >= 0xdc00 && u <= 0xdfff) {
        return std::nullopt; // lone low surrogate
      } else if (u == 0) {
        return std::nullopt; // no file system takes a NUL in a folder name
      } else {
        append_utf8(out, u);
      }
    }
    // A run holds whole UTF-16 units: fewer than 6 spare bits, all zero.
    if (!any || high || nbits >= 6 || bits != 0)
      return std::nullopt;
  }
  auto again = try_to_imap_utf7(out);
  if (!again || *again != s)
    return std::nullopt;
  return out;
}

} // namespace oimap::protocol
