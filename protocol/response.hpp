// The parsed form of one IMAP server response (RFC 3501 §7, RFC 9051 §7).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace oimap::protocol {

// One value of a response, parsed generically: the session interprets it.
struct value {
  enum class kind : std::uint8_t {
    atom,     // OK, FLAGS, \Seen, \*, BODY[HEADER.FIELDS (X)]<0>, NIL is its own kind
    number,   // digits only, fits in 64 bits; text keeps the digits too
    string,   // quoted or literal string held in memory (text)
    nil,      // NIL
    list,     // ( ... )
    streamed, // a literal handed to the literal_sink; text is empty, number = size
  };
  kind type = kind::atom;
  std::string text;         // atom text, string contents, digits of a number
  std::uint64_t number = 0; // for number and streamed
  std::vector<value> items; // for list

  bool is_atom(std::string_view upper) const; // case-insensitive atom compare

  bool operator==(const value&) const = default;
};

// A readable rendering for traces and tests: atoms bare, strings quoted with
// C escapes, NIL, (lists), <streamed N> for literals handed to the sink.
std::string to_string(const value& v);

struct response {
  enum class kind : std::uint8_t {
    tagged,       // <tag> OK|NO|BAD [code] text
    untagged,     // * ...
    continuation, // + text
  };
  kind type = kind::untagged;
  std::string tag;

  // Status responses (OK, NO, BAD, BYE, PREAUTH; tagged or untagged):
  // status is upper-cased, code holds the bracketed response code split into
  // values ([APPENDUID 38505 3955] -> atom APPENDUID, number, number), text the rest.
  // keyword stays empty for them.
  std::string status;
  std::vector<value> code;
  std::string text;

  // Other untagged data: "* 23 EXISTS" -> number 23, keyword EXISTS;
  // "* 12 FETCH (...)" -> number 12, keyword FETCH, data = [list];
  // "* CAPABILITY IMAP4rev1 ..." -> keyword CAPABILITY, data = atoms;
  // "* LIST (\HasNoChildren) "." INBOX" -> keyword LIST, data = [list, string, atom|string].
  // keyword is upper-cased. has_number says whether a number preceded it.
  bool has_number = false;
  std::uint64_t number = 0;
  std::string keyword;
  std::vector<value> data;

  bool is_status() const { return !status.empty(); }

  bool operator==(const response&) const = default;
};

// One line per response, e.g. `A1 OK [READ-WRITE] "SELECT completed"` or
// `* 12 FETCH (UID 5)`; for traces and tests.
std::string to_string(const response& r);

} // namespace oimap::protocol
