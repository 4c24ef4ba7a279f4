// A tokenizer over the date's words and numbers: mail's dates are too varied for strptime.
#include "storage/mail_date.hpp"

#include <array>
#include <cctype>
#include <ctime>
#include <string>
#include <vector>

namespace oimap::storage {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool all_digits(std::string_view s) {
  if (s.empty())
    return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return false;
  return true;
}

int number(std::string_view s) {
  int n = 0;
  for (char c : s)
    n = n * 10 + (c - '0');
  return n;
}

// Words, numbers and the +/- zone, with comments dropped and ',' a separator.
std::vector<std::string> tokens(std::string_view text) {
  std::vector<std::string> out;
  std::string current;
  int depth = 0;
  const auto end_token = [&] {
    if (!current.empty())
      out.push_back(std::move(current));
    current.clear();
  };
  for (char c : text) {
    if (c == '(') {
      end_token();
      ++depth;
    } else if (c == ')') {
      if (depth > 0)
        --depth;
    } else if (depth > 0) {
      continue;
    } else if (std::isspace(static_cast<unsigned char>(c)) || c == ',') {
      end_token();
    } else {
      current += c;
    }
  }
  end_token();
  return out;
}

std::optional<int> month_of(const std::string& word) {
  static constexpr std::array<const char*, 12> names{"jan", "feb", "mar", "apr", "may", "jun",
                                                     "jul", "aug", "sep", "oct", "nov", "dec"};
  const std::string w = lower(word).substr(0, 3);
  for (std::size_t i = 0; i < names.size(); ++i)
    if (w == names[i])
      return static_cast<int>(i);
  return std::nullopt;
}

// Minutes east of UTC.
std::optional<int> zone_of(const std::string& word) {
  if ((word[0] == '+' || word[0] == '-') && word.size() == 5 && all_digits(word.substr(1))) {
    const int hhmm = number(word.substr(1));
    const int minutes = hhmm / 100 * 60 + hhmm % 100;
    return word[0] == '-' ? -minutes : minutes;
  }
  const std::string w = lower(word);
  if (w == "ut" || w == "utc" || w == "gmt" || w == "z")
    return 0;
  if (w == "edt")
    return -4 * 60;
  if (w == "est" || w == "cdt")
    return -5 * 60;
  if (w == "cst" || w == "mdt")
    return -6 * 60;
  if (w == "mst" || w == "pdt")
    return -7 * 60;
  if (w == "pst")
    return -8 * 60;
  if (w.size() == 1 && std::isalpha(static_cast<unsigned char>(w[0])))
    return 0; // military zones: RFC 5322 says to take them as +0000
  return std::nullopt;
}

} // namespace

std::optional<std::int64_t> parse_mail_date(std::string_view text) {
  auto t = tokens(text);
  std::size_t i = 0;
  if (i < t.size() && !all_digits(t[i]))
    ++i; // the weekday (no weekday name begins like a month's)
  if (i + 2 >= t.size() || !all_digits(t[i]))
    return std::nullopt;
  const int day = number(t[i++]);
  const auto month = month_of(t[i++]);
  if (!month || !all_digits(t[i]))
    return std::nullopt;
  int year = number(t[i]);
  if (t[i].size() <= 2)
    year += year < 50 ? 2000 : 1900; // RFC 5322 §4.3
  else if (t[i].size() == 3)
    year += 1900;
  ++i;
  if (i >= t.size())
    return std::nullopt;
  // hh:mm[:ss]
  int hms[3] = {0, 0, 0};
  {
    const std::string& clock = t[i++];
    int part = 0;
    std::string digits;
    for (char c : clock + ":") {
      if (c == ':') {
        if (part > 2 || !all_digits(digits))
          return std::nullopt;
        hms[part++] = number(digits);
        digits.clear();
      } else {
        digits += c;
      }
    }
    if (part < 2)
      return std::nullopt;
  }
  int zone = 0;
  if (i < t.size()) {
    const auto z = zone_of(t[i]);
    if (!z)
      return std::nullopt;
    zone = *z;
  }
  if (day < 1 || day > 31 || hms[0] > 23 || hms[1] > 59 || hms[2] > 60 || year < 1970)
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = *month;
  tm.tm_mday = day;
  tm.tm_hour = hms[0];
  tm.tm_min = hms[1];
  tm.tm_sec = hms[2];
  const std::int64_t utc = static_cast<std::int64_t>(::timegm(&tm));
  return utc - static_cast<std::int64_t>(zone) * 60;
}

std::optional<std::int64_t> date_header_time(std::string_view headers, std::string_view name) {
  const std::string prefix = lower(name) + ":";
  std::size_t pos = 0;
  while (pos < headers.size()) {
    std::size_t eol = headers.find('\n', pos);
    if (eol == std::string_view::npos)
      eol = headers.size();
    std::string_view line = headers.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    if (line.empty())
      return std::nullopt; // the end of the headers
    if (line.size() > prefix.size() && lower(line.substr(0, prefix.size())) == prefix) {
      std::string value(line.substr(prefix.size()));
      // Folded continuation lines belong to it.
      for (std::size_t next = eol + 1; next < headers.size();) {
        std::size_t e = headers.find('\n', next);
        if (e == std::string_view::npos)
          e = headers.size();
        std::string_view l = headers.substr(next, e - next);
        if (l.empty() || (l[0] != ' ' && l[0] != '\t'))
          break;
        value += ' ';
        value += l;
        next = e + 1;
      }
      return parse_mail_date(value);
    }
    pos = eol + 1;
  }
  return std::nullopt;
}

} // namespace oimap::storage
