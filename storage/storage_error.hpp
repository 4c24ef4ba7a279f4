// Exceptions thrown by the storage layer (Maildir files and the status database).
#pragma once

#include <stdexcept>
#include <string>

namespace oimap::storage {

// Any failure of a local store or the status database. The message names the
// path involved and the system's reason, so it can be shown to the user as is.
class storage_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// A message key no longer names a file (removed or renamed by someone else
// since the last scan). Callers treat it as "this message only", not as a
// broken folder.
class message_not_found : public storage_error {
public:
  using storage_error::storage_error;
};

} // namespace oimap::storage
