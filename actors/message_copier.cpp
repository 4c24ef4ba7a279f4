// The message copier is detached: syncfs, renames and the status write block on the disk.
#include "actors/message_copier.hpp"

#include "actors/status_writer.hpp"
#include "storage/maildir_folder.hpp"
#include "storage/storage_error.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <unistd.h>

namespace oimap::actors {

struct staged_batch_box {
  std::vector<storage::staged_message> messages;
};

namespace {

void discard(std::vector<storage::staged_message>& messages) {
  for (const auto& m : messages)
    ::unlink(m.tmp_path.c_str());
  messages.clear();
}

message_copier_actor spawn_message_copier(caf::actor_system& sys, storage::maildir_folder& folder,
                                          std::string status_name, status_writer_actor writer) {
  auto result = std::make_shared<copier_result>();
  auto* f = &folder;
  return sys.spawn<caf::detached>(
      [=](message_copier_actor::pointer self) -> message_copier_actor::behavior_type {
        // Status writes go through the status writer and are waited for: a batch
        // counts as done once its records are durable.
        auto me = std::make_shared<caf::scoped_actor>(self->system(), true);
        auto write_status = [me, writer, status_name](storage::status_db::batch& b) {
          write_through(*me, writer, b, "folder '" + status_name + "'");
        };
        return {
            [=](write_atom, const staged_batch_ptr& batch) {
              if (!result->error.empty()) {
                discard(batch->messages); // after a failure nothing more goes in place
                return;
              }
              try {
                auto stored = sync::commit_batch(*f, batch->messages, status_name, write_status);
                std::move(stored.begin(), stored.end(), std::back_inserter(result->stored));
              } catch (const std::exception& e) {
                result->error = e.what();
                discard(batch->messages);
              }
            },
            [=](drain_atom) {
              auto out = std::make_shared<copier_result>(std::move(*result));
              *result = copier_result{};
              return out;
            },
        };
      });
}

class copier_committer final : public sync::stage_committer {
public:
  copier_committer(caf::actor_system& sys, storage::maildir_folder& folder,
                   const std::string& status_name, status_writer_actor writer)
      : sys_(sys), copier_(spawn_message_copier(sys, folder, status_name, std::move(writer))) {}

  ~copier_committer() override {
    // The copier works on the syncer's folder: it must be idle before the
    // folder goes away.
    try {
      if (!drained_)
        drain();
    } catch (...) {
    }
    caf::anon_send_exit(copier_, caf::exit_reason::user_shutdown);
  }

  void submit(std::vector<storage::staged_message> batch) override {
    auto box = std::make_shared<staged_batch_box>();
    box->messages = std::move(batch);
    caf::anon_send(copier_, write_atom::value, std::move(box));
    drained_ = false;
  }

  std::vector<sync::stored_message> drain() override {
    caf::scoped_actor self{sys_, true};
    copier_result_ptr got;
    std::string err;
    self->request(copier_, caf::infinite, drain_atom::value)
        .receive([&](copier_result_ptr& r) { got = std::move(r); },
                 [&](caf::error& e) { err = sys_.render(e); });
    drained_ = true;
    if (!err.empty())
      throw storage::storage_error("message copier failed: " + err);
    if (!got->error.empty())
      throw storage::storage_error(got->error);
    return std::move(got->stored);
  }

private:
  caf::actor_system& sys_;
  message_copier_actor copier_;
  bool drained_ = true;
};

} // namespace

std::unique_ptr<sync::stage_committer> make_copier_committer(caf::actor_system& sys,
                                                             storage::maildir_folder& folder,
                                                             const std::string& status_name,
                                                             status_writer_actor writer) {
  return std::make_unique<copier_committer>(sys, folder, status_name, std::move(writer));
}

} // namespace oimap::actors
