// configparser's BasicInterpolation: %(name)s references and %% escapes.
#include "config/interpolation.hpp"

#include "config/python_str.hpp"

#include <optional>

namespace oimap::config {

namespace {

// Matches Python's _KEYCRE, r"%\(([^)]+)\)s", at the start of `text` (which
// starts with "%("). Returns the name and sets `length` to the match length.
std::optional<std::string_view> match_reference(std::string_view text, std::size_t& length) {
  const std::size_t close = text.find(')', 2);
  if (close == std::string_view::npos || close == 2 || close + 1 >= text.size()
      || text[close + 1] != 's') {
    return std::nullopt;
  }
  length = close + 2;
  return text.substr(2, close - 2);
}

struct expander {
  const raw_lookup& lookup;

  // `context` is the option whose value `rest` is: the one the user asked
  // for at depth 1, a referenced one deeper down. Errors name both.
  void expand(std::string& out, std::string_view rest, int depth, std::string_view context,
              std::string_view top) const {
    auto fail = [&](const std::string& why) {
      std::string text = why;
      if (context != top) {
        text += " (in the value of '" + std::string(context) + "', which '" + std::string(top)
                + "' refers to)";
      }
      throw interpolation_error(text);
    };
    if (depth > max_interpolation_depth) {
      throw interpolation_error("references nest more than "
                                + std::to_string(max_interpolation_depth)
                                + " levels deep (does an option refer to itself?)");
    }
    while (!rest.empty()) {
      const std::size_t percent = rest.find('%');
      if (percent == std::string_view::npos) {
        out += rest;
        return;
      }
      out += rest.substr(0, percent);
      rest.remove_prefix(percent);
      const char next = rest.size() > 1 ? rest[1] : '\0';
      if (next == '%') {
        out += '%';
        rest.remove_prefix(2);
      } else if (next == '(') {
        std::size_t length = 0;
        const auto name = match_reference(rest, length);
        if (!name) {
          fail("'%(' must be followed by a name and ')s', as in '%(name)s'");
        }
        const std::string key = ascii_lower(*name);
        rest.remove_prefix(length);
        const std::string* value = lookup(key);
        if (value == nullptr) {
          fail("'%(" + key
               + ")s' refers to an option that is not set in this section or in [DEFAULT]");
        }
        if (value->find('%') != std::string::npos) {
          expand(out, *value, depth + 1, key, top);
        } else {
          out += *value;
        }
      } else {
        fail("'%' must be followed by '%' or '(' (write '%%' for a literal '%')");
      }
    }
  }
};

} // namespace

std::string interpolate(std::string_view option, std::string_view raw, const raw_lookup& lookup) {
  std::string out;
  expander{lookup}.expand(out, raw, 1, option, option);
  return out;
}

bool interpolation_syntax_ok(std::string_view value) {
  // Literally Python's before_set: drop every "%%", then every "%(name)s"
  // match of what is left, then look for a stray '%'. (Checking in one pass
  // would disagree with Python on oddities like "%(a)%%s".)
  std::string unescaped;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '%' && i + 1 < value.size() && value[i + 1] == '%') {
      ++i;
      continue;
    }
    unescaped += value[i];
  }
  const std::string_view rest = unescaped;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] != '%') {
      continue;
    }
    std::size_t length = 0;
    if (rest.size() > i + 1 && rest[i + 1] == '(' && match_reference(rest.substr(i), length)) {
      i += length - 1;
      continue;
    }
    return false;
  }
  return true;
}

} // namespace oimap::config
