// The folder syncer is detached: its sync blocks on sockets and disk for its whole life.
#include "actors/folder_syncer.hpp"

#include "actors/connection_pool.hpp"
#include "actors/message_copier.hpp"
#include "actors/status_writer.hpp"
#include "config/python_eval.hpp"
#include "protocol/imap_error.hpp"
#include "protocol/session.hpp"
#include "storage/dir_atimes.hpp"
#include "storage/maildir_store.hpp"
#include "storage/storage_error.hpp"
#include "sync/remote_connect.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <cstdio>
#include <optional>

namespace oimap::actors {

namespace {
// The trace stamps each line with the time since start (as OfflineIMAP's imaplib2 trace
// does), so a slow run shows where it waited. Set during static initialisation.
const auto process_start = std::chrono::steady_clock::now();

std::string since_start() {
  const std::chrono::duration<double> d = std::chrono::steady_clock::now() - process_start;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", d.count());
  return buf;
}
} // namespace

std::shared_ptr<protocol::session> open_session(const folder_job& job) {
  sync::trace_fn trace;
  if (job.ctx->debug_imap) {
    auto ui = job.ui;
    auto account = job.account;
    trace = [ui, account](char dir, std::string_view line) {
      ui::ui_event e;
      e.type = ui::ui_event::kind::debug;
      e.account = account;
      e.text = "imap " + account + " " + since_start() + " " + std::string(1, dir) + " "
               + std::string(line);
      caf::anon_send(ui, std::move(e));
    };
  }
  // The account's first login takes the connection begun at start-up.
  auto connected = job.ctx->early ? job.ctx->early->take(job.account) : nullptr;
  return sync::connect_remote(*job.remote_repo, job.ctx->settings->general.socktimeout, trace,
                              std::move(connected), job.ctx->python.get());
}

namespace {

// The folder starts (for the ui) when a connection is its.
void announce_start(const folder_job& job) {
  ui::ui_event e;
  e.type = ui::ui_event::kind::folder_start;
  e.account = job.account;
  e.folder = job.pair.local_name;
  caf::anon_send(job.ui, std::move(e));
}

folder_report run_job(caf::actor_system& sys, const folder_job& job) {
  folder_report report;
  report.remote_folder = job.pair.remote_name;
  report.folder = job.pair.local_name;
  auto fail = [&](std::string why) {
    report.result.outcome = sync::folder_outcome::failed;
    report.result.message = std::move(why);
  };
  caf::scoped_actor me{sys, true}; // for this thread's checkouts and status writes
  const sync::status_write_fn write_status = [&](storage::status_db::batch& b) {
    write_through(me, job.writer, b, "folder '" + job.pair.local_name + "'");
  };
  const sync::progress_fn progress = [&](const sync::folder_counts& c) {
    ui::ui_event e;
    e.type = ui::ui_event::kind::folder_progress;
    e.account = job.account;
    e.folder = job.pair.local_name;
    e.counts = c;
    caf::anon_send(job.ui, std::move(e));
  };
  const sync::committer_factory copiers = [&](storage::maildir_folder& folder,
                                              const std::string& status_name) {
    return make_copier_committer(sys, folder, status_name, job.writer);
  };
  // The folder waits for a connection only once it needs one: what it can
  // do without (opening the folder, reading its status) is done by then, so
  // its first command follows the previous folder's last at once.
  session_lease lease;
  bool held = false;
  bool started = false;
  const sync::acquire_fn acquire = [&]() -> protocol::session& {
    lease = checkout(me, job.pool, job.prefer_session);
    held = true;
    started = true;
    announce_start(job);
    if (!lease.session)
      lease.session = open_session(job); // a lost connection throws; the permit goes back
    return *lease.session;
  };
  // Back to the pool as soon as the folder is done with the server, so the
  // next folder's commands go out while this one writes its Maildir.
  const sync::remote_done_fn give_back = [&] {
    held = false;
    checkin(job.pool, std::move(lease));
  };
  std::optional<storage::dir_atimes> atimes;
  if (job.restoreatime)
    try {
      atimes.emplace(job.local->folder_path(job.pair.local_name));
    } catch (const storage::storage_error&) {
      // A name the store refuses: the sync reports it.
    }
  try {
    report.result =
        sync::sync_folder(acquire, *job.local, *job.status, job.pair, write_status, job.options,
                          *job.ctx->stop, progress, copiers, give_back, &job.ahead);
  } catch (const protocol::imap_error& e) {
    lease.session.reset(); // unusable after a lost connection or protocol error
    fail(e.what());
  } catch (const std::exception& e) {
    lease.session.reset();
    fail(e.what());
  }
  if (held)
    checkin(job.pool, std::move(lease));
  if (atimes)
    atimes->restore();
  if (!started)
    announce_start(job); // done without the server: the ui still sees it start
  return report;
}

} // namespace

folder_syncer_actor spawn_folder_syncer(caf::actor_system& sys, folder_job job) {
  return sys.spawn<caf::detached>([job = std::move(job)](folder_syncer_actor::pointer self)
                                      -> folder_syncer_actor::behavior_type {
    return {
        [self, job](run_atom) -> folder_report {
          auto report = run_job(self->system(), job);
          self->quit();
          return report;
        },
    };
  });
}

} // namespace oimap::actors
