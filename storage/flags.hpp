// The five standard message flags as one byte, with their Maildir and IMAP spellings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace oimap::storage {

// Bit order follows the Maildir letter order (D F R S T), so iterating bits
// from low to high yields the sorted info suffix OfflineIMAP writes.
enum class flag : std::uint8_t {
  draft = 1 << 0,   // D  \Draft
  flagged = 1 << 1, // F  \Flagged
  replied = 1 << 2, // R  \Answered
  seen = 1 << 3,    // S  \Seen
  trashed = 1 << 4, // T  \Deleted
};

class flag_set {
public:
  constexpr flag_set() = default;
  constexpr explicit flag_set(std::uint8_t bits) : bits_(bits & all_bits) {}
  constexpr flag_set(flag f) : bits_(static_cast<std::uint8_t>(f)) {}

  static constexpr std::uint8_t all_bits = 0x1f;

  constexpr std::uint8_t bits() const { return bits_; }
  constexpr bool empty() const { return bits_ == 0; }
  constexpr bool has(flag f) const { return bits_ & static_cast<std::uint8_t>(f); }
  constexpr void add(flag_set o) { bits_ |= o.bits_; }
  constexpr void remove(flag_set o) { bits_ &= static_cast<std::uint8_t>(~o.bits_); }

  constexpr flag_set operator|(flag_set o) const { return flag_set(bits_ | o.bits_); }
  constexpr flag_set operator&(flag_set o) const { return flag_set(bits_ & o.bits_); }
  constexpr flag_set operator-(flag_set o) const {
    return flag_set(static_cast<std::uint8_t>(bits_ & ~o.bits_));
  }
  constexpr bool operator==(const flag_set&) const = default;

  // "DFRST" subset, sorted: the part after ":2," in a Maildir file name.
  std::string to_maildir() const;
  // Letters we do not know (P, lowercase keywords) are ignored, as OfflineIMAP does.
  static flag_set from_maildir(std::string_view letters);

  // "\Seen \Answered", space separated, for IMAP commands.
  std::string to_imap() const;
  // Maps one IMAP flag (case-insensitive); nullopt for keywords and \Recent.
  static std::optional<flag> from_imap(std::string_view name);

private:
  std::uint8_t bits_ = 0;
};

} // namespace oimap::storage
