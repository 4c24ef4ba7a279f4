// sync_folder's tests: one user's INBOX on a private Dovecot, a Maildir and a status database.
#pragma once

#include "protocol/session.hpp"
#include "storage/maildir_store.hpp"
#include "storage/status_db.hpp"
#include "support/dovecot_fixture.hpp"
#include "sync/folder_sync.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace oimap::test {

namespace fs = std::filesystem;

inline std::string message(const std::string& id) {
  return "From: a@example.org\r\nSubject: " + id + "\r\nMessage-ID: <" + id
         + "@example.org>\r\n\r\nbody of " + id + "\r\n";
}

inline std::size_t files_in(const fs::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir))
    ++n;
  return n;
}

// Messages in a Maildir folder (cur/ and new/).
inline std::size_t messages_in(const fs::path& folder) {
  return files_in(folder / "cur") + files_in(folder / "new");
}

// One user's INBOX on a private Dovecot, a Maildir and a status database.
struct inbox_sync {
  private_dovecot server;
  temp_dir dir{"oimap-folder-sync"};
  storage::maildir_store local{dir.path() / "Mail", '.'};
  std::unique_ptr<storage::status_db> status =
      storage::status_db::open(dir.path() / "state", false);
  sync::folder_pair pair{"INBOX", "INBOX", "INBOX", std::nullopt, std::nullopt};
  sync::folder_sync_options options;
  std::atomic<bool> stop{false};
  std::unique_ptr<protocol::session> session;
  std::vector<std::string> commands; // what the session sent, in order
  std::vector<std::string> wire;     // sent ("> ...") and received ("< ..."), in order

  inbox_sync() {
    server.add_user("alice", "pw");
    local.create_folder("INBOX");
    session = connect([this](char dir, std::string_view line) {
      if (dir == '>')
        commands.emplace_back(line);
      wire.push_back(std::string(1, dir) + " " + std::string(line));
    });
  }
  // A session of alice's own, its lines to trace if given.
  std::unique_ptr<protocol::session>
  connect(std::function<void(char, std::string_view)> trace = {}) {
    protocol::connect_options o;
    o.host = "127.0.0.1";
    o.port = server.port();
    o.user = "alice";
    o.password = "pw";
    o.trace = std::move(trace);
    return protocol::session::connect(o);
  }
  std::unique_ptr<imap_dialogue> client() {
    auto d = std::make_unique<imap_dialogue>(server.port());
    d->login("alice", "pw");
    return d;
  }
  // Messages put in INBOX by another client, as a delivery would.
  void deliver(std::initializer_list<const char*> ids) {
    auto c = client();
    for (const char* id : ids)
      REQUIRE(c->append("INBOX", message(id)).ok());
  }
  // Another client flags the folder's message with uid 1 on the server.
  void flag_first_on_server(const std::string& folder) {
    auto c = client();
    REQUIRE(c->command("SELECT " + folder).ok());
    REQUIRE(c->command("UID STORE 1 +FLAGS (\\Flagged)").ok());
  }
  // Messages delivered, then synced down (the status taken first).
  void synced(std::initializer_list<const char*> ids) {
    deliver(ids);
    take_status();
    REQUIRE(run().outcome == sync::folder_outcome::ok);
  }
  fs::path maildir() const { return local.folder_path("INBOX"); }
  // The message synced as uid 1 gets \Flagged here (its only flag).
  void flag_first_here() {
    fs::path file;
    for (const char* sub : {"cur", "new"})
      for (const auto& e : fs::directory_iterator(maildir() / sub))
        if (e.path().filename().string().find(",U=1") != std::string::npos)
          file = e.path();
    REQUIRE_FALSE(file.empty());
    const std::string name = file.filename().string();
    fs::rename(file, maildir() / "cur" / (name.substr(0, name.find(":2,")) + ":2,F"));
  }
  // Index of the first line on the wire from `from` on containing what; npos if none.
  std::size_t on_wire(std::string_view what, std::size_t from = 0) const {
    for (std::size_t i = from; i < wire.size(); ++i)
      if (wire[i].find(what) != std::string::npos)
        return i;
    return std::string::npos;
  }
  // One message synced down, then one new here to go up (status taken).
  void synced_then_local_mail() {
    synced({"m1"});
    std::ofstream(maildir() / "new" / "1700000000.M1P1.host") << "Subject: up\n\nlocal mail\n";
    take_status();
  }
  // As the account's STATUS round does before the folder's sync (NOOP first:
  // the session still has the folder selected from the last run).
  void take_status() { pair.remote_status = status_of("INBOX"); }
  sync::remote_snapshot status_of(const std::string& folder) {
    session->noop();
    const auto st = session->status(folder);
    return {st.uidvalidity, st.uidnext, st.exists, st.highestmodseq};
  }
  sync::folder_result run_acquiring(const sync::acquire_fn& acquire) {
    return run_folder(pair, acquire);
  }
  // Any folder's sync, the session acquired when needed; with its part of
  // an EXAMINE round, if given.
  sync::folder_result run_folder(const sync::folder_pair& p, const sync::acquire_fn& acquire,
                                 const sync::examined_ahead* ahead = nullptr) {
    const sync::status_write_fn write = [&](storage::status_db::batch& b) { status->write(b); };
    return sync::sync_folder(acquire, local, *status, p, write, options, stop, {}, {}, {}, ahead);
  }
  sync::folder_result run(const sync::remote_done_fn& done = {}) {
    const sync::status_write_fn write = [&](storage::status_db::batch& b) { status->write(b); };
    return sync::sync_folder(*session, local, *status, pair, write, options, stop, {}, {}, done);
  }
};

} // namespace oimap::test
