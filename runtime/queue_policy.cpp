// The order of queued jobs (see queue_policy.hpp). Plain vector operations: a queue holds tens of
// jobs, so linear scans are cheaper and simpler than an index that would have to be kept in sync.
#include "runtime/queue_policy.hpp"

#include <algorithm>
#include <iterator>
#include <string>

namespace trainyard {

namespace {

failure already_queued(job_id job, std::size_t position) {
  return make_failure(error_code::already_exists,
                      "job " + std::to_string(job) + " is already queued at position " +
                          std::to_string(position) +
                          "; use move or top to change its place instead of queuing it again");
}

}  // namespace

expected<void> queue_policy::push_back(job_id job) {
  if (auto pos = position_of(job))
    return already_queued(job, *pos);
  order_.push_back(job);
  return {};
}

expected<void> queue_policy::push_front(job_id job) {
  if (auto pos = position_of(job))
    return already_queued(job, *pos);
  order_.insert(order_.begin(), job);
  return {};
}

expected<void> queue_policy::move(job_id job, std::size_t position) {
  auto from = std::find(order_.begin(), order_.end(), job);
  if (from == order_.end())
    // The policy only knows the queue; the scheduler, which knows job states, may refine this
    // into a more specific message before it reaches the user.
    return make_failure(error_code::unknown_job,
                        "job " + std::to_string(job) +
                            " is not queued (it is running, finished or unknown); only queued "
                            "jobs can be moved");
  // Positions count in the queue as it is, and the job keeps its place in the count: moving to
  // position p means the job is at index p afterwards. Past the tail means the tail, so a user
  // can say "move to 999" to send a job last without looking up the queue length.
  const std::size_t target = std::min(position, order_.size() - 1);
  const auto source = static_cast<std::size_t>(std::distance(order_.begin(), from));
  if (source < target)
    std::rotate(order_.begin() + source, order_.begin() + source + 1,
                order_.begin() + target + 1);
  else if (target < source)
    std::rotate(order_.begin() + target, order_.begin() + source,
                order_.begin() + source + 1);
  return {};
}

expected<void> queue_policy::top(job_id job) {
  return move(job, 0);
}

bool queue_policy::remove(job_id job) {
  auto it = std::find(order_.begin(), order_.end(), job);
  if (it == order_.end())
    return false;
  order_.erase(it);
  return true;
}

std::optional<job_id> queue_policy::pop_front() {
  if (order_.empty())
    return std::nullopt;
  job_id head = order_.front();
  order_.erase(order_.begin());
  return head;
}

std::optional<std::size_t> queue_policy::position_of(job_id job) const {
  auto it = std::find(order_.begin(), order_.end(), job);
  if (it == order_.end())
    return std::nullopt;
  return static_cast<std::size_t>(std::distance(order_.begin(), it));
}

}  // namespace trainyard
