// A repository's nametrans, as the folder pairing calls it.
#pragma once

#include "config/settings.hpp"

#include <functional>
#include <memory>
#include <string>

namespace oimap::config {
class python_evaluator;
} // namespace oimap::config

namespace oimap::sync {

using nametrans_fn = std::function<std::string(const std::string&)>;

// The repository's nametrans as a function of a folder name; an empty
// function without one. Python is asked once per name (the pairing asks
// again for a name it checks both ways); a result that is not a str, or an
// exception, is a config_error naming the repository and the name.
nametrans_fn nametrans_of(const config::repository_settings& repo,
                          std::shared_ptr<config::python_evaluator> python);

} // namespace oimap::sync
