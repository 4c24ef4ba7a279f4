// --dry-run: prints what a sync of each account would do; changes nothing.
#pragma once

#include "config/settings.hpp"

#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace oimap::config {
class python_evaluator;
} // namespace oimap::config

namespace oimap::app {

// One account after the other, as OfflineIMAP's --dry-run: no hook runs, no
// folder, message, status or mbnames file is written, autorefresh is not
// waited for. Returns the exit status: 1 if an account could not be read or
// a folder would fail, else 0 (2 if a folder would be skipped for its
// UIDVALIDITY, as a sync would return).
int dry_run(const config::settings& settings,
            const std::shared_ptr<config::python_evaluator>& python,
            const std::vector<std::string>& only, std::ostream& out, std::ostream& err);

} // namespace oimap::app
