// Flag spelling conversions between Maildir letters and IMAP system flags.
#include "storage/flags.hpp"

#include <array>
#include <cctype>

namespace oimap::storage {
namespace {

struct flag_spelling {
  flag f;
  char letter;
  std::string_view imap;
};

constexpr std::array<flag_spelling, 5> spellings{{
    {flag::draft, 'D', "\\Draft"},
    {flag::flagged, 'F', "\\Flagged"},
    {flag::replied, 'R', "\\Answered"},
    {flag::seen, 'S', "\\Seen"},
    {flag::trashed, 'T', "\\Deleted"},
}};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i]))
        != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

} // namespace

std::string flag_set::to_maildir() const {
  std::string out;
  for (const auto& s : spellings)
    if (has(s.f))
      out.push_back(s.letter);
  return out;
}

flag_set flag_set::from_maildir(std::string_view letters) {
  flag_set out;
  for (char c : letters)
    for (const auto& s : spellings)
      if (s.letter == c)
        out.add(s.f);
  return out;
}

std::string flag_set::to_imap() const {
  std::string out;
  for (const auto& s : spellings) {
    if (!has(s.f))
      continue;
    if (!out.empty())
      out.push_back(' ');
    out.append(s.imap);
  }
  return out;
}

std::optional<flag> flag_set::from_imap(std::string_view name) {
  for (const auto& s : spellings)
    if (iequals(s.imap, name))
      return s.f;
  return std::nullopt;
}

} // namespace oimap::storage
