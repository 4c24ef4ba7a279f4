// Bodies fetched together with a folder's SELECT, before there is a plan: staged in tmp/ only.
#pragma once

#include "protocol/session.hpp"
#include "storage/maildir_folder.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

namespace oimap::sync {

// The plan says which to put in place (normally all of them: they are new on
// the server and the Maildir is untouched); the others are removed with this
// object. The folder must outlive it.
class prefetched_bodies final : public protocol::body_consumer {
public:
  explicit prefetched_bodies(storage::maildir_folder& folder) : folder_(folder) {}
  ~prefetched_bodies() override;
  void begin(std::uint64_t size) override;
  void data(std::string_view chunk) override { writer_->write(chunk); }
  void end() override {}
  void message(std::uint32_t uid, storage::flag_set flags, std::string internaldate) override;
  void discard() override { writer_.reset(); }

  bool has(std::uint32_t uid) const { return staged_.count(uid) != 0; }
  // The staged message of uid, taken out, with its size on the wire.
  std::optional<std::pair<storage::staged_message, std::uint64_t>> take(std::uint32_t uid);

private:
  struct entry {
    storage::staged_message message;
    std::uint64_t size = 0;
  };
  storage::maildir_folder& folder_;
  std::optional<storage::message_writer> writer_;
  std::uint64_t size_ = 0;
  std::map<std::uint32_t, entry> staged_;
};

} // namespace oimap::sync
