// nametrans through the embedded Python, remembered per folder name.
#include "sync/nametrans.hpp"

#include "config/config_error.hpp"
#include "config/python_eval.hpp"

#include <map>

namespace oimap::sync {

nametrans_fn nametrans_of(const config::repository_settings& repo,
                          std::shared_ptr<config::python_evaluator> python) {
  if (!repo.nametrans)
    return {};
  const std::string where = repo.where + ": repository '" + repo.name + "': nametrans";
  if (!python)
    throw config::config_error(where + " needs the Python evaluator");
  auto known = std::make_shared<std::map<std::string, std::string>>();
  return [known, python = std::move(python), expression = *repo.nametrans,
          where](const std::string& name) {
    auto [it, fresh] = known->try_emplace(name);
    if (fresh) {
      try {
        it->second = python->call_str(expression, {name}, where);
      } catch (...) {
        known->erase(it);
        throw;
      }
    }
    return it->second;
  };
}

} // namespace oimap::sync
