// OfflineIMAP's Maildir file names: building, parsing and rewriting them.
#pragma once

#include "storage/flags.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace oimap::storage {

// A file name is "<key><sep>2,<flags>", where OfflineIMAP's key is
//   <time>_<seq>.<pid>.<hostname>,U=<uid>,FMD5=<md5 of folder name>
// Files from other programs have other keys; the key is unique per message
// and does not change when flags change.

// ':' normally, '!' with maildir-windows-compatible (':' is illegal there).
constexpr char info_separator(bool windows_compatible) {
  return windows_compatible ? '!' : ':';
}

// Lower-case md5 hex of the UTF-8 folder name as the user sees it after the
// local nametrans, with the local separator ("INBOX.Sent", "a/b").
std::string folder_md5(std::string_view visible_name);

// Where a new name comes from; split out so tests can pin every part.
struct name_origin {
  std::int64_t time = 0; // seconds since the epoch
  std::uint64_t seq = 0; // distinguishes names made in the same second
  long pid = 0;
  std::string hostname;
};

// Current time, the next value of a per-process counter, getpid() and
// gethostname(). The counter never repeats, so two names made by one process
// never collide even within one second.
name_origin next_name_origin();

// "<time>_<seq>.<pid>.<hostname>", '/' in the host name replaced by '-'
// (OfflineIMAP replaces the path separator the same way).
std::string unique_part(const name_origin& origin);

// "<unique>,U=<uid>,FMD5=<fmd5><sep>2,<sorted flags>", OfflineIMAP's format.
std::string format_name(std::string_view unique, std::uint32_t uid, std::string_view fmd5,
                        flag_set flags, bool windows_compatible);

struct parsed_name {
  std::string key;                  // everything before "<sep>2,"; the whole name if absent
  std::optional<std::uint32_t> uid; // only when fmd5 equals this folder's md5
  std::string fmd5;                 // as found in the name, empty if none
  flag_set flags;                   // unknown letters ignored
};

// parse_name without allocating: the views point into filename. For scans
// of large folders.
struct name_fields {
  std::string_view key;
  std::optional<std::uint32_t> uid;
  std::string_view fmd5;
  flag_set flags;
};
name_fields parse_name_fields(std::string_view filename, std::string_view folder_md5,
                              bool windows_compatible);

// Parses a file name as the folder whose md5 is folder_md5 sees it. A name
// whose FMD5 is missing or belongs to another folder has no uid: OfflineIMAP
// treats such a message as new here and uploads it.
parsed_name parse_name(std::string_view filename, std::string_view folder_md5,
                       bool windows_compatible);

// The file name with its info part set to flags. Letters flag_set does not
// model (P, Dovecot keywords a-z) are kept, so a flag change by us never
// loses what another program set. All letters sorted, as Maildir asks.
std::string name_with_flags(std::string_view filename, flag_set flags, bool windows_compatible);

// The key with every ",U=<digits>" and ",FMD5=<hex>" removed and
// ",U=<uid>,FMD5=<fmd5>" appended: what a message gets once uploaded.
std::string key_with_uid(std::string_view key, std::uint32_t uid, std::string_view fmd5);

} // namespace oimap::storage
