// restoreatime: a Maildir folder's new/ and cur/ get back the access times they had before a sync.
#pragma once

#include <filesystem>
#include <sys/stat.h>
#include <vector>

namespace oimap::storage {

// Notes the access time of folder/new and folder/cur now; restore() puts
// them back and leaves the modification times as the sync made them. Mail
// notifiers that compare the two (biff-like "new mail" checks) then still
// see new mail the sync brought, though the sync read the directories.
// A directory that is missing or cannot be touched is passed over: this is
// a courtesy to other programs, never a reason to fail a sync.
class dir_atimes {
public:
  explicit dir_atimes(const std::filesystem::path& folder);
  void restore() const;

private:
  struct noted {
    std::filesystem::path dir;
    timespec atime;
  };
  std::vector<noted> dirs_;
};

} // namespace oimap::storage
