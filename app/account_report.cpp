// The account sections of --dry-run and --info.
#include "app/account_report.hpp"

#include <algorithm>
#include <exception>

namespace oimap::app {

int for_each_account(const config::settings& settings, std::ostream& out, std::ostream& err,
                     const std::function<int(const config::account_settings&)>& report) {
  int code = 0;
  for (const auto& account : settings.accounts) {
    out << "*** Account " << account.name << "\n";
    try {
      code = std::max(code, report(account));
    } catch (const std::exception& e) {
      err << "ERROR: account " << account.name << ": " << e.what() << "\n";
      code = std::max(code, 1);
    }
  }
  return code;
}

int report_refused(const std::string& account, const std::vector<sync::refused_folder>& refused,
                   std::ostream& err) {
  for (const auto& r : refused)
    err << "ERROR: " << account << ":" << r.name << ": would fail: " << r.reason << "\n";
  return refused.empty() ? 0 : 1;
}

} // namespace oimap::app
