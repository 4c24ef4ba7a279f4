// Every typed actor interface of oimap, and the messages they exchange.
#pragma once

#include "actors/atoms.hpp"
#include "ui/ui_event.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace oimap::config {
struct settings;
}
namespace oimap::protocol {
class session;
}
namespace oimap::storage {
class status_db;
}
namespace oimap::sync {
class early_connections;
} // namespace oimap::sync
namespace oimap::config {
class python_evaluator;
}
namespace oimap::ui {
struct mbnames_settings;
}

namespace oimap::actors {

// Which connection a session is, for a folder that would rather have a given
// one (see folder_job::prefer_session); 0 for none.
inline std::uintptr_t session_tag(const protocol::session* s) {
  return reinterpret_cast<std::uintptr_t>(s);
}

// A connection handed out by a pool. An empty lease is a permit: the holder
// connects itself (blocking work belongs to its own thread, not the pool's).
struct session_lease {
  std::shared_ptr<protocol::session> session;
  std::uintptr_t tag() const { return session_tag(session.get()); } // 0 for a permit
};

// A status batch in flight to the status writer (batches are move-only).
struct status_batch_box;
using status_batch_ptr = std::shared_ptr<status_batch_box>;

struct folder_report {
  std::string folder;        // the local name
  std::string remote_folder; // the server's name; empty for a folder that failed before its sync
  sync::folder_result result;
};

struct account_report {
  std::string account;
  int exit_code = 0; // 0 ok, 1 errors, 2 a folder skipped for UIDVALIDITY
};

// What every actor of one run shares: read-only settings and the stop flag.
struct run_context {
  std::shared_ptr<const config::settings> settings;
  std::vector<std::string> only_folders; // -f
  bool debug_imap = false;               // -d imap
  bool quick = false;                    // -q: the sync mode hooks are told
  std::atomic<bool>* stop = nullptr;     // set by SIGINT/SIGTERM
  // Connections begun at start-up, by account name (see open_session).
  std::shared_ptr<sync::early_connections> early;
  // pythonfile, the *eval options, folderfilter (CPython loads on first use).
  std::shared_ptr<config::python_evaluator> python;
  // [mbnames] enabled: each account records its folders for the list.
  std::shared_ptr<const ui::mbnames_settings> mbnames;
};
using run_context_ptr = std::shared_ptr<const run_context>;

// The interfaces are laid out as tables: one handler a line, its comment beside it.
// clang-format off

// ui: renders typed events (detached: terminal writes may block).
using ui_actor = caf::typed_actor<
  caf::reacts_to<ui::ui_event>,                                   // show one event
  caf::replies_to<drain_atom>::with<bool>>;                       // all earlier events shown

// connection pool of one IMAP repository: a cap of maxconnections sessions.
using connection_pool_actor = caf::typed_actor<
  caf::replies_to<checkout_atom, std::uintptr_t>::with<session_lease>, // wait; that one if idle
  caf::reacts_to<checkin_atom, session_lease>,                    // give back (empty: lost)
  caf::replies_to<drain_atom>::with<std::vector<session_lease>>,  // hand out idle ones to close
  caf::reacts_to<limit_atom, int>>;                               // change the cap for this run

// status writer: the one writer of an account's status database.
using status_writer_actor = caf::typed_actor<
  caf::replies_to<write_atom, status_batch_ptr>::with<bool>,      // durable when it replies
  caf::replies_to<drain_atom>::with<bool>>;                       // close the database

// message copier: makes a folder syncer's downloaded batches durable, puts
// them in place and records them, on its own thread (detached), while the
// syncer goes on reading the next bodies off the socket.
struct staged_batch_box;
using staged_batch_ptr = std::shared_ptr<staged_batch_box>;
struct copier_result {
  std::vector<sync::stored_message> stored;
  std::string error; // the first failure; later batches were dropped
};
using copier_result_ptr = std::shared_ptr<copier_result>;
using message_copier_actor = caf::typed_actor<
  caf::reacts_to<write_atom, staged_batch_ptr>,                   // commit one batch
  caf::replies_to<drain_atom>::with<copier_result_ptr>>;          // all batches sent before

// folder syncer: one folder pair, on its own thread (detached).
using folder_syncer_actor = caf::typed_actor<
  caf::replies_to<run_atom>::with<folder_report>>;                // sync it, report

// account: lists and pairs folders, runs folder syncers across the pool.
using account_actor = caf::typed_actor<
  caf::replies_to<run_atom>::with<account_report>,                // sync the account
  caf::reacts_to<at_once_atom, int>>;                             // accounts syncing now changed

// account setup: opens the status, lists and pairs folders, creates missing
// ones (detached: all of it blocks on disk and network).
struct account_setup;
using account_setup_ptr = std::shared_ptr<account_setup>;
using account_setup_actor = caf::typed_actor<
  caf::replies_to<run_atom>::with<account_setup_ptr>>;            // prepare the account

// session closer: logs a finished account's idle sessions out (detached:
// LOGOUT waits for the server, which finishes its index work before it answers).
using session_closer_actor = caf::typed_actor<
  caf::replies_to<run_atom>::with<bool>>;                         // log them all out

// hook runner: a finished account's postsynchook (detached: the shell may
// take its time).
using hook_runner_actor = caf::typed_actor<
  caf::replies_to<run_atom>::with<bool>>;                         // run it, then answer

// supervisor: runs accounts, at most maxsyncaccounts at once.
using supervisor_actor = caf::typed_actor<
  caf::replies_to<run_atom>::with<int>>;                          // run all; the exit code

// clang-format on

} // namespace oimap::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(oimap::ui::ui_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(oimap::actors::session_lease)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<oimap::actors::session_lease>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(oimap::actors::status_batch_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(oimap::actors::folder_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(oimap::actors::account_setup_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(oimap::actors::staged_batch_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(oimap::actors::copier_result_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(oimap::actors::account_report)
