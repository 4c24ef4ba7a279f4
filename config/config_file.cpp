// Reading, querying and overriding an OfflineIMAP configuration file.
#include "config/config_file.hpp"

#include "config/interpolation.hpp"
#include "config/python_str.hpp"
#include "config/typed_value.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <utility>

namespace oimap::config {

namespace {

std::string at(const std::string& filename, std::size_t line) {
  return filename + ":" + std::to_string(line);
}

// Python reads the file in text mode: "\r\n" and a lone "\r" end a line too.
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' || text[i] == '\r') {
      lines.push_back(text.substr(start, i - start));
      if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
        ++i;
      }
      start = i + 1;
    }
  }
  if (start < text.size()) {
    lines.push_back(text.substr(start));
  }
  return lines;
}

} // namespace

// Follows configparser.RawConfigParser._read line by line; the comments
// name the Python behaviour each branch reproduces.
class config_file::parser {
public:
  explicit parser(config_file& file) : file_(file) {}

  void run(std::string_view text) {
    // A UTF-8 byte order mark is skipped. Python would keep it as U+FEFF and
    // refuse the first line; accepting such a file is the friendlier choice.
    if (text.starts_with("\xEF\xBB\xBF")) {
      text.remove_prefix(3);
    }
    std::size_t lineno = 0;
    for (const std::string_view line : split_lines(text)) {
      ++lineno;
      read_line(line, lineno);
    }
    finish_value();
    if (!deferred_error_.empty()) {
      throw config_error(deferred_error_);
    }
  }

private:
  void read_line(std::string_view line, std::size_t lineno) {
    const std::string_view stripped = python_strip(line);
    const bool comment = stripped.starts_with('#') || stripped.starts_with(';');
    if (stripped.empty() || comment) {
      // Blank lines belong to a value being continued (empty_lines_in_values);
      // comment lines are dropped without ending the value.
      if (!comment && option_ != nullptr) {
        value_lines_.emplace_back();
      }
      return;
    }
    const std::size_t indent = python_indent(line);
    if (option_ != nullptr && indent > indent_level_) {
      value_lines_.emplace_back(stripped); // continuation line
      return;
    }
    indent_level_ = indent;
    if (read_section_header(stripped, lineno)) {
      return;
    }
    if (section_ == nullptr) {
      throw config_error(at(file_.filename_, lineno)
                         + ": option line outside any section (the file must start with a "
                           "[Section] header)");
    }
    read_option(stripped, lineno);
  }

  // SECTCRE is r"\[(?P<header>.+)\]" matched at the start of the stripped
  // line: the name runs to the LAST ']' and anything after it is ignored.
  bool read_section_header(std::string_view stripped, std::size_t lineno) {
    const std::size_t close = stripped.rfind(']');
    if (!stripped.starts_with('[') || close == std::string_view::npos || close < 2) {
      return false;
    }
    finish_value();
    const std::string name(stripped.substr(1, close - 1));
    const std::string where = at(file_.filename_, lineno);
    if (name == default_section) {
      // Python never reports [DEFAULT] twice: its options just accumulate.
      section_ = &file_.defaults_;
      if (section_->where.empty()) {
        section_->where = where;
      }
    } else if (const section_entry* seen = file_.find_section(name)) {
      // strict=True: DuplicateSectionError.
      throw config_error(where + ": section [" + name + "] is defined twice (first at "
                         + seen->where + ")");
    } else {
      file_.sections_.push_back(section_entry{name, where, {}});
      section_ = &file_.sections_.back();
    }
    return true;
  }

  // OPTCRE: the name is everything before the first '=' or ':'.
  void read_option(std::string_view stripped, std::size_t lineno) {
    const std::string where = at(file_.filename_, lineno);
    const std::size_t delimiter = stripped.find_first_of("=:");
    if (delimiter == std::string_view::npos) {
      // The line is not quoted: it may be a password continuation line that
      // lost its indentation. The value before it stays open, as in Python.
      defer_error(where
                  + ": line is neither a [Section] header nor 'option = value' "
                    "(a continuation line must be indented)");
      return;
    }
    if (delimiter == 0) {
      // Python goes on and stores the value under the empty name.
      defer_error(where + ": option name missing before '" + stripped[0] + "'");
    }
    std::string name = ascii_lower(python_rstrip(stripped.substr(0, delimiter)));
    if (const option_entry* seen = section_->find(name)) {
      // strict=True: DuplicateOptionError.
      throw config_error(where + ": option '" + name + "' is set twice in [" + section_->name
                         + "] (first at " + seen->where + ")");
    }
    finish_value();
    std::string value(python_strip(stripped.substr(delimiter + 1)));
    if (name.empty()) {
      // Python's `optname` is then falsy: nothing continues this value.
      section_->options.push_back(option_entry{std::move(name), std::move(value), where});
      return;
    }
    section_->options.push_back(option_entry{std::move(name), {}, where});
    option_ = &section_->options.back();
    value_lines_.assign(1, std::move(value));
  }

  // Python collects ParsingErrors and raises the first at the end of the
  // file, while duplicates raise at once; doing the same keeps the reported
  // line identical to OfflineIMAP's.
  void defer_error(std::string message) {
    if (deferred_error_.empty()) {
      deferred_error_ = std::move(message);
    }
  }

  // _join_multiline_values: lines joined with '\n', trailing blanks dropped.
  void finish_value() {
    if (option_ == nullptr) {
      return;
    }
    std::string value;
    for (std::size_t i = 0; i < value_lines_.size(); ++i) {
      value += (i == 0 ? "" : "\n") + value_lines_[i];
    }
    option_->value = std::string(python_rstrip(value));
    option_ = nullptr;
    value_lines_.clear();
  }

  config_file& file_;
  // Pointers stay valid: a section's options vector only grows after
  // finish_value() has let go of option_, and sections_ only grows when
  // section_ is about to be replaced.
  section_entry* section_ = nullptr;
  option_entry* option_ = nullptr;
  std::vector<std::string> value_lines_;
  std::size_t indent_level_ = 0;
  std::string deferred_error_;
};

const config_file::option_entry* config_file::section_entry::find(std::string_view lowered) const {
  for (const option_entry& option : options) {
    if (option.name == lowered) {
      return &option;
    }
  }
  return nullptr;
}

config_file::option_entry* config_file::section_entry::find(std::string_view lowered) {
  return const_cast<option_entry*>(std::as_const(*this).find(lowered));
}

config_file config_file::parse(std::string_view text, std::string filename) {
  config_file file;
  file.filename_ = std::move(filename);
  parser(file).run(text);
  return file;
}

config_file config_file::load(const std::filesystem::path& path, std::string display_name) {
  const std::string shown = display_name.empty() ? path.string() : std::move(display_name);
  auto fail = [&](int error) {
    throw config_error("cannot read " + shown + ": " + std::strerror(error));
  };
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> stream(std::fopen(path.c_str(), "rb"),
                                                               &std::fclose);
  if (!stream) {
    fail(errno);
  }
  std::string text;
  char buffer[8192];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, stream.get())) {
    text.append(buffer, n);
  }
  if (std::ferror(stream.get())) {
    fail(errno); // e.g. EISDIR: fopen() accepts a directory, reading fails
  }
  return parse(text, shown);
}

const config_file::section_entry* config_file::find_section(std::string_view name) const {
  if (name == default_section) {
    return &defaults_;
  }
  for (const section_entry& section : sections_) {
    if (section.name == name) {
      return &section;
    }
  }
  return nullptr;
}

const config_file::option_entry* config_file::find_option(std::string_view section,
                                                          std::string_view option) const {
  const section_entry* found = find_section(section);
  if (found == nullptr) {
    return nullptr;
  }
  const std::string lowered = ascii_lower(option);
  if (const option_entry* own = found->find(lowered)) {
    return own;
  }
  return defaults_.find(lowered);
}

std::vector<std::string> config_file::sections() const {
  std::vector<std::string> names;
  for (const section_entry& section : sections_) {
    names.push_back(section.name);
  }
  return names;
}

bool config_file::has_section(std::string_view section) const {
  return section != default_section && find_section(section) != nullptr;
}

std::vector<std::string> config_file::options(std::string_view section) const {
  std::vector<std::string> names;
  const section_entry* found = find_section(section);
  if (found == nullptr) {
    return names;
  }
  for (const option_entry& option : found->options) {
    names.push_back(option.name);
  }
  if (found != &defaults_) {
    for (const option_entry& option : defaults_.options) {
      if (found->find(option.name) == nullptr) {
        names.push_back(option.name);
      }
    }
  }
  return names;
}

bool config_file::has_option(std::string_view section, std::string_view option) const {
  return find_option(section, option) != nullptr;
}

std::optional<std::string> config_file::get_raw(std::string_view section,
                                                std::string_view option) const {
  const option_entry* found = find_option(section, option);
  if (found == nullptr) {
    return std::nullopt;
  }
  return found->value;
}

std::optional<std::string> config_file::get(std::string_view section,
                                            std::string_view option) const {
  const option_entry* found = find_option(section, option);
  if (found == nullptr) {
    return std::nullopt;
  }
  // References resolve in the section being read, then [DEFAULT], even when
  // the value itself was inherited from [DEFAULT] (Python's ChainMap).
  const raw_lookup lookup = [&](const std::string& name) -> const std::string* {
    const option_entry* referenced = find_option(section, name);
    return referenced != nullptr ? &referenced->value : nullptr;
  };
  try {
    return interpolate(found->name, found->value, lookup);
  } catch (const interpolation_error& e) {
    throw config_error(found->where + ": bad interpolation in '" + found->name + "' in ["
                       + std::string(section) + "]: " + e.what());
  }
}

std::string config_file::where(std::string_view section, std::string_view option) const {
  if (const option_entry* found = find_option(section, option)) {
    return found->where;
  }
  return where_section(section);
}

std::string config_file::where_section(std::string_view section) const {
  const section_entry* found = find_section(section);
  if (found == nullptr || found->where.empty()) {
    return filename_;
  }
  return found->where;
}

void config_file::set(std::string_view section, std::string_view option, std::string value,
                      std::string origin) {
  const std::string lowered = ascii_lower(option);
  if (!interpolation_syntax_ok(value)) {
    throw config_error(origin + ": bad interpolation in the value of '" + lowered + "' for ["
                       + std::string(section)
                       + "]: '%' must be followed by '%' or '(' (write '%%' for a literal '%')");
  }
  auto* target = const_cast<section_entry*>(find_section(section));
  if (target == nullptr) {
    sections_.push_back(section_entry{std::string(section), origin, {}});
    target = &sections_.back();
  }
  if (option_entry* existing = target->find(lowered)) {
    existing->value = std::move(value);
    existing->where = std::move(origin);
  } else {
    target->options.push_back(option_entry{lowered, std::move(value), std::move(origin)});
  }
}

void config_file::bad_value(std::string_view section, std::string_view option,
                            const std::string& value, std::string_view expected) const {
  throw config_error(where(section, option) + ": option '" + ascii_lower(option) + "' in ["
                     + std::string(section) + "] must be " + std::string(expected) + ", not '"
                     + value + "'");
}

bool config_file::get_bool(std::string_view section, std::string_view option, bool fallback) const {
  const auto text = get(section, option);
  if (!text) {
    return fallback;
  }
  const auto value = parse_bool(*text);
  if (!value) {
    bad_value(section, option, *text, "a boolean (yes/no, true/false, on/off, 1/0)");
  }
  return *value;
}

long long config_file::get_int(std::string_view section, std::string_view option,
                               long long fallback) const {
  const auto text = get(section, option);
  if (!text) {
    return fallback;
  }
  const auto value = parse_int(*text);
  if (!value) {
    bad_value(section, option, *text, "an integer");
  }
  return *value;
}

double config_file::get_double(std::string_view section, std::string_view option,
                               double fallback) const {
  const auto text = get(section, option);
  if (!text) {
    return fallback;
  }
  const auto value = parse_double(*text);
  if (!value) {
    bad_value(section, option, *text, "a number");
  }
  return *value;
}

std::vector<std::string> config_file::get_list(std::string_view section,
                                               std::string_view option) const {
  const auto text = get(section, option);
  return text ? split_list(*text) : std::vector<std::string>{};
}

} // namespace oimap::config
