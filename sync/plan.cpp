// The sync planner: walks R, L and S in uid order and decides each uid's actions.
#include "sync/plan.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <limits>
#include <span>

namespace oimap::sync {
namespace {

enum class side : std::size_t { remote = 0, local = 1 };
constexpr std::array<side, 2> both_sides{side::remote, side::local};

template <typename T> T& at(std::array<T, 2>& a, side s) {
  return a[static_cast<std::size_t>(s)];
}
template <typename T> const T& at(const std::array<T, 2>& a, side s) {
  return a[static_cast<std::size_t>(s)];
}

// Decides one uid at a time and appends to the result; the caller feeds uids
// in ascending order, which keeps the uid-ordered lists sorted for free.
class uid_planner {
public:
  uid_planner(const plan_options& opt, plan_result& out)
      : opt_(opt), out_(out), readonly_{opt.remote_readonly, opt.local_readonly} {}

  // locals: every local file claiming uid, ordered by key (may be empty).
  void decide(uid_t uid, const remote_message* remote, const status_entry* status,
              std::span<const local_message* const> locals) {
    if (!remote && !status) {
      // Nothing on our side knows this uid, so it is no message of this
      // folder's server copy: each claimant is local mail to upload (rule 1).
      if (!opt_.remote_readonly)
        for (const local_message* m : locals)
          out_.upload.push_back(*m);
      return;
    }
    const local_message* local = locals.empty() ? nullptr : locals.front();
    for (const local_message* dup : locals.subspan(locals.empty() ? 0 : 1))
      out_.duplicate_keys.push_back(dup->key);

    if (remote && local) {
      reconcile_flags(uid, remote->flags, *local, status);
    } else if (remote && !status) {
      // Rule 2: new on the server.
      if (!opt_.local_readonly)
        out_.download.push_back(*remote);
    } else if (remote) {
      // Rule 4: deleted locally. Left alone, S keeps it so it is not re-downloaded.
      const bool already_flagged = !opt_.expunge && remote->flags.has(storage::flag::trashed);
      if (opt_.local_sync_deletes && !opt_.remote_readonly && !already_flagged)
        out_.delete_remote.push_back(uid);
    } else if (local) {
      // Rule 3: deleted on the server. Left alone, S keeps it so it is not
      // re-uploaded. With duplicates, see plan.hpp: ambiguous, so kept.
      if (opt_.remote_sync_deletes && !opt_.local_readonly && locals.size() == 1)
        out_.delete_local.push_back({local->key, uid});
    } else {
      out_.status_erase.push_back(uid);
    }
  }

private:
  // Rule 5, plus the first-meeting case (no S) where the union is kept.
  void reconcile_flags(uid_t uid, flag_set remote, const local_message& local,
                       const status_entry* status) {
    const std::array<flag_set, 2> now{remote, local.flags};
    // Without S nothing is known to have been removed; base = R & L makes
    // merge_flags yield the union.
    const flag_set base = status ? status->flags : (remote & local.flags);
    const flag_set target = merge_flags(base, remote, local.flags);

    std::array<flag_set, 2> after = now;
    for (side s : both_sides)
      if (!at(readonly_, s))
        at(after, s) = target;

    const flag_set r_now = at(now, side::remote), r_after = at(after, side::remote);
    if (r_after != r_now)
      out_.set_remote_flags.push_back({uid, r_after - r_now, r_now - r_after});
    if (at(after, side::local) != at(now, side::local))
      out_.set_local_flags.push_back({local.key, uid, at(after, side::local)});

    // What S records when the sides cannot agree: see plan.hpp.
    std::optional<flag_set> agreed;
    if (at(after, side::remote) == at(after, side::local))
      agreed = at(after, side::remote);
    else if (at(readonly_, side::remote) != at(readonly_, side::local))
      agreed = at(readonly_, side::remote) ? at(after, side::remote) : at(after, side::local);
    if (agreed && (!status || status->flags != *agreed))
      out_.status_set.push_back({uid, *agreed});
  }

  const plan_options& opt_;
  plan_result& out_;
  const std::array<bool, 2> readonly_;
};

// Sorted by uid; equal uids keep their input order, so "first wins" holds.
template <typename T> std::vector<const T*> sorted_by_uid(const std::vector<T>& items) {
  std::vector<const T*> out;
  out.reserve(items.size());
  for (const T& item : items)
    out.push_back(&item);
  std::stable_sort(out.begin(), out.end(), [](const T* a, const T* b) { return a->uid < b->uid; });
  return out;
}

} // namespace

flag_set merge_flags(flag_set base, flag_set remote, flag_set local) {
  if (remote == base)
    return local;
  if (local == base)
    return remote;
  // A flag one side set is wanted; a flag is gone only if both dropped it,
  // so a conflict never loses a mark such as \Flagged that a user set.
  const flag_set added = (remote - base) | (local - base);
  const flag_set removed = (base - remote) & (base - local);
  return (base | added) - removed;
}

plan_result plan(const plan_input& in, const plan_options& opt) {
  plan_result out;
  if (in.stored_uidvalidity && *in.stored_uidvalidity != in.remote_uidvalidity) {
    // Every stored uid now names an unknown message: acting on any of them
    // could delete or mis-flag mail, so the folder stops here.
    out.uidvalidity_changed = true;
    return out;
  }

  const std::vector<const remote_message*> remote = sorted_by_uid(in.remote);
  const std::vector<const status_entry*> status = sorted_by_uid(in.status);

  std::vector<const local_message*> local;
  local.reserve(in.local.size());
  for (const local_message& m : in.local) {
    if (m.uid)
      local.push_back(&m);
    else if (!opt.remote_readonly)
      out.upload.push_back(m); // rule 1
  }
  std::sort(local.begin(), local.end(), [](const local_message* a, const local_message* b) {
    return *a->uid != *b->uid ? *a->uid < *b->uid : a->key < b->key;
  });

  // One merge walk over the three uid-sorted sequences: O(n) after sorting.
  uid_planner planner(opt, out);
  auto r = remote.begin();
  auto s = status.begin();
  auto l = local.begin();
  while (r != remote.end() || s != status.end() || l != local.end()) {
    uid_t uid = std::numeric_limits<uid_t>::max();
    if (r != remote.end())
      uid = std::min(uid, (*r)->uid);
    if (s != status.end())
      uid = std::min(uid, (*s)->uid);
    if (l != local.end())
      uid = std::min(uid, *(*l)->uid);

    const remote_message* rm = nullptr;
    if (r != remote.end() && (*r)->uid == uid) {
      rm = *r;
      while (r != remote.end() && (*r)->uid == uid)
        ++r;
    }
    const status_entry* se = nullptr;
    if (s != status.end() && (*s)->uid == uid) {
      se = *s;
      while (s != status.end() && (*s)->uid == uid)
        ++s;
    }
    const auto first_local = l;
    while (l != local.end() && *(*l)->uid == uid)
      ++l;

    planner.decide(uid, rm, se, std::span<const local_message* const>(first_local, l));
  }

  std::sort(out.upload.begin(), out.upload.end(),
            [](const local_message& a, const local_message& b) { return a.key < b.key; });
  std::sort(out.duplicate_keys.begin(), out.duplicate_keys.end());
  return out;
}

} // namespace oimap::sync
