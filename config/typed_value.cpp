// Conversions of option strings to bool, int, double and lists, as Python does them.
#include "config/typed_value.hpp"

#include "config/python_str.hpp"

#include <charconv>
#include <limits>

namespace oimap::config {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Python accepts '_' only between two digits ("1_000"), never doubled,
// leading or trailing. Returns the text without them, or nullopt.
std::optional<std::string> remove_digit_underscores(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '_') {
      if (i == 0 || i + 1 == text.size() || !is_digit(text[i - 1]) || !is_digit(text[i + 1])) {
        return std::nullopt;
      }
      continue;
    }
    out += text[i];
  }
  return out;
}

} // namespace

std::optional<bool> parse_bool(std::string_view text) {
  const std::string lowered = ascii_lower(text);
  if (lowered == "1" || lowered == "yes" || lowered == "true" || lowered == "on") {
    return true;
  }
  if (lowered == "0" || lowered == "no" || lowered == "false" || lowered == "off") {
    return false;
  }
  return std::nullopt;
}

std::optional<long long> parse_int(std::string_view text) {
  text = python_strip(text);
  bool negative = false;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  if (text.empty() || !is_digit(text.front())) {
    return std::nullopt;
  }
  const auto digits = remove_digit_underscores(text);
  if (!digits) {
    return std::nullopt;
  }
  // Parse as unsigned magnitude so that the most negative value still fits.
  unsigned long long magnitude = 0;
  const char* first = digits->data();
  const char* last = first + digits->size();
  const auto [end, ec] = std::from_chars(first, last, magnitude);
  if (ec != std::errc{} || end != last) {
    return std::nullopt;
  }
  constexpr auto max = static_cast<unsigned long long>(std::numeric_limits<long long>::max());
  if (!negative && magnitude > max) {
    return std::nullopt;
  }
  if (negative && magnitude > max + 1) {
    return std::nullopt;
  }
  if (negative) {
    return magnitude == max + 1 ? std::numeric_limits<long long>::min()
                                : -static_cast<long long>(magnitude);
  }
  return static_cast<long long>(magnitude);
}

std::optional<double> parse_double(std::string_view text) {
  text = python_strip(text);
  bool negative = false;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  // from_chars would also take "nan(chars)" and hex needs a flag; Python
  // takes neither, and requires a digit or '.' or a letter of inf/nan first.
  if (text.empty() || text.front() == '+' || text.front() == '-'
      || text.find('(') != std::string_view::npos) {
    return std::nullopt;
  }
  const auto cleaned = remove_digit_underscores(text);
  if (!cleaned) {
    return std::nullopt;
  }
  double value = 0;
  const char* first = cleaned->data();
  const char* last = first + cleaned->size();
  const auto [end, ec] = std::from_chars(first, last, value);
  // result_out_of_range: Python gives inf for huge and 0 for tiny literals;
  // such values make no sense in this file, so refusing them is fine.
  if (ec != std::errc{} || end != last) {
    return std::nullopt;
  }
  return negative ? -value : value;
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> items;
  while (true) {
    const std::size_t comma = text.find(',');
    const std::string_view item = python_strip(text.substr(0, comma));
    if (!item.empty()) {
      items.emplace_back(item);
    }
    if (comma == std::string_view::npos) {
      break;
    }
    text.remove_prefix(comma + 1);
  }
  return items;
}

} // namespace oimap::config
