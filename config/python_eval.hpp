// The Python-valued options (pythonfile, *eval, folderfilter): one embedded CPython, loaded on
// first use.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace oimap::config {

// Evaluates configuration expressions the way OfflineIMAP does: in the
// namespace of [general] pythonfile (run once, before the first
// expression). CPython (libpython3) is loaded only when the first
// expression is evaluated, so a configuration without one costs nothing.
// Thread-safe: calls are serialised, each under the GIL. The interpreter
// lives until the process ends; it installs no signal handler.
//
// Every error is a config_error "<where>: <what> failed: <Python's
// exception>" (where: the option's file:line).
class python_evaluator {
public:
  explicit python_evaluator(std::optional<std::filesystem::path> pythonfile,
                            std::string pythonfile_where = {});
  ~python_evaluator();
  python_evaluator(const python_evaluator&) = delete;
  python_evaluator& operator=(const python_evaluator&) = delete;

  // The expression's value as text: a str as is, bytes as UTF-8, anything
  // else as str() makes it (an int port: "993"). Each expression is
  // evaluated once and its value kept: a password helper asks once a run,
  // not once a connection.
  std::string value(const std::string& expression, const std::string& where);
  // Whether the function the expression gives (say `lambda folder: ...`)
  // returns something true for these arguments. The function is made once
  // per expression and kept.
  bool call(const std::string& expression, const std::vector<std::string>& args,
            const std::string& where);
  // The same function's result as text (as value() gives it).
  std::string call_text(const std::string& expression, const std::vector<std::string>& args,
                        const std::string& where);
  // The same function's result, which must be a str (a folder name from
  // nametrans): anything else is an error showing what it gave.
  std::string call_str(const std::string& expression, const std::vector<std::string>& args,
                       const std::string& where);

  struct interpreter; // CPython's entry points; one per process, loaded once

private:
  void start(const std::string& where); // this namespace, and pythonfile run in it
  // Started (on first use), and no failed pythonfile; python_mutex held.
  void ready(const std::string& where);
  // The function's result (a new PyObject reference); the GIL is held.
  void* invoke(const std::string& expression, const std::vector<std::string>& args,
               const std::string& where);
  // call_text, or with str_only call_str.
  std::string text_result(const std::string& expression, const std::vector<std::string>& args,
                          const std::string& where, bool str_only);

  std::optional<std::filesystem::path> pythonfile_;
  std::string pythonfile_where_;
  interpreter* py_ = nullptr;
  void* globals_ = nullptr;                                 // the namespace (a PyObject* dict)
  std::vector<std::pair<std::string, void*>> callables_;    // expression -> the function it gave
  std::vector<std::pair<std::string, std::string>> values_; // expression -> its value
  std::string failed_; // why the pythonfile failed: every call says it again
};

} // namespace oimap::config
