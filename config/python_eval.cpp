// libpython is opened with dlopen on first use: linking it would cost every run ~1 ms at start-up.
#include "config/python_eval.hpp"

#include "config/config_error.hpp"

#include <algorithm>
#include <dlfcn.h>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <sys/types.h>

namespace oimap::config {

namespace {

using obj = void*; // PyObject*, opaque here: no Python.h, no link-time dependency

// From CPython's compile.h; unchanged since Python 2.
constexpr int py_file_input = 257;
constexpr int py_eval_input = 258;

// Debian 12 has 3.11; the newer ones, should the machine have them. The C
// functions used here exist, with these signatures, in all of them.
constexpr const char* libpython_names[] = {"libpython3.11.so.1.0", "libpython3.12.so.1.0",
                                           "libpython3.13.so.1.0", "libpython3.10.so.1.0",
                                           "libpython3.9.so.1.0"};

} // namespace

struct python_evaluator::interpreter {
  void* lib = nullptr;
  void (*Py_InitializeEx)(int);
  void* (*PyEval_SaveThread)();
  int (*PyGILState_Ensure)();
  void (*PyGILState_Release)(int);
  obj (*PyDict_New)();
  int (*PyDict_SetItemString)(obj, const char*, obj);
  obj (*PyEval_GetBuiltins)();
  obj (*Py_CompileStringExFlags)(const char*, const char*, int, void*, int);
  obj (*PyEval_EvalCode)(obj, obj, obj);
  obj (*PyObject_CallObject)(obj, obj);
  obj (*PyTuple_New)(ssize_t);
  int (*PyTuple_SetItem)(obj, ssize_t, obj);
  obj (*PyUnicode_DecodeUTF8)(const char*, ssize_t, const char*);
  const char* (*PyUnicode_AsUTF8AndSize)(obj, ssize_t*);
  int (*PyBytes_AsStringAndSize)(obj, char**, ssize_t*);
  obj (*PyObject_Str)(obj);
  obj (*PyObject_Repr)(obj);
  int (*PyObject_IsTrue)(obj);
  void (*PyErr_Fetch)(obj*, obj*, obj*);
  void (*PyErr_NormalizeException)(obj*, obj*, obj*);
  void (*PyErr_Clear)();
  obj (*PyObject_GetAttrString)(obj, const char*);
  void (*Py_DecRef)(obj);

  std::string unavailable; // why CPython could not be loaded, if it could not

  // Runs code (Python source) in a namespace; the value for eval_input.
  obj run(obj globals, const std::string& code, const std::string& filename, int start) {
    obj compiled = Py_CompileStringExFlags(code.c_str(), filename.c_str(), start, nullptr, -1);
    if (!compiled)
      return nullptr;
    obj result = PyEval_EvalCode(compiled, globals, globals);
    Py_DecRef(compiled);
    return result;
  }

  // The pending exception as "Type: message", and cleared.
  std::string error() {
    obj type = nullptr, value = nullptr, trace = nullptr;
    PyErr_Fetch(&type, &value, &trace);
    if (!type)
      return "no Python exception was set";
    PyErr_NormalizeException(&type, &value, &trace);
    std::string text = "unknown error";
    if (obj name = PyObject_GetAttrString(type, "__name__")) {
      text = utf8(name);
      Py_DecRef(name);
    }
    if (value) {
      if (obj s = PyObject_Str(value)) {
        const std::string message = utf8(s);
        Py_DecRef(s);
        if (!message.empty())
          text += ": " + message;
      }
    }
    for (obj o : {type, value, trace})
      if (o)
        Py_DecRef(o);
    PyErr_Clear();
    return text;
  }

  // A str's UTF-8, bytes as they are, anything else as str() gives it.
  std::string utf8(obj o) {
    ssize_t n = 0;
    if (const char* s = PyUnicode_AsUTF8AndSize(o, &n))
      return std::string(s, static_cast<std::size_t>(n));
    PyErr_Clear();
    char* b = nullptr;
    if (PyBytes_AsStringAndSize(o, &b, &n) == 0)
      return std::string(b, static_cast<std::size_t>(n));
    PyErr_Clear();
    obj s = PyObject_Str(o);
    if (!s)
      return {};
    const char* t = PyUnicode_AsUTF8AndSize(s, &n);
    std::string out = t ? std::string(t, static_cast<std::size_t>(n)) : std::string();
    PyErr_Clear();
    Py_DecRef(s);
    return out;
  }
};

namespace {

// Holds the GIL for one call, from whichever thread.
class gil {
public:
  explicit gil(python_evaluator::interpreter& py) : py_(py), state_(py.PyGILState_Ensure()) {}
  ~gil() { py_.PyGILState_Release(state_); }
  gil(const gil&) = delete;
  gil& operator=(const gil&) = delete;

private:
  python_evaluator::interpreter& py_;
  int state_;
};

template <typename F> void resolve(void* lib, F*& fn, const char* name) {
  fn = reinterpret_cast<F*>(::dlsym(lib, name));
  if (!fn)
    throw std::runtime_error(std::string("libpython has no ") + name);
}

// Loads libpython and starts CPython, once per process; afterwards no
// thread holds the GIL. Calls are serialised by the one mutex.
std::mutex python_mutex;

python_evaluator::interpreter& cpython() {
  static python_evaluator::interpreter py = [] {
    python_evaluator::interpreter p;
    std::string tried;
    for (const char* name : libpython_names) {
      // RTLD_GLOBAL: extension modules (ssl, json's speedups) find CPython's
      // symbols in the global scope, as they would in the python binary.
      p.lib = ::dlopen(name, RTLD_NOW | RTLD_GLOBAL);
      if (p.lib)
        break;
      tried += std::string(tried.empty() ? "" : ", ") + name;
    }
    if (!p.lib) {
      p.unavailable =
          "no CPython library was found (" + tried + "; Debian: apt-get install libpython3.11)";
      return p;
    }
    try {
      resolve(p.lib, p.Py_InitializeEx, "Py_InitializeEx");
      resolve(p.lib, p.PyEval_SaveThread, "PyEval_SaveThread");
      resolve(p.lib, p.PyGILState_Ensure, "PyGILState_Ensure");
      resolve(p.lib, p.PyGILState_Release, "PyGILState_Release");
      resolve(p.lib, p.PyDict_New, "PyDict_New");
      resolve(p.lib, p.PyDict_SetItemString, "PyDict_SetItemString");
      resolve(p.lib, p.PyEval_GetBuiltins, "PyEval_GetBuiltins");
      resolve(p.lib, p.Py_CompileStringExFlags, "Py_CompileStringExFlags");
      resolve(p.lib, p.PyEval_EvalCode, "PyEval_EvalCode");
      resolve(p.lib, p.PyObject_CallObject, "PyObject_CallObject");
      resolve(p.lib, p.PyTuple_New, "PyTuple_New");
      resolve(p.lib, p.PyTuple_SetItem, "PyTuple_SetItem");
      resolve(p.lib, p.PyUnicode_DecodeUTF8, "PyUnicode_DecodeUTF8");
      resolve(p.lib, p.PyUnicode_AsUTF8AndSize, "PyUnicode_AsUTF8AndSize");
      resolve(p.lib, p.PyBytes_AsStringAndSize, "PyBytes_AsStringAndSize");
      resolve(p.lib, p.PyObject_Str, "PyObject_Str");
      resolve(p.lib, p.PyObject_Repr, "PyObject_Repr");
      resolve(p.lib, p.PyObject_IsTrue, "PyObject_IsTrue");
      resolve(p.lib, p.PyErr_Fetch, "PyErr_Fetch");
      resolve(p.lib, p.PyErr_NormalizeException, "PyErr_NormalizeException");
      resolve(p.lib, p.PyErr_Clear, "PyErr_Clear");
      resolve(p.lib, p.PyObject_GetAttrString, "PyObject_GetAttrString");
      resolve(p.lib, p.Py_DecRef, "Py_DecRef");
    } catch (const std::runtime_error& e) {
      p.unavailable = e.what();
      return p;
    }
    // 0: no signal handlers, so Ctrl-C still stops oimap.
    p.Py_InitializeEx(0);
    // Some helpers look at sys.argv, which an embedded interpreter lacks.
    obj scratch = p.PyDict_New();
    p.PyDict_SetItemString(scratch, "__builtins__", p.PyEval_GetBuiltins());
    if (obj r = p.run(scratch, "import sys\nsys.argv = ['oimap']\n", "<oimap>", py_file_input))
      p.Py_DecRef(r);
    else
      p.error();
    p.Py_DecRef(scratch);
    // From here on each call takes the GIL, from whichever thread.
    p.PyEval_SaveThread();
    return p;
  }();
  return py;
}

} // namespace

python_evaluator::python_evaluator(std::optional<std::filesystem::path> pythonfile,
                                   std::string pythonfile_where)
    : pythonfile_(std::move(pythonfile)), pythonfile_where_(std::move(pythonfile_where)) {}

// The interpreter is never finalised (CPython cannot start again in the
// same process), and neither is this namespace: it would need the GIL.
python_evaluator::~python_evaluator() = default;

void python_evaluator::start(const std::string& where) {
  auto& py = cpython();
  if (!py.unavailable.empty())
    throw config_error(where + ": this option is Python, and " + py.unavailable);
  gil held(py);
  globals_ = py.PyDict_New();
  py.PyDict_SetItemString(globals_, "__builtins__", py.PyEval_GetBuiltins());
  py_ = &py;
  // OfflineIMAP evaluates nametrans and folderfilter with `re` at hand, and
  // its manual's examples use it unimported.
  if (obj done = py.run(globals_, "import re", "<oimap>", py_file_input))
    py.Py_DecRef(done);
  else
    failed_ = where + ": Python cannot import re: " + py.error();
  if (!pythonfile_)
    return;
  std::ifstream in(*pythonfile_, std::ios::binary);
  std::ostringstream text;
  if (!in || !(text << in.rdbuf()))
    failed_ = pythonfile_where_ + ": cannot read pythonfile " + pythonfile_->string();
  else if (obj done = py.run(globals_, text.str(), pythonfile_->string(), py_file_input))
    py.Py_DecRef(done);
  else
    failed_ =
        pythonfile_where_ + ": pythonfile " + pythonfile_->string() + " failed: " + py.error();
}

void python_evaluator::ready(const std::string& where) {
  if (!py_)
    start(where);
  if (!failed_.empty())
    throw config_error(failed_);
}

std::string python_evaluator::value(const std::string& expression, const std::string& where) {
  std::lock_guard lock(python_mutex);
  ready(where);
  for (const auto& [known, value] : values_)
    if (known == expression)
      return value;
  gil held(*py_);
  obj v = py_->run(globals_, expression, where, py_eval_input);
  if (!v)
    throw config_error(where + ": '" + expression + "' failed: " + py_->error());
  std::string out = py_->utf8(v);
  py_->Py_DecRef(v);
  values_.emplace_back(expression, out);
  return out;
}

void* python_evaluator::invoke(const std::string& expression, const std::vector<std::string>& args,
                               const std::string& where) {
  auto it = std::find_if(callables_.begin(), callables_.end(),
                         [&](const auto& c) { return c.first == expression; });
  if (it == callables_.end()) {
    obj fn = py_->run(globals_, expression, where, py_eval_input);
    if (!fn)
      throw config_error(where + ": '" + expression + "' failed: " + py_->error());
    callables_.emplace_back(expression, fn);
    it = std::prev(callables_.end());
  }
  obj tuple = py_->PyTuple_New(static_cast<ssize_t>(args.size()));
  for (std::size_t i = 0; i < args.size(); ++i) {
    // Folder names are modified UTF-7, so ASCII; "replace" for anything else.
    obj s =
        py_->PyUnicode_DecodeUTF8(args[i].data(), static_cast<ssize_t>(args[i].size()), "replace");
    py_->PyTuple_SetItem(tuple, static_cast<ssize_t>(i), s); // steals s
  }
  obj result = py_->PyObject_CallObject(it->second, tuple);
  py_->Py_DecRef(tuple);
  if (!result)
    throw config_error(where + ": '" + expression + "' failed: " + py_->error());
  return result;
}

bool python_evaluator::call(const std::string& expression, const std::vector<std::string>& args,
                            const std::string& where) {
  std::lock_guard lock(python_mutex);
  ready(where);
  gil held(*py_);
  obj result = invoke(expression, args, where);
  const int truth = py_->PyObject_IsTrue(result);
  py_->Py_DecRef(result);
  if (truth < 0)
    throw config_error(where + ": '" + expression + "' failed: " + py_->error());
  return truth == 1;
}

std::string python_evaluator::call_text(const std::string& expression,
                                        const std::vector<std::string>& args,
                                        const std::string& where) {
  return text_result(expression, args, where, false);
}

std::string python_evaluator::call_str(const std::string& expression,
                                       const std::vector<std::string>& args,
                                       const std::string& where) {
  return text_result(expression, args, where, true);
}

std::string python_evaluator::text_result(const std::string& expression,
                                          const std::vector<std::string>& args,
                                          const std::string& where, bool str_only) {
  std::lock_guard lock(python_mutex);
  ready(where);
  gil held(*py_);
  obj result = invoke(expression, args, where);
  ssize_t n = 0;
  const char* s = str_only ? py_->PyUnicode_AsUTF8AndSize(result, &n) : nullptr;
  if (!str_only || s) {
    std::string out = s ? std::string(s, static_cast<std::size_t>(n)) : py_->utf8(result);
    py_->Py_DecRef(result);
    return out;
  }
  py_->PyErr_Clear();
  obj repr = py_->PyObject_Repr(result);
  py_->Py_DecRef(result);
  const std::string shown = repr ? py_->utf8(repr) : std::string("something else");
  if (repr)
    py_->Py_DecRef(repr);
  py_->PyErr_Clear();
  std::string given;
  for (const auto& a : args)
    given += (given.empty() ? "'" : ", '") + a + "'";
  throw config_error(where + ": '" + expression + "' gave " + shown + " for " + given
                     + ", not a str");
}

} // namespace oimap::config
