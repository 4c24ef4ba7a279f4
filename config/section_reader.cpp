// Reads one section's options for the settings, with their error wording.
#include "config/section_reader.hpp"

#include "config/paths.hpp"

namespace oimap::config {

section_reader::section_reader(const config_file& file, std::string section, std::string who)
    : file_(file), section_(std::move(section)), who_(std::move(who)) {}

std::optional<std::string> section_reader::text(std::string_view option) const {
  return file_.get(section_, option);
}

std::string section_reader::required(std::string_view option) const {
  auto value = text(option);
  if (!value) {
    fail(option, "'" + std::string(option) + "' is required in [" + section_ + "]");
  }
  if (value->empty()) {
    fail(option, "'" + std::string(option) + "' is empty");
  }
  return *value;
}

std::optional<std::filesystem::path> section_reader::path(std::string_view option) const {
  const auto value = text(option);
  if (!value) {
    return std::nullopt;
  }
  return std::filesystem::path(expand_path(*value));
}

bool section_reader::boolean(std::string_view option, bool fallback) const {
  return file_.get_bool(section_, option, fallback);
}

int section_reader::integer(std::string_view option, int fallback, int min, int max) const {
  const long long value = file_.get_int(section_, option, fallback);
  if (value < min || value > max) {
    fail(option, "'" + std::string(option) + "' must be between " + std::to_string(min) + " and "
                     + std::to_string(max) + ", not " + std::to_string(value));
  }
  return static_cast<int>(value);
}

double section_reader::number(std::string_view option, double fallback) const {
  return file_.get_double(section_, option, fallback);
}

std::vector<std::string> section_reader::list(std::string_view option) const {
  return file_.get_list(section_, option);
}

void section_reader::fail(std::string_view option, const std::string& why) const {
  throw config_error(file_.where(section_, option) + ": " + who_ + ": " + why);
}

} // namespace oimap::config
