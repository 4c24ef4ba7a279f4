// Account: setup (detached), then at most maxconnections folder syncers at a time.
#include "actors/account.hpp"

#include "actors/connection_pool.hpp"
#include "actors/folder_syncer.hpp"
#include "actors/status_sharing.hpp"
#include "actors/status_writer.hpp"
#include "config/config_error.hpp"
#include "config/python_eval.hpp"
#include "config/settings.hpp"
#include "protocol/imap_error.hpp"
#include "protocol/session.hpp"
#include "storage/maildir_store.hpp"
#include "storage/md5.hpp"
#include "storage/storage_error.hpp"
#include "sync/examine_ahead.hpp"
#include "sync/folder_choice.hpp"
#include "sync/folder_sync.hpp"
#include "sync/folder_tree.hpp"
#include "sync/sync_hook.hpp"
#include "ui/mbnames.hpp"
#include "ui/renderer.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <chrono>
#include <deque>
#include <future>
#include <map>
#include <set>
#include <system_error>
#include <thread>

namespace oimap::actors {

struct account_setup {
  std::string error; // non-empty: the account cannot sync
  std::shared_ptr<storage::status_db> status;
  std::shared_ptr<storage::maildir_store> local;
  std::vector<sync::folder_pair> pairs;
  std::vector<std::string> notes;    // folders created, for the ui
  std::vector<folder_report> failed; // folders that could not be created: not synced
  int unchanged = 0;                 // folders skipped: nothing changed on either side
  bool light = false;                // little to do: one connection is enough
  bool server_on_this_host = false;  // it shares our CPUs
  // Elsewhere, or behind a tunnel (a slow login): each round trip counts.
  bool far = false;
  // remote name -> tag of the connection that asked its STATUS
  std::map<std::string, std::uintptr_t> status_by;
  // The folders whose EXAMINEs go in one round on the setup's connection,
  // which the setup runs once it has answered; their syncers wait for their
  // part (see sync::examine_ahead).
  std::shared_ptr<sync::examine_ahead> ahead;
  // The account's options for every folder, made once (maxage's date with
  // them): the same for all its folders.
  sync::folder_sync_options options;
};

namespace {

const config::account_settings& account_of(const run_context& ctx, const std::string& name) {
  for (const auto& a : ctx.settings->accounts)
    if (a.name == name)
      return a;
  throw std::logic_error("unknown account " + name);
}

// How the account's folders sync, from its repositories' options.
ui::ui_event event(ui::ui_event::kind k, const std::string& account, std::string text = {}) {
  ui::ui_event e;
  e.type = k;
  e.account = account;
  e.text = std::move(text);
  return e;
}

sync::remote_snapshot snapshot_of(const protocol::mailbox_info& info) {
  return {info.uidvalidity, info.uidnext, info.exists, info.highestmodseq};
}

// From this many folders on, the STATUS round is shared by two connections:
// a server answers each connection in its own process, and after a change
// STATUS costs it a few ms per folder, more than a second login.
constexpr std::size_t split_status_from = 16;
// ... at once after a run that had this many folders to sync (or none on
// record). Most runs find little changed, and then the round takes a few
// ms: a second login would cost the server a process for nothing. Measured
// here (Dovecot, 40 folders of 2,500, nothing changed): 0.025 s and 22 ms
// of Dovecot's CPU with the second connection, 0.020 s and 11 ms without.
// After a quiet run a server far away gets one LIST-STATUS (a burst then
// pays the unshared round once); one on this machine gets the round in
// chunks that the second connection joins once it proves slow (40 folders
// all changed: 0.225 s, against 0.217 s shared from the start and 0.270 s
// unshared).
constexpr std::uint32_t split_after_to_sync = 8;

// The lines of a text (a hook's output, a list from Python), without their
// line ends; a last empty line is none.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  for (std::size_t at = 0; at < text.size();) {
    auto end = text.find('\n', at);
    if (end == std::string::npos)
      end = text.size();
    lines.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  return lines;
}

// A folder that fails before any sync of it starts, reported as a failed
// sync is.
folder_report failed_folder(std::string folder, std::string why) {
  folder_report r;
  r.folder = std::move(folder);
  r.result.outcome = sync::folder_outcome::failed;
  r.result.message = std::move(why);
  return r;
}

// Runs a presynchook or postsynchook (which: its option's name) and tells
// the ui what it said; a hook that fails is a warning, as in OfflineIMAP.
void call_hook(const ui_actor& ui, const std::string& account, const std::string& which,
               const std::string& command, bool quick) {
  const auto r = sync::run_hook(command, quick ? "quick" : "full");
  const auto lines = lines_of(r.output);
  for (const auto& line : lines)
    caf::anon_send(ui, event(ui::ui_event::kind::info, account, which + ": " + line));
  if (!r.why.empty()) {
    caf::anon_send(ui, event(ui::ui_event::kind::warning, account, which + ": " + r.why));
  } else if (r.status != 0) {
    // The ui shows the output only when verbose: the end of it goes with
    // the warning.
    std::string text = which + " exited with status " + std::to_string(r.status);
    const std::size_t shown = std::min<std::size_t>(lines.size(), 5);
    for (std::size_t i = lines.size() - shown; i < lines.size(); ++i)
      text += (i == lines.size() - shown ? ": " : " / ") + lines[i];
    caf::anon_send(ui, event(ui::ui_event::kind::warning, account, text));
  }
}

// A folder that could not be created, reported as its sync would be: by its
// local name (the pair's, where one needs it).
folder_report creation_failed(const std::vector<sync::folder_pair>& pairs,
                              const std::string& remote_name, const std::string& local_name,
                              std::string why) {
  std::string folder = local_name.empty() ? remote_name : local_name;
  for (const auto& p : pairs)
    if (!remote_name.empty() ? p.remote_name == remote_name : p.local_name == local_name)
      folder = p.local_name;
  return failed_folder(std::move(folder), std::move(why));
}

bool worth_splitting(const storage::status_db& status) {
  const auto last = status.folders_to_sync_last_run();
  return !last || *last >= split_after_to_sync;
}
// Not worth it, a server on this machine still gets the second connection
// if the round is not over this long after it started (many folders
// changed after all); see status_sharing. Chunks of 8 STATUS cost a quiet
// round of 40 folders no more than one LIST-STATUS here (0.0216 against
// 0.0217 s).
constexpr auto slow_status_round = std::chrono::milliseconds(8);
constexpr std::size_t status_chunk = 8;
// The first chunk is shorter (and spread over the round, see
// status_sharing): a burst shows in it before the helper joins (after 8 ms;
// 8 changed folders took Dovecot 12 ms at once), and fewer folders are
// listed twice. Measured here, 40 folders of 2,500 all changed after a
// quiet run: 0.206 s and 0.249 s of Dovecot's CPU with a first chunk of 8,
// 0.195 s and 0.219 s with 4 (10 runs each); with only the first 4 folders
// changed, 0.047 and 0.049 s (no burst either way). Later chunks stay 8: a
// quiet round in chunks of 4 took 0.0232 s against 0.0224 s.
constexpr std::size_t first_status_chunk = 4;
// Whether the STATUS answers so far show a burst (see
// status_sharing::shows_burst). The rest of the round is then left out,
// and those folders go to their EXAMINE without: Dovecot lists each changed
// Maildir for its STATUS and, as the names another session moved since are
// not in its uidlist yet, lists it again for the EXAMINE's first FETCH; an
// unchanged one costs an EXAMINE instead of a STATUS.
bool burst_shown(const status_sharing& sharing, const std::vector<protocol::status_result>& so_far,
                 const std::function<bool(const protocol::status_result&)>& changed) {
  const auto n = static_cast<std::size_t>(
      std::count_if(so_far.begin(), so_far.end(),
                    [&](const protocol::status_result& st) { return st.ok && changed(st); }));
  return sharing.shows_burst(so_far.size(), n);
}

// A login this quick is one to a server nearby, not through a tunnel.
constexpr auto quick_login = std::chrono::milliseconds(30);

// The EXAMINE round ahead of the syncers (sync::examine_ahead) brings at
// most this many new messages, as one connection does for a light account.
constexpr std::uint32_t max_examined_ahead = 256;

// A second logged-in connection for the setup, or none if it cannot be had
// (the first one reports what is wrong with the server, if anything).
std::optional<session_lease> second_connection(caf::actor_system& sys, const folder_job& proto) {
  session_lease lease;
  try {
    lease = checkout(sys, proto.pool);
    if (!lease.session)
      lease.session = open_session(proto);
    return lease;
  } catch (...) {
    checkin(proto.pool, session_lease{});
    return std::nullopt;
  }
}

// STATUS for every name on first. With split, the second connection coming
// and many names, half each at the same time: first starts on its half at
// once, the second on the other half once logged in (if it cannot be had,
// first does both); it goes back to the pool afterwards.
// asked_by gets, for each name, the tag of the connection that asked.
std::vector<protocol::status_result> status_round(const folder_job& proto, protocol::session& first,
                                                  bool split,
                                                  std::future<std::optional<session_lease>>& second,
                                                  std::vector<std::string> names,
                                                  std::map<std::string, std::uintptr_t>& asked_by) {
  const auto first_tag = session_tag(&first);
  if (!split || !second.valid() || names.size() < split_status_from) {
    for (const auto& n : names)
      asked_by[n] = first_tag;
    return names.empty() ? std::vector<protocol::status_result>{} : first.status_many(names);
  }
  std::vector<std::string> back(names.begin() + names.size() / 2, names.end());
  names.resize(names.size() / 2);
  std::optional<session_lease> helper;
  std::vector<protocol::status_result> statuses;
  try {
    auto other = std::async(std::launch::async,
                            [&]() -> std::optional<std::vector<protocol::status_result>> {
                              helper = second.get();
                              if (!helper || !helper->session->has_condstore())
                                return std::nullopt;
                              return helper->session->status_many(back);
                            });
    statuses = first.status_many(names);
    for (const auto& n : names)
      asked_by[n] = first_tag;
    auto rest = other.get();
    const auto rest_tag = rest ? helper->tag() : first_tag;
    if (!rest)
      rest = first.status_many(back);
    for (const auto& n : back)
      asked_by[n] = rest_tag;
    std::move(rest->begin(), rest->end(), std::back_inserter(statuses));
  } catch (...) {
    // The other half's thread has ended (its future was destroyed on the
    // way here), so helper is settled.
    if (helper)
      checkin(proto.pool, session_lease{}); // whichever failed, neither is trusted
    throw;
  }
  if (helper)
    checkin(proto.pool, std::move(*helper));
  return statuses;
}

// Folders in turns by the connection that asked their STATUS, so that the
// syncers waiting at the pool want each connection (see prefer_session).
void interleave_by_connection(std::vector<sync::folder_pair>& pairs,
                              const std::map<std::string, std::uintptr_t>& status_by) {
  std::vector<std::uintptr_t> order;
  std::map<std::uintptr_t, std::deque<sync::folder_pair>> by;
  for (auto& p : pairs) {
    const auto it = status_by.find(p.remote_name);
    const std::uintptr_t tag = it == status_by.end() ? 0 : it->second;
    if (!by.count(tag))
      order.push_back(tag);
    by[tag].push_back(std::move(p));
  }
  pairs.clear();
  for (bool more = true; more;) {
    more = false;
    for (auto tag : order)
      if (auto& q = by[tag]; !q.empty()) {
        pairs.push_back(std::move(q.front()));
        q.pop_front();
        more = true;
      }
  }
}

// Whether the setup's connection can do all the folders' work alone: when the
// work would be over before another login would be, or would not gain from
// one. Unknown uploads are taken to be few (they would need a scan to count).
bool one_connection_enough(const std::vector<sync::folder_pair>& pairs,
                           const storage::status_db& status, bool server_on_this_host,
                           std::chrono::steady_clock::duration login_time) {
  std::uint64_t arriving = 0;
  for (const auto& p : pairs) {
    auto meta = status.get_meta(p.status_name);
    if (!meta || !p.remote_status || p.remote_status->uidnext < meta->uidnext
        || p.remote_status->uidnext - meta->uidnext >= 256)
      return false;
    arriving += p.remote_status->uidnext - meta->uidnext;
  }
  // A few new messages per folder are over before a second login would be.
  if (pairs.size() <= 3)
    return true;
  // A server on this machine shares our CPUs, and each login costs it a
  // process of its own (~10 ms of CPU for Dovecot): more than many folders'
  // worth of small changes, which it serves one after the other just as
  // fast. Measured with Dovecot here (2 cores), 10 folders with 5 new
  // messages each: 0.049 s with one connection, 0.052 s with two, 0.057 s
  // with three. Many new messages still go faster in parallel, and so do
  // round trips that are slow (a login over 30 ms: a tunnel, a proxy).
  return server_on_this_host && login_time < quick_login && pairs.size() <= 16 && arriving <= 256;
}

// Blocking part of the setup, run on the setup actor's own thread. When
// folders go in an EXAMINE round (account_setup::ahead), the connection
// that runs it is left in ahead_lease instead of going back to the pool.
account_setup_ptr prepare(caf::actor_system& sys, const folder_job& proto, int accounts_at_once,
                          std::optional<session_lease>& ahead_lease) {
  auto out = std::make_shared<account_setup>();
  const auto& ctx = *proto.ctx;
  const auto& account = account_of(ctx, proto.account);
  const auto& settings = *ctx.settings;
  const auto& local_repo = settings.local(account);
  out->options = sync::account_sync_options(settings, account);
  if (account.presynchook)
    call_hook(proto.ui, account.name, "presynchook", *account.presynchook, ctx.quick);
  try {
    // The status database opens on its own thread while the connection is
    // made and the folders are listed: both take milliseconds, so overlap them.
    // So does OpenSSL's start: its first digest loads the configuration and
    // the default provider (0.75 ms here), and the first folder opened (its
    // FMD5) would wait for it, every other folder behind it on OpenSSL's
    // init lock. Over a plain connection nothing else has started it by then.
    auto dir = settings.general.metadata / ("Account-" + account.name) / "oimap-status";
    auto status_opening =
        std::async(std::launch::async, [dir, fsync = settings.general.fsync] {
          auto db = std::shared_ptr<storage::status_db>(storage::status_db::open(dir, fsync));
          try {
            storage::md5_hex({});
          } catch (const storage::storage_error&) {
            // No MD5 here: the first folder opened reports it.
          }
          return db;
        }).share();
    const auto* md = local_repo.maildir();
    storage::maildir_options mo;
    mo.fsync = settings.general.fsync;
    mo.windows_compatible = account.maildir_windows_compatible;
    mo.utime_from_header = md->utime_from_header;
    mo.filename_use_mail_timestamp = md->filename_use_mail_timestamp;
    mo.wire_drops_headers = account.filterheaders;
    out->local = std::make_shared<storage::maildir_store>(md->localfolders, md->sep, mo);
    const auto local_folders = out->local->list_folders();
    // Many folders (as the last sync left them) and a busy last run: the
    // second connection logs in while the first lists the folders, to share
    // the STATUS round. None yet (a first sync): it logs in meanwhile too,
    // as it will download.
    const auto* imap = settings.remote(account).imap();
    const bool many_folders = local_folders.size() >= split_status_from;
    const bool first_sync = local_folders.empty();
    auto sharing = std::make_shared<status_sharing>(first_status_chunk, status_chunk);
    std::future<std::optional<session_lease>> second;
    // For a first sync, not while other accounts sync too: they keep the
    // server busy already, and this login might be for nothing (see
    // connection_cap). Many folders' STATUS round still gets its helper.
    if (imap && imap->maxconnections >= 2
        && (many_folders || (first_sync && accounts_at_once == 1)))
      second = std::async(
          std::launch::async,
          // proto by value: a helper still logging in outlives the setup.
          [&sys, proto, status_opening, first_sync, sharing]() -> std::optional<session_lease> {
            const auto connect = [&] { return second_connection(sys, proto); };
            if (!first_sync) {
              try {
                if (!worth_splitting(*status_opening.get()))
                  return sharing->help(slow_status_round, connect);
              } catch (...) {
                return std::nullopt; // the setup reports it
              }
            }
            return connect();
          });
    // Whatever happens below, a second connection goes back to the pool; one
    // still logging in goes once it is in, and the setup does not wait for
    // it (after a burst cut its login ended 5 ms after the round, the first
    // connection idle meanwhile).
    struct give_back {
      const connection_pool_actor& pool;
      std::future<std::optional<session_lease>>& second;
      ~give_back() {
        if (!second.valid())
          return;
        const auto hand_in = [](std::future<std::optional<session_lease>>& f,
                                const connection_pool_actor& to) {
          try {
            if (auto l = f.get())
              checkin(to, std::move(*l));
          } catch (...) {
            // The helper failed: it has given its permit back.
          }
        };
        if (second.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
          hand_in(second, pool);
          return;
        }
        auto held = std::make_shared<std::future<std::optional<session_lease>>>(std::move(second));
        try {
          std::thread([held, to = pool, hand_in] { hand_in(*held, to); }).detach();
        } catch (const std::system_error&) {
          hand_in(*held, pool); // no thread to spare: wait for it here
        }
      }
    } give_back_second{proto.pool, second};
    // Before the give-back waits: a helper waiting for a round that will not
    // come (or has failed) gives up.
    struct end_sharing {
      status_sharing& sharing;
      ~end_sharing() { sharing.abandon(); }
    } end_sharing_round{*sharing};

    session_lease lease = checkout(sys, proto.pool);
    try {
      // A session from the pool (none yet, in practice) tells nothing of
      // how long a login takes (see one_connection_enough).
      auto login_time = std::chrono::steady_clock::duration::max();
      if (!lease.session) {
        const auto t0 = std::chrono::steady_clock::now();
        lease.session = open_session(proto);
        login_time = std::chrono::steady_clock::now() - t0;
      }
      out->server_on_this_host = lease.session->server_on_this_host();
      out->far = !out->server_on_this_host || login_time >= quick_login;
      const bool split_status =
          many_folders && second.valid() && worth_splitting(*status_opening.get());
      // A quiet account on a server nearby: the round in chunks, which the
      // waiting second connection joins should it prove slow.
      const bool shared_round = many_folders && second.valid() && !split_status
                                && ctx.only_folders.empty() && lease.session->has_condstore()
                                && out->server_on_this_host && login_time < quick_login;
      if (!shared_round)
        sharing->abandon();
      // Unless the STATUS round is (or may become) shared, the listing
      // brings every folder's STATUS with it (LIST-STATUS): one round trip
      // less. Not with -f, which would have the server open folders for
      // nothing.
      std::vector<protocol::list_entry> listed;
      std::map<std::string, sync::remote_snapshot> listed_status;
      if (!split_status && !shared_round && ctx.only_folders.empty()
          && lease.session->has_condstore() && lease.session->has_capability("LIST-STATUS")) {
        auto listing = lease.session->list_status("", "*");
        listed = std::move(listing.entries);
        for (const auto& st : listing.statuses) {
          listed_status[st.mailbox] = snapshot_of(st.info);
          out->status_by[st.mailbox] = lease.tag();
        }
      } else {
        listed = lease.session->list("", "*");
      }
      auto tree = sync::choose_folders(*lease.session, listed, local_folders, settings, account,
                                       ctx.python, ctx.only_folders);
      for (auto& refused : tree.refused)
        out->failed.push_back(failed_folder(std::move(refused.name), std::move(refused.reason)));
      // A folder that cannot be created on one side fails alone (the server
      // refuses the name, a file is in the way here); the others sync.
      std::set<std::string> uncreated_remote, uncreated_local;
      for (const auto& name : tree.create_remote) {
        try {
          lease.session->create(name);
          out->notes.push_back("created folder '" + name + "' on the server");
        } catch (const protocol::imap_error& e) {
          if (e.kind() != protocol::error_kind::no && e.kind() != protocol::error_kind::bad)
            throw; // the connection is gone: so is the account's sync
          uncreated_remote.insert(name);
          out->failed.push_back(creation_failed(tree.pairs, name, {}, e.what()));
        }
      }
      for (const auto& name : tree.create_local) {
        try {
          out->local->create_folder(name);
          out->notes.push_back("created local folder '" + name + "'");
        } catch (const storage::storage_error& e) {
          uncreated_local.insert(name);
          out->failed.push_back(creation_failed(tree.pairs, {}, name, e.what()));
        }
      }
      for (auto& p : tree.pairs)
        if (!uncreated_remote.count(p.remote_name) && !uncreated_local.count(p.local_name))
          out->pairs.push_back(std::move(p));
      if (ctx.mbnames) {
        std::vector<std::string> names;
        for (const auto& p : out->pairs)
          if (!p.local_name.empty())
            names.push_back(p.local_name);
        try {
          ui::record_folders(*ctx.mbnames, account.name, names, md->localfolders);
        } catch (const std::exception& e) {
          caf::anon_send(proto.ui, event(ui::ui_event::kind::warning, account.name, e.what()));
        }
      }
      // One pipelined STATUS round for every folder: with CONDSTORE it tells
      // the folder syncers which folders cannot have changed on the server.
      if (lease.session->has_condstore()) {
        std::vector<std::string> names;
        for (const auto& p : out->pairs)
          if (!listed_status.count(p.remote_name))
            names.push_back(p.remote_name);
        std::vector<protocol::status_result> statuses;
        if (shared_round) {
          // A burst after a quiet run shows in the first chunks; see
          // burst_shown.
          std::map<std::string, std::string> status_name;
          for (const auto& p : out->pairs)
            status_name[p.remote_name] = p.status_name;
          const auto status = status_opening.get();
          const bool readonly = settings.remote(account).readonly;
          // Each answer is judged once: the check comes after every chunk,
          // with every answer so far, and a judgement reads the status.
          std::map<std::string, bool> changed;
          statuses = sharing->run_first(
              *lease.session, std::move(names), out->status_by,
              [&](const std::vector<protocol::status_result>& so_far) {
                return burst_shown(*sharing, so_far, [&](const protocol::status_result& st) {
                  auto [known, fresh] = changed.try_emplace(st.mailbox, false);
                  if (fresh) {
                    const auto it = status_name.find(st.mailbox);
                    known->second = it != status_name.end()
                                    && !sync::remote_unchanged(*status, it->second,
                                                               snapshot_of(st.info), readonly);
                  }
                  return known->second;
                });
              });
        } else {
          statuses = status_round(proto, *lease.session, split_status, second, std::move(names),
                                  out->status_by);
        }
        std::map<std::string, sync::remote_snapshot> by_name = std::move(listed_status);
        for (const auto& st : statuses)
          if (st.ok)
            by_name[st.mailbox] = snapshot_of(st.info);
        for (auto& p : out->pairs)
          if (auto it = by_name.find(p.remote_name); it != by_name.end())
            p.remote_status = it->second;
        out->status = status_opening.get();
        // Unchanged folders need neither a syncer nor a connection.
        const bool readonly = settings.remote(account).readonly;
        const auto& options = out->options;
        std::erase_if(out->pairs, [&](const sync::folder_pair& p) {
          if (!sync::folder_unchanged(*out->local, *out->status, p, readonly,
                                      options.window.description))
            return false;
          ++out->unchanged;
          return true;
        });
        // For the next run's choice of one or two connections for its
        // STATUS round (worth_splitting); written only when it changes, as
        // a run that writes nothing closes the database faster, and not
        // synced (no fsync before the first folder starts): a hint a crash
        // may take back. Folders synced for the first time do not count:
        // they say nothing of how busy the account is, and after the first
        // download the next run most often finds the account quiet (40
        // folders of 125, nothing changed: that run took 0.029 s with its
        // STATUS round split over a second login, 0.026 s without).
        if (ctx.only_folders.empty()) {
          const auto to_sync = static_cast<std::uint32_t>(
              std::count_if(out->pairs.begin(), out->pairs.end(), [&](const sync::folder_pair& p) {
                return out->status->get_meta(p.status_name).has_value();
              }));
          if (out->status->folders_to_sync_last_run() != to_sync) {
            storage::status_db::batch b;
            b.set_folders_to_sync(to_sync);
            out->status->write_unsynced(b);
          }
        }
        interleave_by_connection(out->pairs, out->status_by);
        out->light = one_connection_enough(out->pairs, *out->status,
                                           lease.session->server_on_this_host(), login_time);
        // Folders with a little new on the server only: their EXAMINEs go
        // out together, on this connection, as soon as the setup has
        // answered. When it is the only one (light), and when the server is
        // far away (or behind a tunnel) and each round trip counts. 10
        // folders with 5 new messages and 5 flag changes each (bench/run
        // small, c): 0.037 s before, 0.035 s over loopback (Dovecot serves
        // each EXAMINE in ~1 ms); 0.245 s before, 0.125 s 20 ms away.
        // Not with maxage or maxsize: what comes down waits for the window.
        if (lease.session->has_qresync() && (out->light || out->far) && !options.window.active()) {
          auto ahead = std::make_shared<sync::examine_ahead>(out->local, *out->status, out->pairs,
                                                             options, max_examined_ahead);
          if (!ahead->empty())
            out->ahead = std::move(ahead);
        }
      }
      if (!out->status)
        out->status = status_opening.get();
    } catch (...) {
      checkin(proto.pool, session_lease{});
      throw;
    }
    if (out->ahead)
      ahead_lease = std::move(lease);
    else
      checkin(proto.pool, std::move(lease));
  } catch (const std::exception& e) {
    out->error = e.what();
    if (out->status) {
      try {
        out->status->close(); // nothing will use it, and the process may end soon
      } catch (...) {
      }
    }
  }
  return out;
}

struct account_state {
  run_context_ptr ctx;
  std::string name;
  ui_actor ui;
  connection_pool_actor pool;
  status_writer_actor writer;
  account_setup_ptr setup;
  std::deque<sync::folder_pair> queue;
  int running = 0;
  int failed = 0;
  int uidvalidity = 0;
  int synced = 0;
  std::vector<std::string> new_mail; // INBOX, if it got new mail from the server
  sync::folder_counts total;
  std::chrono::steady_clock::time_point started;
  caf::typed_response_promise<account_report> rp;
  int closing = 0;          // sessions and database still closing at the end
  std::string close_failed; // what went wrong closing, if anything
  int accounts_at_once = 1; // syncing at the same time, this one included
};

using account_pointer = account_actor::stateful_pointer<account_state>;

folder_job job_for(account_pointer self, sync::folder_pair pair) {
  auto& st = self->state;
  const auto& settings = *st.ctx->settings;
  const auto& account = account_of(*st.ctx, st.name);
  const auto& remote = settings.remote(account);
  folder_job job;
  job.ctx = st.ctx;
  job.account = st.name;
  job.remote_repo = &remote;
  job.pool = st.pool;
  job.writer = st.writer;
  job.ui = st.ui;
  if (st.setup) {
    job.local = st.setup->local;
    job.status = st.setup->status;
    if (auto it = st.setup->status_by.find(pair.remote_name); it != st.setup->status_by.end())
      job.prefer_session = it->second;
  }
  if (st.setup && st.setup->ahead)
    job.ahead = st.setup->ahead->future(pair.remote_name);
  job.pair = std::move(pair);
  // The setup's, once it is in (the job the setup itself runs on comes first).
  job.options = st.setup ? st.setup->options : sync::account_sync_options(settings, account);
  if (const auto* md = settings.local(account).maildir())
    job.restoreatime = md->restoreatime;
  return job;
}

void finish(account_pointer self, std::string error = {}) {
  auto& st = self->state;
  int code = 0;
  if (!error.empty() || st.failed)
    code = 1;
  if (st.uidvalidity)
    code = 2; // as OfflineIMAP: a UIDVALIDITY problem decides the exit code
  if (!error.empty())
    self->send(st.ui, event(ui::ui_event::kind::error, st.name, error));
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - st.started).count();
  char timing[32];
  std::snprintf(timing, sizeof timing, "%.2f s", secs);
  std::string summary =
      std::to_string(st.synced) + " folders, " + std::to_string(st.total.downloaded)
      + " messages copied here, " + std::to_string(st.total.uploaded) + " to the server, "
      + std::to_string(st.total.deleted_local + st.total.deleted_remote) + " deleted, "
      + std::to_string(st.total.flags_local + st.total.flags_remote) + " flag changes, "
      + ui::human_bytes(st.total.bytes) + " in " + timing;
  if (st.failed)
    summary += "; " + std::to_string(st.failed) + " folders failed";
  if (st.uidvalidity)
    summary += "; " + std::to_string(st.uidvalidity) + " skipped (UIDVALIDITY)";
  auto done = event(ui::ui_event::kind::account_done, st.name, summary);
  done.outcome = code;
  self->send(st.ui, std::move(done));

  // Two things end an account, side by side: its idle sessions log out (on
  // a thread of their own; waiting for the server's answer means the server
  // has finished its index work for this run, which the next run would
  // otherwise wait for), and its status database closes. Then it reports.
  // A server far away is not waited for: its answer would cost a round trip
  // (20 ms of a 93 ms no-change run, 20 ms away), and its index work is its
  // own business by the next run.
  const bool wait_for_logout = !(st.setup && st.setup->far);
  // As OfflineIMAP: after a sync that got to its folders (some may have
  // failed), not after one that could not start.
  const auto& account = account_of(*st.ctx, st.name);
  const auto& remote_repo = st.ctx->settings->remote(account);
  // The server repository's newmail_hook, once for each folder that got new
  // mail, as OfflineIMAP calls it; then the postsynchook.
  std::vector<std::string> new_mail;
  if (st.setup && remote_repo.newmail_hook)
    new_mail = st.new_mail;
  const bool post_hook = st.setup && (account.postsynchook || !new_mail.empty());
  st.setup.reset();
  st.closing = (st.writer ? 2 : 1) + (post_hook ? 1 : 0);
  auto closed = [self, code](bool ok, const std::string& what) {
    auto& st = self->state;
    if (!ok)
      st.close_failed = what;
    if (--st.closing > 0)
      return;
    if (st.writer)
      self->send_exit(st.writer, caf::exit_reason::user_shutdown);
    if (!st.close_failed.empty())
      self->send(st.ui, event(ui::ui_event::kind::error, st.name, st.close_failed));
    st.rp.deliver(account_report{st.name, st.close_failed.empty() || code == 2 ? code : 1});
  };
  self->request(st.pool, caf::infinite, drain_atom::value)
      .then(
          [self, closed, wait_for_logout](std::vector<session_lease>& idle) {
            auto closer = self->system().spawn<caf::detached>(
                [idle = std::move(idle), wait_for_logout](session_closer_actor::pointer me) mutable
                -> session_closer_actor::behavior_type {
                  return {
                      [me, idle, wait_for_logout](run_atom) mutable {
                        for (auto& l : idle)
                          try {
                            if (wait_for_logout)
                              l.session->logout();
                            else
                              l.session->close();
                          } catch (...) {
                            // Gone already: nothing left to close.
                          }
                        idle.clear();
                        me->quit();
                        return true;
                      },
                  };
                });
            self->request(closer, caf::infinite, run_atom::value)
                .then([closed](bool) { closed(true, {}); },
                      [closed](caf::error&) { closed(true, {}); });
          },
          [closed](caf::error&) { closed(true, {}); });
  if (post_hook) {
    auto hook = self->system().spawn<caf::detached>(
        [ui = st.ui, name = st.name, command = account.postsynchook, quick = st.ctx->quick,
         python = st.ctx->python, newmail = remote_repo.newmail_hook, new_mail,
         where = remote_repo.where + ": repository '" + remote_repo.name + "': newmail_hook"](
            hook_runner_actor::pointer me) -> hook_runner_actor::behavior_type {
          return {
              [me, ui, name, command, quick, python, newmail, new_mail, where](run_atom) {
                for (std::size_t i = 0; i < new_mail.size() && python; ++i)
                  try {
                    python->call(*newmail, {}, where);
                  } catch (const std::exception& e) {
                    caf::anon_send(ui, event(ui::ui_event::kind::warning, name, e.what()));
                    break;
                  }
                if (command)
                  call_hook(ui, name, "postsynchook", *command, quick);
                me->quit();
                return true;
              },
          };
        });
    self->request(hook, caf::infinite, run_atom::value)
        .then([closed](bool) { closed(true, {}); }, [closed](caf::error&) { closed(true, {}); });
  }
  if (st.writer)
    // Every syncer is done: the database closes before the account reports.
    self->request(st.writer, caf::infinite, drain_atom::value)
        .then([closed](bool) { closed(true, {}); },
              [self, closed](caf::error& e) {
                closed(false, "closing the status database: " + self->system().render(e));
              });
}

// How many connections the account may use: one when it has little to do
// (account_setup::light); its share of the CPUs when other accounts sync at
// the same time with a server on this machine. Then the accounts'
// connections already keep the server's processes busy on the CPUs we share,
// and every further login costs it a process start (~10-16 ms of CPU for
// Dovecot). Measured with 50 accounts of 2 folders x 200 messages, 4 at once
// (bench/run accounts, first sync, 2 cores): up to 3 connections each 2.13 s
// and 2.90 s of Dovecot's CPU, 2 each 1.94 s and 2.60 s, 1 each 1.67 s and
// 2.07 s. Alone, an account still spreads a big download over its
// connections (100,000 messages: 6.3 s over 3 connections, 8.1 s over one),
// and so does the last one still syncing once the others are done (a
// 5,000-message first sync beside an account with nothing new: 0.31 s
// with the one connection it started with, 0.26 s taking up three).
// Unlike the shared STATUS round, no test of the login's time: with the CPUs
// that busy, a login here takes over the 30 ms that tell a tunnel apart. So
// accounts reached through a local tunnel, several at once, get their share
// too, their connections still in parallel (the 50 accounts through the
// bench's proxy, 20 ms away: 2.77 s, against 2.89 s with 3 each).
int connection_cap(const account_state& st, int maxconnections) {
  if (!st.setup)
    return maxconnections;
  if (st.setup->light)
    return 1;
  if (st.setup->server_on_this_host && st.accounts_at_once > 1) {
    const int cpus = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    return std::clamp(cpus / st.accounts_at_once, 1, std::max(1, maxconnections));
  }
  return maxconnections;
}

int maxconnections_of(const account_state& st) {
  const auto* imap = st.ctx->settings->remote(account_of(*st.ctx, st.name)).imap();
  return imap ? imap->maxconnections : 1;
}

// Gives the pool the account's cap as it stands (connection_cap).
void limit_pool(account_pointer self) {
  auto& st = self->state;
  self->send(st.pool, limit_atom::value, connection_cap(st, maxconnections_of(st)));
}

// Runs the setup's EXAMINE round on its connection, then hands that to the
// pool; a connection that failed goes as a permit (the syncers whose
// folders it did not reach ask the server themselves).
void run_examine_round(sync::examine_ahead& ahead, session_lease lease,
                       const connection_pool_actor& pool) {
  try {
    ahead.run(*lease.session);
  } catch (const std::exception&) {
    lease.session.reset();
  }
  checkin(pool, std::move(lease));
}

// Tells the ui how a folder went and counts it for the account's summary.
void take_report(account_pointer self, const folder_report& r) {
  auto& st = self->state;
  const auto& res = r.result;
  for (const auto& w : res.warnings)
    self->send(st.ui, event(ui::ui_event::kind::warning, st.name, w));
  ui::ui_event e;
  e.type = ui::ui_event::kind::folder_done;
  e.account = st.name;
  e.folder = r.folder;
  e.counts = res.counts;
  e.outcome = static_cast<int>(res.outcome);
  e.text = res.message;
  self->send(st.ui, std::move(e));
  // As OfflineIMAP: new mail is unseen mail come down to the server's INBOX.
  if (res.counts.downloaded_unseen > 0 && r.remote_folder == "INBOX")
    st.new_mail.push_back(r.folder);
  switch (res.outcome) {
  case sync::folder_outcome::ok:
    ++st.synced;
    break;
  case sync::folder_outcome::failed:
    ++st.failed;
    break;
  case sync::folder_outcome::skipped_uidvalidity:
    ++st.uidvalidity;
    break;
  case sync::folder_outcome::canceled:
    break;
  }
  st.total.downloaded += res.counts.downloaded;
  st.total.uploaded += res.counts.uploaded;
  st.total.deleted_local += res.counts.deleted_local;
  st.total.deleted_remote += res.counts.deleted_remote;
  st.total.flags_local += res.counts.flags_local;
  st.total.flags_remote += res.counts.flags_remote;
  st.total.bytes += res.counts.bytes;
}

void launch_more(account_pointer self) {
  auto& st = self->state;
  const int cap = connection_cap(st, maxconnections_of(st));
  // A few syncers beyond the pool's size wait at the pool with their thread
  // already up: when a connection comes back, the next folder starts at once
  // instead of after a round trip through this actor and a thread start.
  const int ahead = 4;
  while (!st.queue.empty() && st.running < cap + ahead && !st.ctx->stop->load()) {
    auto pair = std::move(st.queue.front());
    st.queue.pop_front();
    auto syncer = spawn_folder_syncer(self->system(), job_for(self, std::move(pair)));
    ++st.running;
    self->request(syncer, caf::infinite, run_atom::value).then([self](folder_report& r) {
      --self->state.running;
      take_report(self, r);
      launch_more(self);
    });
  }
  if (st.running == 0 && (st.queue.empty() || st.ctx->stop->load()))
    finish(self);
}

account_actor::behavior_type account_behavior(account_pointer self, run_context_ptr ctx,
                                              std::string name, ui_actor ui, int accounts_at_once) {
  self->state.accounts_at_once = accounts_at_once;
  self->state.ctx = std::move(ctx);
  self->state.name = std::move(name);
  self->state.ui = std::move(ui);
  return {
      [self](run_atom) -> caf::result<account_report> {
        auto& st = self->state;
        st.rp = self->make_response_promise<account_report>();
        st.started = std::chrono::steady_clock::now();
        self->send(st.ui, event(ui::ui_event::kind::account_start, st.name));
        st.pool = spawn_connection_pool(self->system(), maxconnections_of(st));
        self->link_to(st.pool);
        folder_job proto = job_for(self, {});
        auto setup = self->system().spawn<caf::detached>(
            [proto, at_once = st.accounts_at_once](
                account_setup_actor::pointer me) -> account_setup_actor::behavior_type {
              return {
                  [me, proto, at_once](run_atom) -> caf::result<account_setup_ptr> {
                    std::optional<session_lease> ahead_lease;
                    auto r = prepare(me->system(), proto, at_once, ahead_lease);
                    if (!ahead_lease) {
                      me->quit();
                      return r;
                    }
                    // The account starts the syncers while this thread sends
                    // the EXAMINEs they wait for.
                    auto rp = me->make_response_promise<account_setup_ptr>();
                    rp.deliver(r);
                    run_examine_round(*r->ahead, std::move(*ahead_lease), proto.pool);
                    me->quit();
                    return rp;
                  },
              };
            });
        self->request(setup, caf::infinite, run_atom::value)
            .then(
                [self](account_setup_ptr& s) {
                  auto& st = self->state;
                  if (!s->error.empty()) {
                    finish(self, s->error);
                    return;
                  }
                  st.setup = s;
                  for (const auto& n : s->notes)
                    self->send(st.ui, event(ui::ui_event::kind::info, st.name, n));
                  for (const auto& f : s->failed)
                    take_report(self, f);
                  st.synced += s->unchanged;
                  limit_pool(self);
                  st.writer = spawn_status_writer(self->system(), s->status);
                  st.queue.assign(s->pairs.begin(), s->pairs.end());
                  launch_more(self);
                },
                [self](caf::error& e) { finish(self, self->system().render(e)); });
        return st.rp;
      },
      [self](at_once_atom, int accounts_at_once) {
        // Others finished (or, in principle, started): the share of the
        // connections follows. Before the setup's answer the new count is
        // simply used then; after finish() there is nothing left to share.
        auto& st = self->state;
        st.accounts_at_once = std::max(1, accounts_at_once);
        if (!st.setup)
          return;
        limit_pool(self);
        // More syncers ready at the pool, for the permits a raised cap frees.
        if (st.running > 0 && !st.queue.empty() && !st.ctx->stop->load())
          launch_more(self);
      },
  };
}

} // namespace

account_actor spawn_account(caf::actor_system& sys, run_context_ptr ctx, std::string account,
                            ui_actor ui, int accounts_at_once) {
  return sys.spawn(account_behavior, std::move(ctx), std::move(account), std::move(ui),
                   accounts_at_once);
}

} // namespace oimap::actors
