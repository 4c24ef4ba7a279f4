// The folder syncer is detached: its sync blocks on sockets and disk for its whole life.
#include "actors/folder_syncer.hpp"

#include "actors/message_copier.hpp"
#include "actors/status_writer.hpp"
#include "protocol/imap_error.hpp"
#include "protocol/session.hpp"
#include "storage/storage_error.hpp"
#include "sync/remote_connect.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <cstdio>

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
  return sync::connect_remote(*job.remote_repo, job.ctx->settings->general.socktimeout, trace);
}

namespace {

folder_report run_job(caf::actor_system& sys, const folder_job& job, session_lease lease) {
  folder_report report;
  report.folder = job.pair.local_name;
  auto fail = [&](std::string why) {
    report.result.outcome = sync::folder_outcome::failed;
    report.result.message = std::move(why);
  };
  try {
    if (!lease.session)
      lease.session = open_session(job);
  } catch (const std::exception& e) {
    caf::anon_send(job.pool, checkin_atom::value, session_lease{});
    fail(e.what());
    return report;
  }

  const sync::status_write_fn write_status = [&](storage::status_db::batch& b) {
    write_through(sys, job.writer, b, "folder '" + job.pair.local_name + "'");
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
  // Back to the pool as soon as the folder is done with the server, so the
  // next folder's commands go out while this one writes its Maildir.
  bool returned = false;
  const sync::remote_done_fn give_back = [&] {
    returned = true;
    caf::anon_send(job.pool, checkin_atom::value, std::move(lease));
  };
  try {
    report.result =
        sync::sync_folder(*lease.session, *job.local, *job.status, job.pair, write_status,
                          job.options, *job.ctx->stop, progress, copiers, give_back);
  } catch (const protocol::imap_error& e) {
    lease.session.reset(); // unusable after a lost connection or protocol error
    fail(e.what());
  } catch (const std::exception& e) {
    lease.session.reset();
    fail(e.what());
  }
  if (!returned)
    caf::anon_send(job.pool, checkin_atom::value, std::move(lease));
  return report;
}

} // namespace

folder_syncer_actor spawn_folder_syncer(caf::actor_system& sys, folder_job job) {
  return sys.spawn<caf::detached>([job = std::move(job)](folder_syncer_actor::pointer self)
                                      -> folder_syncer_actor::behavior_type {
    return {
        [self, job](run_atom) -> caf::result<folder_report> {
          auto rp = self->make_response_promise<folder_report>();
          self->request(job.pool, caf::infinite, checkout_atom::value)
              .then(
                  [self, job, rp](session_lease lease) mutable {
                    // Started ahead, a syncer may wait at the pool: the folder
                    // starts when a connection is its.
                    ui::ui_event e;
                    e.type = ui::ui_event::kind::folder_start;
                    e.account = job.account;
                    e.folder = job.pair.local_name;
                    caf::anon_send(job.ui, std::move(e));
                    rp.deliver(run_job(self->system(), job, std::move(lease)));
                    self->quit();
                  },
                  [self, job, rp](caf::error& err) mutable {
                    folder_report r;
                    r.folder = job.pair.local_name;
                    r.result.outcome = sync::folder_outcome::failed;
                    r.result.message = "no connection: " + self->system().render(err);
                    rp.deliver(std::move(r));
                    self->quit();
                  });
          return rp;
        },
    };
  });
}

} // namespace oimap::actors
