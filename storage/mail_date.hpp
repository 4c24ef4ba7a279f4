// utime_from_header: the time a message's Date: header gives, as seconds since the epoch.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace oimap::storage {

// The Date: header's (or another date header's, by name) time among a message's headers (the text
// up to the first empty line; CRLF or LF). RFC 5322 dates, and the obsolete forms mail still
// carries: no weekday, two-digit years, no seconds, comments, named zones (UT, GMT, EST ... PDT;
// military letters count as +0000). Nullopt when there is no Date: header or it cannot be read.
std::optional<std::int64_t> date_header_time(std::string_view headers,
                                             std::string_view name = "Date");

// One date-time as the header holds it, e.g. "Tue, 3 Jun 2008 11:05:30 +0200".
std::optional<std::int64_t> parse_mail_date(std::string_view text);

} // namespace oimap::storage
