// oimap's entry point: command line, configuration, signals, the actor system, exit code.
#include "actors/supervisor.hpp"
#include "actors/ui_actor.hpp"
#include "app/cli.hpp"
#include "app/dry_run.hpp"
#include "app/info.hpp"
#include "config/config_error.hpp"
#include "config/config_file.hpp"
#include "config/overrides.hpp"
#include "config/paths.hpp"
#include "config/python_eval.hpp"
#include "config/settings.hpp"
#include "config/unsupported_options.hpp"
#include "storage/leave_process.hpp"
#include "sync/remote_connect.hpp"
#include "ui/mbnames.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include <openssl/opensslv.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <thread>
#include <unistd.h>

namespace {

std::atomic<bool> stop_requested{false};
std::atomic<int> signals_seen{0};
// Autorefresh, as OfflineIMAP: SIGUSR1 cuts the wait for the next round
// short; SIGUSR2 (or SIGABRT) ends the run after the round under way.
std::atomic<bool> sync_now{false};
std::atomic<bool> last_round{false};

extern "C" void on_sync_now(int) {
  sync_now.store(true);
}

extern "C" void on_last_round(int) {
  last_round.store(true);
}

extern "C" void on_stop_signal(int) {
  // First signal: finish the current batch of each folder, record it, exit.
  // Second: leave at once; the status only ever trails what is on disk, so
  // the next run repairs whatever was cut short.
  if (signals_seen.fetch_add(1) >= 1)
    ::_exit(130);
  stop_requested.store(true);
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGHUP, &sa, nullptr);
  sa.sa_handler = on_sync_now;
  ::sigaction(SIGUSR1, &sa, nullptr);
  sa.sa_handler = on_last_round;
  ::sigaction(SIGUSR2, &sa, nullptr);
  ::sigaction(SIGABRT, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN); // a dropped connection is an error, not a death
}

std::FILE* open_log(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0)
    throw std::runtime_error("cannot open log file " + path + ": " + std::strerror(errno));
  return ::fdopen(fd, "a");
}

int run(const oimap::app::cli_options& cli) {
  using namespace oimap;
  const auto path = config::default_config_path(cli.config_file);
  auto file = config::config_file::load(path);
  config::apply_overrides(file, cli.overrides);
  if (cli.ui)
    file.set("general", "ui", *cli.ui);
  auto settings = std::make_shared<config::settings>(config::load_settings(file, cli.accounts));
  if (cli.single) {
    settings->general.maxsyncaccounts = 1;
    for (auto& [name, repo] : settings->repositories)
      if (auto* imap = std::get_if<config::imap_settings>(&repo.backend))
        imap->maxconnections = 1;
  }
  for (const auto& warning : config::check_unsupported_options(file, *settings))
    std::cerr << "WARNING: " << warning << "\n";
  for (const auto& account : settings->accounts)
    if (settings->local(account).type() != config::repository_type::maildir
        || settings->remote(account).type() != config::repository_type::imap)
      throw config::config_error(account.where + ": account '" + account.name
                                 + "': oimap syncs an IMAP remote with a Maildir local so far");

  auto python = std::make_shared<config::python_evaluator>(settings->general.pythonfile,
                                                           file.where("general", "pythonfile"));
  if (cli.info)
    return app::info(*settings, python, cli.folders, std::cout, std::cerr);
  if (cli.dry_run || settings->general.dry_run)
    return app::dry_run(*settings, python, cli.folders, std::cout, std::cerr);

  auto ctx = std::make_shared<actors::run_context>();
  ctx->settings = settings;
  ctx->only_folders = cli.folders;
  ctx->quick = cli.quick;
  ctx->stop = &stop_requested;
  ctx->python = std::move(python);
  if (auto mb = ui::read_mbnames(file, settings->general.metadata))
    ctx->mbnames = std::make_shared<const ui::mbnames_settings>(std::move(*mb));
  for (const auto& d : cli.debug)
    if (d == "imap" || d == "ALL" || d == "all")
      ctx->debug_imap = true;

  ui::output out;
  if (cli.logfile)
    out.log = open_log(*cli.logfile);

  // The accounts that sync first start connecting now: their servers'
  // greetings are on the way while the actor system starts.
  ctx->early = std::make_shared<sync::early_connections>();
  const auto first_accounts = std::min<std::size_t>(
      settings->accounts.size(), static_cast<std::size_t>(settings->general.maxsyncaccounts));
  for (std::size_t i = 0; i < first_accounts; ++i) {
    const auto& account = settings->accounts[i];
    // A presynchook runs first: it may be what makes the server reachable.
    if (account.presynchook)
      continue;
    ctx->early->start(account.name, settings->remote(account), settings->general.socktimeout);
  }

  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", std::max(2u, std::thread::hardware_concurrency()));
  cfg.set("logger.verbosity", caf::atom("quiet"));
  // Our actors mostly run detached; the cooperative workers are idle most of
  // the time. Out of the box they poll every 50 us before sleeping, stealing
  // the CPU that sockets and disks need: go to the condition variable
  // (woken on enqueue) right after a short spin instead.
  cfg.set("work-stealing.aggressive-poll-attempts", 16);
  cfg.set("work-stealing.moderate-poll-attempts", 0);
  int code = 0;
  {
    caf::actor_system sys{cfg};
    auto ui = actors::spawn_ui(sys, ui::make_renderer(settings->general.ui, out));
    double refresh_minutes = 0;
    for (const auto& a : settings->accounts)
      if (a.autorefresh > 0 && (refresh_minutes == 0 || a.autorefresh < refresh_minutes))
        refresh_minutes = a.autorefresh;
    for (;;) {
      auto supervisor = actors::spawn_supervisor(sys, ctx, ui);
      {
        caf::scoped_actor self{sys, true};
        self->request(supervisor, caf::infinite, actors::run_atom::value)
            .receive([&](int c) { code = c; },
                     [&](caf::error& e) {
                       std::cerr << "oimap: " << sys.render(e) << "\n";
                       code = 1;
                     });
      }
      if (ctx->mbnames) {
        // After the accounts, from every account's record, as OfflineIMAP.
        try {
          ui::write_mbnames(*ctx->mbnames, *ctx->python);
        } catch (const std::exception& e) {
          std::cerr << "oimap: " << e.what() << "\n";
          code = std::max(code, 1);
        }
      }
      if (cli.once || refresh_minutes <= 0 || stop_requested.load() || last_round.load())
        break;
      // autorefresh: sleep until the next round, SIGUSR1, or a signal to end.
      const auto until = std::chrono::steady_clock::now()
                         + std::chrono::duration<double, std::ratio<60>>(refresh_minutes);
      while (!stop_requested.load() && !last_round.load() && !sync_now.load()
             && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      sync_now.store(false);
      if (stop_requested.load() || last_round.load())
        break;
    }
    {
      // Every event sent so far is rendered before the ui goes away.
      caf::scoped_actor self{sys, true};
      self->request(ui, caf::infinite, actors::drain_atom::value)
          .receive([](bool) {}, [](caf::error&) {});
    }
    if (stop_requested.load()) {
      std::cerr << "oimap: interrupted; what was copied is recorded, the next run goes on from "
                   "there\n";
      if (code == 0)
        code = 1;
    }
    // Everything is durable by now: each status write was acknowledged after
    // its sync, every message renamed into place. Tearing down the actor
    // system (joining its threads, letting RocksDB flush a memtable its log
    // already holds) would only make the user wait, so leave here.
    std::cout.flush();
    std::cerr.flush();
    std::fflush(nullptr);
    if (out.log)
      std::fclose(out.log);
    storage::leave_process(code);
  }
}

} // namespace

int main(int argc, char** argv) {
  using namespace oimap;
  app::cli_options cli;
  try {
    cli = app::parse_cli(argc, argv);
  } catch (const std::invalid_argument& e) {
    std::cerr << "oimap: " << e.what() << "\n" << app::usage_text();
    return 1;
  }
  if (cli.help) {
    std::cout << app::usage_text();
    return 0;
  }
  if (cli.version) {
    std::cout << "oimap 0.1.0 (" << OPENSSL_VERSION_TEXT << ", CAF 0.17.6)\n";
    return 0;
  }
  install_signal_handlers();
  try {
    return run(cli);
  } catch (const std::exception& e) {
    std::cerr << "oimap: " << e.what() << "\n";
    // Not through exit(): its handlers (OpenSSL's cleanup) would pull the
    // library from under a connection still being made on its own thread.
    std::fflush(nullptr);
    storage::leave_process(1);
  }
}
