// Prefetched bodies: written to tmp/ as they stream in, staged until the plan takes them.
#include "sync/prefetched_bodies.hpp"

#include <unistd.h>

namespace oimap::sync {

prefetched_bodies::~prefetched_bodies() {
  for (const auto& [uid, m] : staged_)
    ::unlink(m.message.tmp_path.c_str());
}

void prefetched_bodies::begin(std::uint64_t size) {
  writer_.emplace(folder_.begin_message());
  size_ = size;
}

void prefetched_bodies::message(std::uint32_t uid, storage::flag_set flags,
                                std::string /*internaldate*/) {
  if (!writer_)
    return;
  staged_.insert_or_assign(uid, entry{writer_->stage(uid, flags), size_});
  writer_.reset();
}

std::optional<std::pair<storage::staged_message, std::uint64_t>>
prefetched_bodies::take(std::uint32_t uid) {
  auto it = staged_.find(uid);
  if (it == staged_.end())
    return std::nullopt;
  auto out = std::make_pair(std::move(it->second.message), it->second.size);
  staged_.erase(it);
  return out;
}

} // namespace oimap::sync
