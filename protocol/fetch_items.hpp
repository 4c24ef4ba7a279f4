// Reading the items of an untagged FETCH response, and spelling flags both ways.
#pragma once

#include "protocol/response.hpp"
#include "storage/flags.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace oimap::protocol {

// The items sync cares about from "* 12 FETCH (UID 5 FLAGS (\Seen) ...)".
struct fetch_items {
  std::uint32_t uid = 0; // 0 when the response carried no UID
  bool has_flags = false;
  storage::flag_set flags;
  std::uint64_t modseq = 0;
  std::string internaldate;
  const value* body = nullptr;      // BODY[] (string, streamed or nil); points into the response
  bool body_is_last_literal = true; // no streamed value follows BODY[] in the response
};

// msg-att = "(" (msg-att-dynamic / msg-att-static) *(SP ...) ")"
// Unknown items are skipped; false when r is not a well-formed FETCH.
bool decode_fetch(const response& r, fetch_items& out);

// A number, also when a server sent it as an atom of digits; 0 otherwise.
std::uint64_t number_value(const value& v);

// flag-list = "(" [flag *(SP flag)] ")". Keywords and \Recent are dropped:
// the flag set holds the five system flags Maildir can spell.
storage::flag_set flags_from_list(const value& list);

// The IMAP names of the flags in f, in Maildir letter order.
std::vector<std::string_view> imap_flag_names(storage::flag_set f);

} // namespace oimap::protocol
