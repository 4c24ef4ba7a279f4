// OfflineIMAP options oimap does not act on yet: refused, or named in a warning, never silent.
#pragma once

#include "config/config_file.hpp"
#include "config/settings.hpp"

#include <string>
#include <vector>

namespace oimap::config {

// Looks at the sections the run uses ([general], [mbnames], each selected
// account and its two repositories). An option that would make the run
// sync something else than OfflineIMAP would (another mailbox, other folder
// names, around a proxy) throws config_error naming its file:line; each of
// the others gives one warning, "file:line: ...: option 'x' is not
// supported by oimap yet and is ignored: <what happens instead>".
std::vector<std::string> check_unsupported_options(const config_file& file, const settings& s);

} // namespace oimap::config
