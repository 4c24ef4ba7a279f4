// --dry-run's report, from sync::preview_account.
#include "app/dry_run.hpp"

#include "app/account_report.hpp"
#include "sync/dry_run.hpp"

#include <algorithm>

namespace oimap::app {

int dry_run(const config::settings& settings,
            const std::shared_ptr<config::python_evaluator>& python,
            const std::vector<std::string>& only, std::ostream& out, std::ostream& err) {
  out << "Dry run: nothing is changed on the server, in the Maildir or in the status.\n";
  return for_each_account(settings, out, err, [&](const config::account_settings& account) {
    for (const auto* hook : {&account.presynchook, &account.postsynchook})
      if (*hook)
        out << "not run in a dry run: hook '" << **hook << "'\n";
    const auto preview = sync::preview_account(settings, account, python, only);
    int code = 0;
    for (const auto& f : preview.folders) {
      out << account.name << ":" << f.local_name << ": " << sync::describe(f) << "\n";
      if (f.uidvalidity_changed)
        code = 2;
    }
    return std::max(code, report_refused(account.name, preview.refused, err));
  });
}

} // namespace oimap::app
