// Folders read from the server ahead of their syncers: their EXAMINEs in one pipelined round.
#pragma once

#include "protocol/session.hpp"
#include "sync/examined_folder.hpp"
#include "sync/folder_sync.hpp"

#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace oimap::storage {
class maildir_store;
class status_db;
} // namespace oimap::storage

namespace oimap::sync {

// A folder that changed only on the server, by a few new messages or flags,
// needs one round trip: EXAMINE with QRESYNC and the new bodies behind it.
// One syncer after the other on a connection, each such folder costs a round
// trip plus the hand-over of the connection; here they all go out at once,
// on the connection that listed the folders, as soon as it has, and each
// folder's syncer takes its part as it comes in.
class examine_ahead {
public:
  // Picks the folders of pairs that qualify: QRESYNC state recorded, the
  // Maildir untouched since, the server's new messages (per its STATUS) all
  // fetchable with the EXAMINE, and max_new of them at most in all. The
  // session's QRESYNC is the caller's to check.
  examine_ahead(std::shared_ptr<storage::maildir_store> local, const storage::status_db& status,
                const std::vector<folder_pair>& pairs, const folder_sync_options& opt,
                std::uint32_t max_new);
  ~examine_ahead();
  examine_ahead(const examine_ahead&) = delete;
  examine_ahead& operator=(const examine_ahead&) = delete;

  bool empty() const { return folders_.empty(); }
  // The folder's future, invalid when it is not in the round.
  examined_ahead future(const std::string& remote_name) const;
  // The round. Every future is ready once this returns or throws (with what
  // the session threw: the connection is then unusable).
  void run(protocol::session& session);

private:
  struct folder {
    folder_pair pair;
    std::uint32_t uidvalidity = 0;
    std::uint64_t modseq = 0;
    std::optional<std::string> prefetch_set;
    std::promise<std::shared_ptr<examined_folder>> promise;
    examined_ahead future;
    bool settled = false;
  };
  void settle(folder& f, std::shared_ptr<examined_folder> got);

  std::shared_ptr<storage::maildir_store> local_;
  std::vector<folder> folders_;
  std::map<std::string, std::size_t> by_name_;
};

} // namespace oimap::sync
