// --dry-run's report, from sync::preview_account.
#include "app/dry_run.hpp"

#include "sync/dry_run.hpp"

#include <algorithm>
#include <exception>

namespace oimap::app {

int dry_run(const config::settings& settings,
            const std::shared_ptr<config::python_evaluator>& python,
            const std::vector<std::string>& only, std::ostream& out, std::ostream& err) {
  int code = 0;
  out << "Dry run: nothing is changed on the server, in the Maildir or in the status.\n";
  for (const auto& account : settings.accounts) {
    out << "*** Account " << account.name << "\n";
    for (const auto* hook : {&account.presynchook, &account.postsynchook})
      if (*hook)
        out << "not run in a dry run: hook '" << **hook << "'\n";
    try {
      const auto preview = sync::preview_account(settings, account, python, only);
      for (const auto& f : preview.folders) {
        out << account.name << ":" << f.local_name << ": " << sync::describe(f) << "\n";
        if (f.uidvalidity_changed)
          code = std::max(code, 2);
      }
      for (const auto& r : preview.refused) {
        err << "ERROR: " << account.name << ":" << r.name << ": would fail: " << r.reason << "\n";
        code = std::max(code, 1);
      }
    } catch (const std::exception& e) {
      err << "ERROR: account " << account.name << ": " << e.what() << "\n";
      code = std::max(code, 1);
    }
  }
  return code;
}

} // namespace oimap::app
