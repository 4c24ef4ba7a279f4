// The typed events every part of a run reports to the ui actor.
#pragma once

#include "sync/folder_sync.hpp"

#include <string>

namespace oimap::ui {

struct ui_event {
  enum class kind {
    account_start, // account
    account_done,  // account, text = summary line, outcome = exit code of the account
    folder_start,  // account, folder
    folder_progress,
    folder_done, // counts, outcome = sync::folder_outcome, text = why (when not ok)
    info,
    warning,
    error,
    debug, // -d output, e.g. the IMAP trace
  };
  kind type = kind::info;
  std::string account;
  std::string folder;
  sync::folder_counts counts;
  int outcome = 0;
  std::string text;
};

} // namespace oimap::ui
