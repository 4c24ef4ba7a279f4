// A STATUS round that a second connection joins only once it proves slow.
#pragma once

#include "actors/actors.hpp"
#include "protocol/session.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace oimap::actors {

// On a server of this machine a quiet account's STATUS round takes a few
// ms, and a second login would cost the server more than it saves; after
// many changes each STATUS makes Dovecot list a folder, and two
// connections halve the round. Which one a run is, the round itself shows:
// the first connection asks in chunks from the front, and a helper that
// waited `patience` in vain logs in and asks from the back. The first
// chunk may be shorter than the rest, and it samples the whole round: its
// answers are the first to show a burst (most folders changed), and a
// quiet account's few busy folders (INBOX, Junk, Sent, Trash, which sort
// together before lower-case names) fill it only by chance.
//
// Thread-safety: run_first on the setup's thread, help on the helper's,
// abandon from either.
class status_sharing {
public:
  status_sharing(std::size_t first_chunk, std::size_t chunk)
      : first_chunk_(std::max<std::size_t>(first_chunk, 1)),
        chunk_(std::max<std::size_t>(chunk, 1)) {}

  // STATUS for every name, on first and, if it comes, the helper; asked_by
  // gets the tag of the connection that asked each name. Throws what first
  // throws (the helper then stops). enough, if given, sees every result so
  // far after each of first's chunks: true ends the round there, the names
  // not asked yet left without a result.
  using enough_fn = std::function<bool(const std::vector<protocol::status_result>&)>;
  std::vector<protocol::status_result> run_first(protocol::session& first,
                                                 std::vector<std::string> names,
                                                 std::map<std::string, std::uintptr_t>& asked_by,
                                                 const enough_fn& enough = {});

  // The helper's part: waits for the round to start and then up to
  // patience for it to end; if it has not, calls connect and asks from the
  // back until nothing is left. Returns what connect gave (a lease whose
  // session failed comes back empty, its names asked again by first), or
  // nullopt if it never connected.
  std::optional<session_lease> help(std::chrono::milliseconds patience,
                                    const std::function<std::optional<session_lease>()>& connect);

  // No round, or no more of it: the helper takes nothing more.
  void abandon();

  // Whether `changed` of the first `asked` answers show a burst: most
  // folders changed on the server. Not before the first chunk is in; until
  // a full chunk is, every answer must show a change (a quiet account's few
  // busy folders may be among the first), from then on three in four.
  bool shows_burst(std::size_t asked, std::size_t changed) const;

private:
  std::vector<std::string> take_locked(bool from_back, std::size_t n);
  void put_back_locked(std::vector<std::string> names);

  const std::size_t first_chunk_;
  const std::size_t chunk_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> queue_;
  std::size_t in_flight_ = 0;
  bool started_ = false;
  bool abandoned_ = false;
  std::vector<protocol::status_result> helper_results_;
  std::map<std::string, std::uintptr_t> helper_asked_;
};

} // namespace oimap::actors
