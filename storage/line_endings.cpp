// CRLF <-> LF conversion that is safe across chunk boundaries.
#include "storage/line_endings.hpp"

#include "storage/posix_io.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <vector>

namespace oimap::storage {
namespace {

// memchr is vectorised; bodies are long runs without line ends.
size_t find_byte(std::string_view s, size_t from, char c) {
  if (from >= s.size())
    return std::string_view::npos;
  const void* p = std::memchr(s.data() + from, c, s.size() - from);
  return p ? static_cast<size_t>(static_cast<const char*>(p) - s.data()) : std::string_view::npos;
}

} // namespace

char* crlf_to_lf::convert(std::string_view chunk, char* dst) {
  // Runs between CRs are copied with one memchr and one memcpy per line:
  // this loop moves every downloaded byte.
  const char* src = chunk.data();
  const char* const end = src + chunk.size();
  if (held_cr_ && src < end) {
    held_cr_ = false;
    if (*src != '\n')
      *dst++ = '\r';
    // else: drop the CR, the LF is copied below
  }
  while (src < end) {
    const auto* cr = static_cast<const char*>(std::memchr(src, '\r', end - src));
    if (!cr) {
      std::memcpy(dst, src, end - src);
      return dst + (end - src);
    }
    std::memcpy(dst, src, cr - src);
    dst += cr - src;
    if (cr + 1 == end) {
      held_cr_ = true; // is it a CRLF? the next chunk says
      return dst;
    }
    if (cr[1] != '\n')
      *dst++ = '\r';
    src = cr + 1;
  }
  return dst;
}

void crlf_to_lf::convert(std::string_view chunk, std::string& out) {
  if (chunk.empty())
    return;
  const std::size_t old = out.size();
  out.resize(old + chunk.size() + 1);
  char* end = convert(chunk, out.data() + old);
  out.resize(end - out.data());
}

void crlf_to_lf::finish(std::string& out) {
  if (held_cr_)
    out.push_back('\r');
  held_cr_ = false;
}

void lf_to_crlf::convert(std::string_view chunk, std::string& out) {
  if (chunk.empty())
    return;
  size_t i = 0;
  for (;;) {
    size_t lf = find_byte(chunk, i, '\n');
    if (lf == std::string_view::npos) {
      out.append(chunk.substr(i));
      break;
    }
    out.append(chunk.substr(i, lf - i));
    bool after_cr = lf > 0 ? chunk[lf - 1] == '\r' : last_was_cr_;
    out.append(after_cr ? "\n" : "\r\n");
    i = lf + 1;
  }
  last_was_cr_ = chunk.back() == '\r';
}

void wire_size_counter::feed(std::string_view chunk) {
  if (chunk.empty())
    return;
  size_ += chunk.size();
  for (size_t lf = find_byte(chunk, 0, '\n'); lf != std::string_view::npos;
       lf = find_byte(chunk, lf + 1, '\n')) {
    bool after_cr = lf > 0 ? chunk[lf - 1] == '\r' : last_was_cr_;
    if (!after_cr)
      ++size_;
  }
  last_was_cr_ = chunk.back() == '\r';
}

std::uint64_t wire_size_of_file(const std::filesystem::path& path) {
  unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd)
    throw_errno("open", path, errno);
  std::vector<char> buf(64 * 1024);
  wire_size_counter counter;
  while (size_t n = read_some(fd.get(), buf.data(), buf.size(), path))
    counter.feed(std::string_view(buf.data(), n));
  return counter.size();
}

} // namespace oimap::storage
