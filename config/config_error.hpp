// The one exception type the config layer throws: a message naming file:line.
#pragma once

#include <stdexcept>
#include <string>

namespace oimap::config {

// Every configuration problem is reported as this, with a message that
// already says where ("file:line: ...") so callers can print it as is.
// Messages never quote option values that could be secrets (passwords).
class config_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

} // namespace oimap::config
