// What --dry-run and --info share: one section per account, its errors as the sync words them.
#pragma once

#include "config/settings.hpp"
#include "sync/folder_tree.hpp"

#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace oimap::app {

// "*** Account X", then report's lines; an exception ends the account with
// an error line naming it. Returns the highest status: report's, or 1.
int for_each_account(const config::settings& settings, std::ostream& out, std::ostream& err,
                     const std::function<int(const config::account_settings&)>& report);

// One error line for each folder the sync would fail; 1 if any, else 0.
int report_refused(const std::string& account, const std::vector<sync::refused_folder>& refused,
                   std::ostream& err);

} // namespace oimap::app
