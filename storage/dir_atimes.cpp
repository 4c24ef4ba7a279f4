// utimensat with UTIME_OMIT for the modification time: only the access time moves back.
#include "storage/dir_atimes.hpp"

#include <fcntl.h>

namespace oimap::storage {

dir_atimes::dir_atimes(const std::filesystem::path& folder) {
  for (const char* sub : {"new", "cur"}) {
    struct stat st;
    const auto dir = folder / sub;
    if (::stat(dir.c_str(), &st) == 0)
      dirs_.push_back({dir, st.st_atim});
  }
}

void dir_atimes::restore() const {
  for (const auto& d : dirs_) {
    const timespec times[2] = {d.atime, {0, UTIME_OMIT}};
    ::utimensat(AT_FDCWD, d.dir.c_str(), times, 0);
  }
}

} // namespace oimap::storage
