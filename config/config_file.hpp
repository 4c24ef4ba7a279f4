// An OfflineIMAP configuration file read with Python 3 configparser semantics.
#pragma once

#include "config/config_error.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oimap::config {

// What Python's configparser.ConfigParser() (BasicInterpolation, strict,
// '=' and ':' delimiters, whole-line '#'/';' comments, no inline comments)
// reads from the same text, plus where each value came from so the typed
// layer can say "file:line" in its errors.
//
// Section names are case-sensitive; option names are not (stored lower-case).
// Every section inherits the options of [DEFAULT]. Lookups in a section that
// does not exist find nothing, even options of [DEFAULT] (Python raises
// NoSectionError there); asking for section "DEFAULT" reads [DEFAULT] itself.
class config_file {
public:
  // Section every other section inherits from.
  static constexpr std::string_view default_section = "DEFAULT";

  // Parses `text`; `filename` is what errors and where() show.
  // Throws config_error on a syntax error, naming filename:line.
  static config_file parse(std::string_view text, std::string filename);

  // Reads and parses a file. Errors show `display_name` if given (e.g. the
  // "~/.offlineimaprc" the user knows), else the path. A missing or unreadable
  // file gives "cannot read <path>: <strerror>".
  static config_file load(const std::filesystem::path& path, std::string display_name = {});

  const std::string& filename() const { return filename_; }

  // Section names in file order (sections added by set() last), without DEFAULT.
  std::vector<std::string> sections() const;
  // False for "DEFAULT", as in Python.
  bool has_section(std::string_view section) const;
  // The section's own options in file order, then inherited [DEFAULT] ones.
  std::vector<std::string> options(std::string_view section) const;
  bool has_option(std::string_view section, std::string_view option) const;

  // The interpolated value; nullopt if the section or option is missing.
  // Throws config_error ("file:line: bad interpolation in 'opt': ...").
  std::optional<std::string> get(std::string_view section, std::string_view option) const;
  // The value as written, without interpolation.
  std::optional<std::string> get_raw(std::string_view section, std::string_view option) const;

  // "file:line" of the option's definition (possibly in [DEFAULT]), or
  // "command line (-k)" for set() values; for a missing option, where the
  // section header is; for a missing section, the file name.
  std::string where(std::string_view section, std::string_view option) const;
  // "file:line" of the [section] header, or the file name if there is none.
  std::string where_section(std::string_view section) const;

  // Sets a raw value (as the -k override does). Creates the section if
  // missing; "DEFAULT" sets a default. where() reports `origin` afterwards.
  // Throws config_error if the value has a '%' that is neither "%%" nor
  // "%(name)s", as Python's set() refuses it (the value is not quoted).
  void set(std::string_view section, std::string_view option, std::string value,
           std::string origin = "command line (-k)");

  // Typed getters: `fallback` when the option is absent; a present value
  // that does not convert throws config_error naming file:line, the option,
  // its section and the value.
  // Booleans: yes/no, true/false, on/off, 1/0 in any case.
  bool get_bool(std::string_view section, std::string_view option, bool fallback) const;
  long long get_int(std::string_view section, std::string_view option, long long fallback) const;
  double get_double(std::string_view section, std::string_view option, double fallback) const;
  // Comma-separated, items trimmed, empty items dropped; empty if absent.
  std::vector<std::string> get_list(std::string_view section, std::string_view option) const;

private:
  struct option_entry {
    std::string name; // lower-case
    std::string value;
    std::string where;
  };
  struct section_entry {
    std::string name;
    std::string where;
    std::vector<option_entry> options;

    const option_entry* find(std::string_view lowered) const;
    option_entry* find(std::string_view lowered);
  };
  class parser;

  const section_entry* find_section(std::string_view name) const;
  // The option in the section, else in [DEFAULT]; nullptr if the section is
  // missing or neither has it.
  const option_entry* find_option(std::string_view section, std::string_view option) const;
  [[noreturn]] void bad_value(std::string_view section, std::string_view option,
                              const std::string& value, std::string_view expected) const;

  std::string filename_;
  section_entry defaults_{std::string(default_section), {}, {}};
  std::vector<section_entry> sections_;
};

} // namespace oimap::config
