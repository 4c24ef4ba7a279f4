// FETCH response items and flag spellings; protocol-local so this layer links without storage.
#include "protocol/fetch_items.hpp"

#include <array>
#include <charconv>

namespace oimap::protocol {

namespace {

using storage::flag;
using storage::flag_set;

struct spelling {
  flag f;
  std::string_view name;
};

// Same table as storage/flags.cpp; kept here because oimap_storage links
// oimap_protocol, not the other way round.
constexpr std::array<spelling, 5> spellings{{
    {flag::draft, "\\Draft"},
    {flag::flagged, "\\Flagged"},
    {flag::replied, "\\Answered"},
    {flag::seen, "\\Seen"},
    {flag::trashed, "\\Deleted"},
}};

bool has_streamed(const value& v) {
  if (v.type == value::kind::streamed)
    return true;
  for (const auto& i : v.items)
    if (has_streamed(i))
      return true;
  return false;
}

} // namespace

std::uint64_t number_value(const value& v) {
  if (v.type == value::kind::number)
    return v.number;
  // Some servers' numbers reach us as atoms; digits only, else 0.
  std::uint64_t n = 0;
  const char* b = v.text.data();
  auto [p, ec] = std::from_chars(b, b + v.text.size(), n);
  return ec == std::errc() && p == b + v.text.size() ? n : 0;
}

flag_set flags_from_list(const value& list) {
  flag_set out;
  for (const auto& item : list.items) {
    if (item.type != value::kind::atom || item.text.empty() || item.text[0] != '\\')
      continue;
    for (const auto& s : spellings)
      if (item.is_atom(s.name))
        out.add(s.f);
  }
  return out;
}

std::vector<std::string_view> imap_flag_names(flag_set f) {
  std::vector<std::string_view> out;
  for (const auto& s : spellings)
    if (f.has(s.f))
      out.push_back(s.name);
  return out;
}

// msg-att-dynamic = "FLAGS" SP "(" [flag-fetch *(SP flag-fetch)] ")"
// msg-att-static  = "INTERNALDATE" SP date-time / "UID" SP uniqueid /
//                   "BODY" section ["<" number ">"] SP nstring / ...
// fetch-mod-resp  = "MODSEQ" SP "(" permsg-modsequence ")"     (RFC 7162)
bool decode_fetch(const response& r, fetch_items& out) {
  out = fetch_items{};
  if (r.keyword != "FETCH" || r.data.size() != 1 || r.data[0].type != value::kind::list)
    return false;
  const auto& items = r.data[0].items;
  for (std::size_t i = 0; i + 1 < items.size(); i += 2) {
    const value& name = items[i];
    const value& val = items[i + 1];
    if (name.type != value::kind::atom)
      continue;
    if (name.is_atom("UID")) {
      std::uint64_t uid = number_value(val);
      out.uid = uid <= UINT32_MAX ? static_cast<std::uint32_t>(uid) : 0;
    } else if (name.is_atom("FLAGS") && val.type == value::kind::list) {
      out.has_flags = true;
      out.flags = flags_from_list(val);
    } else if (name.is_atom("MODSEQ") && val.type == value::kind::list && !val.items.empty()) {
      out.modseq = number_value(val.items[0]);
    } else if (name.is_atom("INTERNALDATE") && val.type == value::kind::string) {
      out.internaldate = val.text;
    } else if (name.is_atom("BODY[]") || name.is_atom("RFC822")) {
      out.body = &val;
      out.body_is_last_literal = true;
      continue;
    }
    if (out.body && has_streamed(val))
      out.body_is_last_literal = false;
  }
  return true;
}

} // namespace oimap::protocol
