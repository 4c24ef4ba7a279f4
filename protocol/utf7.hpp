// Modified UTF-7 for mailbox names (RFC 3501 §5.1.3).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace oimap::protocol {

// UTF-8 -> modified UTF-7: printable ASCII stays (with "&" as "&-"), runs of
// anything else become "&" + base64 of UTF-16BE (with "," for "/") + "-".
// Throws std::invalid_argument when utf8 is not valid UTF-8 (overlong forms,
// encoded surrogates and code points above U+10FFFF included) or holds NUL.
std::string to_imap_utf7(std::string_view utf8);

// The same, returning nullopt instead of throwing.
std::optional<std::string> try_to_imap_utf7(std::string_view utf8);

// Modified UTF-7 -> UTF-8; nullopt when the input is not the one canonical
// encoding: 8-bit or control bytes, bad base64, "&" unterminated, non-zero
// or excess padding bits, unpaired UTF-16 surrogates, printable ASCII in
// base64, two adjacent base64 runs, or an encoded NUL.
std::optional<std::string> from_imap_utf7(std::string_view utf7);

} // namespace oimap::protocol
