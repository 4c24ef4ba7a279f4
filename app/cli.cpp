// Command-line parsing: short options as OfflineIMAP spells them, a few long ones.
#include "app/cli.hpp"

#include <sstream>
#include <stdexcept>
#include <string_view>

namespace oimap::app {
namespace {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty())
      out.push_back(item);
  return out;
}

} // namespace

const char* usage_text() {
  return "usage: oimap [-c FILE] [-a ACCOUNTS] [-o] [-1] [-q] [-f FOLDERS]\n"
         "             [-k [SECTION:]OPTION=VALUE]... [-l LOGFILE] [-d TYPES] [-u UI] [-h] [-V]\n"
         "\n"
         "Two-way IMAP <-> Maildir sync, reading OfflineIMAP's configuration.\n"
         "\n"
         "  -c FILE      configuration file (default: $XDG_CONFIG_HOME/offlineimap/config,\n"
         "               else ~/.offlineimaprc)\n"
         "  -a A,B       sync only these accounts\n"
         "  -o           run once, ignoring autorefresh\n"
         "  -1           one connection and one account at a time\n"
         "  -q           quick sync: skip folders whose server state did not change\n"
         "  -f F1,F2     sync only these (untranslated, remote) folders\n"
         "  -k S:O=V     override a configuration option; '_' in S is a space,\n"
         "               S defaults to general (e.g. -k Account_Personal:autorefresh=30)\n"
         "  -l FILE      also log to FILE (debug output then goes there only)\n"
         "  -d TYPES     debug: imap, maildir, thread or ALL (passwords are never shown)\n"
         "  -u UI        ttyui, basic, quiet (machineui, blinkenlights: basic/ttyui for now)\n"
         "  --dry-run    show what a sync would do; change nothing (no hook runs)\n"
         "  --info       show each account's server, folders and their names here; no sync\n"
         "  -h, --help   this help\n"
         "  -V           version\n"
         "\n"
         "Exit status: 0 ok, 1 errors, 2 a folder skipped because its UIDVALIDITY changed.\n";
}

cli_options parse_cli(int argc, char** argv) {
  cli_options o;
  auto value = [&](int& i, std::string_view opt, std::string_view arg) -> std::string {
    if (arg.size() > 2)
      return std::string(arg.substr(2)); // -cFILE
    if (i + 1 >= argc)
      throw std::invalid_argument("option " + std::string(opt) + " needs a value");
    return argv[++i];
  };
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help") {
      o.help = true;
      continue;
    }
    if (arg == "--version") {
      o.version = true;
      continue;
    }
    if (arg == "--dry-run") {
      o.dry_run = true;
      continue;
    }
    if (arg == "--info") {
      o.info = true;
      continue;
    }
    if (arg.size() < 2 || arg[0] != '-' || arg[1] == '-')
      throw std::invalid_argument("unknown argument '" + std::string(arg) + "'");
    const std::string opt(arg.substr(0, 2));
    switch (arg[1]) {
    case 'c':
      o.config_file = value(i, opt, arg);
      break;
    case 'a':
      o.accounts = value(i, opt, arg);
      break;
    case 'f': {
      auto f = split_commas(value(i, opt, arg));
      o.folders.insert(o.folders.end(), f.begin(), f.end());
      break;
    }
    case 'k':
      o.overrides.push_back(value(i, opt, arg));
      break;
    case 'l':
      o.logfile = value(i, opt, arg);
      break;
    case 'd': {
      auto d = split_commas(value(i, opt, arg));
      o.debug.insert(o.debug.end(), d.begin(), d.end());
      break;
    }
    case 'u':
      o.ui = value(i, opt, arg);
      break;
    case 'o':
    case '1':
    case 'q':
    case 'h':
    case 'V':
      // Flags may be bundled: -o1
      for (char c : arg.substr(1)) {
        switch (c) {
        case 'o':
          o.once = true;
          break;
        case '1':
          o.single = true;
          break;
        case 'q':
          o.quick = true;
          break;
        case 'h':
          o.help = true;
          break;
        case 'V':
          o.version = true;
          break;
        default:
          throw std::invalid_argument("unknown option '-" + std::string(1, c) + "'");
        }
      }
      break;
    default:
      throw std::invalid_argument("unknown option '" + opt + "'");
    }
  }
  return o;
}

} // namespace oimap::app
