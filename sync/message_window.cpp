// maxage and maxsize as a window over a folder's uids.
#include "sync/message_window.hpp"

#include "protocol/session.hpp"
#include "storage/maildir_folder.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <system_error>

namespace oimap::sync {
namespace {

// RFC 3501 date: day-month-year with English month names, whatever the locale.
std::string imap_date(int year, int month, int day) {
  static constexpr std::array<const char*, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  return std::to_string(day) + "-" + months[static_cast<std::size_t>(month - 1)] + "-"
         + std::to_string(year);
}

} // namespace

window_options window_of(const config::account_settings& account, std::time_t now) {
  window_options w;
  if (const auto& age = account.maxage) {
    if (age->days > 0) {
      // Midday, so that a day more or less of daylight saving time is still
      // the same calendar day.
      std::tm t{};
      localtime_r(&now, &t);
      t.tm_hour = 12;
      t.tm_mday -= age->days;
      t.tm_isdst = -1;
      std::mktime(&t); // normalises the day
      w.since = imap_date(t.tm_year + 1900, t.tm_mon + 1, t.tm_mday);
      w.description = "maxage=" + std::to_string(age->days);
    } else {
      w.since = imap_date(age->year, age->month, age->day);
      w.description = "maxage=" + *w.since;
    }
  }
  if (account.maxsize) {
    w.maxsize = static_cast<std::uint64_t>(*account.maxsize);
    w.description += (w.description.empty() ? "" : ";") + std::string("maxsize=")
                     + std::to_string(*account.maxsize);
  }
  return w;
}

bool message_window::contains(uid_t uid) const {
  return uid >= min_uid && !std::binary_search(too_large.begin(), too_large.end(), uid);
}

message_window find_window(protocol::session& remote, const window_options& w,
                           std::uint32_t uidnext) {
  message_window out;
  if (w.since) {
    const auto since = remote.uid_search("SINCE " + *w.since);
    out.min_uid = since.empty() ? uidnext : since.front();
  }
  // OfflineIMAP keeps what is SMALLER than maxsize: one of maxsize bytes goes.
  if (w.maxsize)
    out.too_large = remote.uid_search("LARGER " + std::to_string(*w.maxsize - 1));
  return out;
}

size_fn file_sizes(storage::maildir_folder& folder) {
  return [&folder](const std::string& key) -> std::optional<std::uint64_t> {
    const auto path = folder.path_of(key);
    if (!path)
      return std::nullopt;
    std::error_code ec;
    const auto size = std::filesystem::file_size(*path, ec);
    if (ec)
      return std::nullopt;
    return size;
  };
}

std::vector<std::string> leave_outside(plan_input& in, const message_window& w,
                                       std::optional<std::uint64_t> maxsize,
                                       const size_fn& size_of) {
  std::erase_if(in.remote, [&](const remote_message& m) { return !w.contains(m.uid); });
  std::erase_if(in.status, [&](const status_entry& s) { return !w.contains(s.uid); });
  std::vector<std::string> too_large;
  std::erase_if(in.local, [&](const local_message& m) {
    if (m.uid)
      return !w.contains(*m.uid);
    if (!maxsize)
      return false;
    const auto size = size_of(m.key);
    if (!size || *size < *maxsize)
      return false;
    too_large.push_back(m.key);
    return true;
  });
  return too_large;
}

} // namespace oimap::sync
