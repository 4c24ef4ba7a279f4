// oimap's command line: OfflineIMAP's options, parsed without touching CAF.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace oimap::app {

struct cli_options {
  std::optional<std::string> config_file; // -c
  std::optional<std::string> accounts;    // -a a,b
  bool once = false;                      // -o
  bool single = false;                    // -1
  std::vector<std::string> folders;       // -f a,b
  std::vector<std::string> overrides;     // -k [section:]option=value, repeatable
  std::optional<std::string> logfile;     // -l
  std::vector<std::string> debug;         // -d imap,maildir,thread|ALL
  std::optional<std::string> ui;          // -u
  bool quick = false;                     // -q
  bool dry_run = false;                   // --dry-run
  bool info = false;                      // --info
  bool help = false;                      // -h / --help
  bool version = false;                   // -V / --version
};

// Throws std::invalid_argument with a message for the user.
cli_options parse_cli(int argc, char** argv);

const char* usage_text();

} // namespace oimap::app
