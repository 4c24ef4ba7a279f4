// Reads one section's options for the settings, with their error wording.
#pragma once

#include "config/config_file.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oimap::config {

// Every error it throws reads "file:line: <who>: <why>", where file:line is
// the option's definition (or the section header when the option is
// missing) and `who` is e.g. "repository 'Remote'".
class section_reader {
public:
  section_reader(const config_file& file, std::string section, std::string who);

  const std::string& section() const { return section_; }
  const std::string& who() const { return who_; }
  std::string where(std::string_view option) const { return file_.where(section_, option); }

  // Interpolated value, or nullopt if absent.
  std::optional<std::string> text(std::string_view option) const;
  // Present and non-empty, else an error ("'remotehost' is required").
  std::string required(std::string_view option) const;
  // ~ and $VAR expanded.
  std::optional<std::filesystem::path> path(std::string_view option) const;
  bool boolean(std::string_view option, bool fallback) const;
  // An integer in [min, max].
  int integer(std::string_view option, int fallback, int min, int max) const;
  double number(std::string_view option, double fallback) const;
  std::vector<std::string> list(std::string_view option) const;

  [[noreturn]] void fail(std::string_view option, const std::string& why) const;

private:
  const config_file& file_;
  std::string section_;
  std::string who_;
};

} // namespace oimap::config
