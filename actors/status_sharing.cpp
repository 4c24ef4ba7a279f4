// A STATUS round that a second connection joins only once it proves slow.
#include "actors/status_sharing.hpp"

#include <algorithm>
#include <iterator>
#include <utility>

namespace oimap::actors {

std::vector<std::string> status_sharing::take_locked(bool from_back, std::size_t n) {
  std::vector<std::string> out;
  while (!queue_.empty() && out.size() < n) {
    if (from_back) {
      out.push_back(std::move(queue_.back()));
      queue_.pop_back();
    } else {
      out.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
  }
  in_flight_ += out.size();
  return out;
}

void status_sharing::put_back_locked(std::vector<std::string> names) {
  in_flight_ -= names.size();
  std::move(names.begin(), names.end(), std::back_inserter(queue_));
}

namespace {

// The names reordered so that the first `sample` of them are spread over the
// whole list, and so on: 40 names, 4 at a time, go 0 10 20 30 1 11 ...
std::deque<std::string> spread(std::vector<std::string> names, std::size_t sample) {
  std::deque<std::string> out;
  const std::size_t stride = std::max<std::size_t>(1, (names.size() + sample - 1) / sample);
  for (std::size_t start = 0; start < stride; ++start)
    for (std::size_t i = start; i < names.size(); i += stride)
      out.push_back(std::move(names[i]));
  return out;
}

} // namespace

std::vector<protocol::status_result>
status_sharing::run_first(protocol::session& first, std::vector<std::string> names,
                          std::map<std::string, std::uintptr_t>& asked_by,
                          const enough_fn& enough) {
  {
    std::lock_guard lock(mutex_);
    queue_ = spread(std::move(names), first_chunk_);
    started_ = true;
  }
  changed_.notify_all();
  const auto tag = session_tag(&first);
  std::vector<protocol::status_result> results;
  for (;;) {
    std::vector<std::string> chunk;
    {
      std::unique_lock lock(mutex_);
      // Nothing left to take: done once the helper's chunk is in (or back).
      changed_.wait(lock, [&] { return !queue_.empty() || in_flight_ == 0; });
      if (queue_.empty())
        break;
      chunk = take_locked(false, results.empty() ? first_chunk_ : chunk_);
    }
    std::vector<protocol::status_result> got;
    try {
      got = first.status_many(chunk);
    } catch (...) {
      {
        std::lock_guard lock(mutex_);
        in_flight_ -= chunk.size();
        abandoned_ = true;
      }
      changed_.notify_all();
      throw;
    }
    {
      std::lock_guard lock(mutex_);
      in_flight_ -= chunk.size();
    }
    changed_.notify_all();
    for (const auto& n : chunk)
      asked_by[n] = tag;
    std::move(got.begin(), got.end(), std::back_inserter(results));
    if (enough) {
      // With the helper's answers, if it has any (a copy only then).
      std::vector<protocol::status_result> with_helper;
      {
        std::lock_guard lock(mutex_);
        if (!helper_results_.empty()) {
          with_helper = results;
          with_helper.insert(with_helper.end(), helper_results_.begin(), helper_results_.end());
        }
      }
      if (enough(with_helper.empty() ? results : with_helper)) {
        {
          std::lock_guard lock(mutex_);
          queue_.clear();
          abandoned_ = true;
        }
        changed_.notify_all();
        break;
      }
    }
  }
  std::unique_lock lock(mutex_);
  // A chunk the helper is asking comes in (or back) first.
  changed_.wait(lock, [&] { return in_flight_ == 0; });
  abandoned_ = true; // the round is over
  std::move(helper_results_.begin(), helper_results_.end(), std::back_inserter(results));
  for (auto& [name, t] : helper_asked_)
    asked_by[name] = t;
  return results;
}

std::optional<session_lease>
status_sharing::help(std::chrono::milliseconds patience,
                     const std::function<std::optional<session_lease>()>& connect) {
  {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return started_ || abandoned_; });
    if (changed_.wait_for(lock, patience, [&] { return abandoned_ || queue_.empty(); }))
      return std::nullopt;
  }
  auto lease = connect();
  if (!lease || !lease->session || !lease->session->has_condstore())
    return lease;
  const auto tag = lease->tag();
  for (;;) {
    std::vector<std::string> chunk;
    {
      std::lock_guard lock(mutex_);
      if (abandoned_ || queue_.empty())
        break;
      chunk = take_locked(true, chunk_);
    }
    try {
      auto got = lease->session->status_many(chunk);
      {
        std::lock_guard lock(mutex_);
        in_flight_ -= chunk.size();
        for (const auto& n : chunk)
          helper_asked_[n] = tag;
        std::move(got.begin(), got.end(), std::back_inserter(helper_results_));
      }
      changed_.notify_all();
    } catch (...) {
      // The first connection asks these again; the permit goes back.
      {
        std::lock_guard lock(mutex_);
        put_back_locked(std::move(chunk));
      }
      changed_.notify_all();
      lease->session.reset();
      return lease;
    }
  }
  return lease;
}

bool status_sharing::shows_burst(std::size_t asked, std::size_t changed) const {
  if (asked < first_chunk_)
    return false;
  if (asked < chunk_)
    return changed == asked;
  return changed * 4 >= asked * 3;
}

void status_sharing::abandon() {
  {
    std::lock_guard lock(mutex_);
    abandoned_ = true;
  }
  changed_.notify_all();
}

} // namespace oimap::actors
