// The order of queued jobs. A pure policy: no actors, no clock; the scheduler actor owns one,
// calls it for every command and persists the resulting order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <utility>
#include <optional>
#include <vector>

#include "runtime/core/error.hpp"
#include "runtime/core/specs.hpp"

namespace trainyard {

/// Queued job ids, head first. Jobs run in this order, one after another on each device.
///
/// Every queued job also has a sort key, ascending from head to tail, which is what the store
/// keeps. Keys are spaced `key_gap` apart, so a push or a move gives one job a new key (between
/// its new neighbours) and the store rewrites one row, not the whole queue; only when two
/// neighbours have no room left are all keys renumbered. `changed_keys()` says what the last
/// operation changed.
class queue_policy {
 public:
  static constexpr std::int64_t key_gap = std::int64_t{1} << 20;
  static constexpr std::int64_t first_key = std::int64_t{1} << 40;

  /// Appends a job at the tail. Refuses a job already queued (already_exists).
  expected<void> push_back(job_id job);
  /// Puts a job at the head (requeued after its worker died). Refuses duplicates.
  expected<void> push_front(job_id job);
  /// Moves a queued job to 0-based `position`; positions past the tail mean the tail.
  /// unknown_job when the job is not queued.
  expected<void> move(job_id job, std::size_t position);
  /// Same as move(job, 0).
  expected<void> top(job_id job);
  /// Removes a queued job (cancel); false when it was not queued.
  bool remove(job_id job);
  /// Takes the head, if any.
  std::optional<job_id> pop_front();
  /// 0-based position of a queued job.
  std::optional<std::size_t> position_of(job_id job) const;
  bool contains(job_id job) const { return position_of(job).has_value(); }
  bool empty() const { return order_.empty(); }
  std::size_t size() const { return order_.size(); }
  /// Head first.
  const std::vector<job_id>& order() const { return order_; }

  /// The key push_back would give a new job (so a new job's row is written once, with its key).
  std::int64_t next_tail_key() const { return keys_.empty() ? first_key : keys_.back() + key_gap; }
  /// The stored sort key of a queued job.
  std::optional<std::int64_t> key_of(job_id job) const;
  /// (job, new key) for every job whose key the last push or move set; all jobs after a
  /// renumbering; empty after remove and pop_front (the leaving job's row is updated anyway).
  const std::vector<std::pair<job_id, std::int64_t>>& changed_keys() const { return changed_; }
  /// Rebuilds the queue from stored keys (any order; equal keys keep the given order).
  void restore(std::vector<std::pair<std::int64_t, job_id>> keyed);

 private:
  void insert_at(std::size_t index, job_id job);
  void renumber();
  std::vector<job_id> order_;
  std::vector<std::int64_t> keys_;  // parallel to order_, strictly ascending
  std::unordered_map<job_id, std::int64_t> key_by_id_;  // finds a job by binary search on keys_
  std::vector<std::pair<job_id, std::int64_t>> changed_;
};

}  // namespace trainyard
