// OfflineIMAP-compatible Maildir file names.
#include "storage/maildir_name.hpp"

#include "storage/md5.hpp"

#include "storage/storage_error.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <ctime>
#include <memory>
#include <unistd.h>

namespace oimap::storage {
namespace {

std::atomic<std::uint64_t> name_counter{0};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Python's \w for ASCII, which is what OfflineIMAP's ":2,(\w*)" matches.
bool is_word(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

std::string_view run_of(std::string_view s, size_t from, bool (*pred)(char)) {
  size_t end = from;
  while (end < s.size() && pred(s[end]))
    ++end;
  return s.substr(from, end - from);
}

size_t find_info(std::string_view filename, bool windows_compatible) {
  const char marker[] = {info_separator(windows_compatible), '2', ','};
  return filename.find(std::string_view(marker, 3));
}

const std::string& host_name() {
  static const std::string name = [] {
    std::array<char, 256> buf{};
    if (::gethostname(buf.data(), buf.size() - 1) != 0)
      return std::string("localhost");
    return std::string(buf.data());
  }();
  return name;
}

// Removes the first occurrence of marker followed by a run of pred
// characters (at least one if need_one); false if there was none.
bool strip_field(std::string& s, std::string_view marker, bool (*pred)(char), bool need_one) {
  for (size_t pos = s.find(marker); pos != std::string::npos; pos = s.find(marker, pos + 1)) {
    size_t len = run_of(s, pos + marker.size(), pred).size();
    if (need_one && len == 0)
      continue;
    s.erase(pos, marker.size() + len);
    return true;
  }
  return false;
}

} // namespace

std::string folder_md5(std::string_view visible_name) {
  return md5_hex(visible_name);
}

name_origin next_name_origin() {
  name_origin o;
  o.time = static_cast<std::int64_t>(std::time(nullptr));
  o.seq = name_counter.fetch_add(1, std::memory_order_relaxed);
  static const long pid = static_cast<long>(::getpid()); // one syscall, not one per message
  o.pid = pid;
  o.hostname = host_name();
  return o;
}

std::string unique_part(const name_origin& origin) {
  std::string out = std::to_string(origin.time);
  out.push_back('_');
  out.append(std::to_string(origin.seq));
  out.push_back('.');
  out.append(std::to_string(origin.pid));
  out.push_back('.');
  std::string host = origin.hostname;
  std::replace(host.begin(), host.end(), '/', '-');
  out.append(host);
  return out;
}

std::string format_name(std::string_view unique, std::uint32_t uid, std::string_view fmd5,
                        flag_set flags, bool windows_compatible) {
  std::string out(unique);
  out.append(",U=");
  out.append(std::to_string(uid));
  out.append(",FMD5=");
  out.append(fmd5);
  out.push_back(info_separator(windows_compatible));
  out.append("2,");
  out.append(flags.to_maildir());
  return out;
}

name_fields parse_name_fields(std::string_view filename, std::string_view folder_md5,
                              bool windows_compatible) {
  name_fields out;
  size_t info = find_info(filename, windows_compatible);
  out.key = filename.substr(0, info);
  if (info != std::string_view::npos)
    out.flags = flag_set::from_maildir(run_of(filename, info + 3, is_word));

  constexpr std::string_view fmd5_marker = ",FMD5=";
  if (size_t pos = out.key.find(fmd5_marker); pos != std::string_view::npos)
    out.fmd5 = run_of(out.key, pos + fmd5_marker.size(), is_hex);

  constexpr std::string_view uid_marker = ",U=";
  if (!out.fmd5.empty() && out.fmd5 == folder_md5) {
    for (size_t pos = out.key.find(uid_marker); pos != std::string_view::npos;
         pos = out.key.find(uid_marker, pos + 1)) {
      std::string_view digits = run_of(out.key, pos + uid_marker.size(), is_digit);
      if (digits.empty())
        continue; // OfflineIMAP's ",U=(\d+)" looks further
      std::uint32_t uid = 0;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), uid);
      // A UID that cannot be an IMAP UID (0 or past 2^32-1) makes the
      // message new rather than mapping it onto some wrong remote message.
      if (ec == std::errc() && end == digits.data() + digits.size() && uid != 0)
        out.uid = uid;
      break;
    }
  }
  return out;
}

parsed_name parse_name(std::string_view filename, std::string_view folder_md5,
                       bool windows_compatible) {
  name_fields f = parse_name_fields(filename, folder_md5, windows_compatible);
  return {std::string(f.key), f.uid, std::string(f.fmd5), f.flags};
}

std::string name_with_flags(std::string_view filename, flag_set flags, bool windows_compatible) {
  size_t info = find_info(filename, windows_compatible);
  std::string letters = flags.to_maildir();
  if (info != std::string_view::npos) {
    constexpr std::string_view known = "DFRST";
    for (char c : filename.substr(info + 3))
      if (known.find(c) == std::string_view::npos && letters.find(c) == std::string::npos)
        letters.push_back(c);
    std::sort(letters.begin(), letters.end());
  }
  std::string out(filename.substr(0, info));
  out.push_back(info_separator(windows_compatible));
  out.append("2,");
  out.append(letters);
  return out;
}

std::string key_with_uid(std::string_view key, std::uint32_t uid, std::string_view fmd5) {
  std::string out(key);
  // Repeat until stable: removing one field could join two halves of the
  // name into a new one, which parse_name would then find before ours.
  while (strip_field(out, ",U=", is_digit, true) || strip_field(out, ",FMD5=", is_hex, false)) {
  }
  out.append(",U=");
  out.append(std::to_string(uid));
  out.append(",FMD5=");
  out.append(fmd5);
  return out;
}

} // namespace oimap::storage
