// The order of queued jobs. A pure policy: no actors, no clock; the scheduler actor owns one,
// calls it for every command and persists the resulting order.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "runtime/error.hpp"
#include "runtime/specs.hpp"

namespace trainyard {

/// Queued job ids, head first. Jobs run in this order, one after another on each device.
class queue_policy {
 public:
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

 private:
  std::vector<job_id> order_;
};

}  // namespace trainyard
