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

void crlf_to_lf::convert(std::string_view chunk, std::string& out) {
  if (chunk.empty())
    return;
  size_t i = 0;
  if (held_cr_) {
    held_cr_ = false;
    if (chunk[0] != '\n')
      out.push_back('\r');
    // else: drop the CR, the LF is copied below
  }
  for (;;) {
    size_t cr = find_byte(chunk, i, '\r');
    if (cr == std::string_view::npos) {
      out.append(chunk.substr(i));
      return;
    }
    out.append(chunk.substr(i, cr - i));
    if (cr + 1 == chunk.size()) {
      held_cr_ = true;
      return;
    }
    if (chunk[cr + 1] != '\n')
      out.push_back('\r');
    i = cr + 1;
  }
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
