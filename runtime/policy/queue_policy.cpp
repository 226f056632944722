// The order of queued jobs (see queue_policy.hpp): ids and their keys in two parallel vectors
// (shifting them at 10,000 queued jobs takes microseconds, far less than the store's write) and a
// map from id to key, so a job's position is a binary search rather than a scan.
#include "runtime/policy/queue_policy.hpp"

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

void queue_policy::renumber() {
  changed_.clear();
  for (std::size_t i = 0; i < order_.size(); ++i) {
    keys_[i] = first_key + static_cast<std::int64_t>(i) * key_gap;
    key_by_id_[order_[i]] = keys_[i];
    changed_.emplace_back(order_[i], keys_[i]);
  }
}

// Inserts at `index` with a key between the neighbours'; renumbers when there is no room.
void queue_policy::insert_at(std::size_t index, job_id job) {
  changed_.clear();
  std::int64_t key;
  if (keys_.empty())
    key = first_key;
  else if (index == 0)
    key = keys_.front() - key_gap;
  else if (index == keys_.size())
    key = keys_.back() + key_gap;
  else
    key = keys_[index - 1] + (keys_[index] - keys_[index - 1]) / 2;
  order_.insert(order_.begin() + static_cast<std::ptrdiff_t>(index), job);
  keys_.insert(keys_.begin() + static_cast<std::ptrdiff_t>(index), key);
  key_by_id_[job] = key;
  bool crowded = key <= 0 || (index > 0 && keys_[index - 1] >= key) ||
                 (index + 1 < keys_.size() && keys_[index + 1] <= key);
  if (crowded)
    renumber();
  else
    changed_.emplace_back(job, key);
}

expected<void> queue_policy::push_back(job_id job) {
  if (auto pos = position_of(job))
    return already_queued(job, *pos);
  insert_at(order_.size(), job);
  return {};
}

expected<void> queue_policy::push_front(job_id job) {
  if (auto pos = position_of(job))
    return already_queued(job, *pos);
  insert_at(0, job);
  return {};
}

expected<void> queue_policy::move(job_id job, std::size_t position) {
  auto from_index = position_of(job);
  if (!from_index)
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
  const auto source = *from_index;
  changed_.clear();
  if (source == target)
    return {};
  order_.erase(order_.begin() + static_cast<std::ptrdiff_t>(source));
  keys_.erase(keys_.begin() + static_cast<std::ptrdiff_t>(source));
  insert_at(target, job);
  return {};
}

expected<void> queue_policy::top(job_id job) {
  return move(job, 0);
}

bool queue_policy::remove(job_id job) {
  auto pos = position_of(job);
  if (!pos)
    return false;
  keys_.erase(keys_.begin() + static_cast<std::ptrdiff_t>(*pos));
  order_.erase(order_.begin() + static_cast<std::ptrdiff_t>(*pos));
  key_by_id_.erase(job);
  changed_.clear();
  return true;
}

std::optional<job_id> queue_policy::pop_front() {
  if (order_.empty())
    return std::nullopt;
  job_id head = order_.front();
  order_.erase(order_.begin());
  keys_.erase(keys_.begin());
  key_by_id_.erase(head);
  changed_.clear();
  return head;
}

std::optional<std::size_t> queue_policy::position_of(job_id job) const {
  auto key = key_by_id_.find(job);
  if (key == key_by_id_.end())
    return std::nullopt;
  auto it = std::lower_bound(keys_.begin(), keys_.end(), key->second);
  return static_cast<std::size_t>(std::distance(keys_.begin(), it));
}

std::optional<std::int64_t> queue_policy::key_of(job_id job) const {
  auto key = key_by_id_.find(job);
  if (key == key_by_id_.end())
    return std::nullopt;
  return key->second;
}

void queue_policy::restore(std::vector<std::pair<std::int64_t, job_id>> keyed) {
  std::stable_sort(keyed.begin(), keyed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  order_.clear();
  keys_.clear();
  key_by_id_.clear();
  changed_.clear();
  bool valid = true;
  for (std::size_t i = 0; i < keyed.size(); ++i) {
    order_.push_back(keyed[i].second);
    keys_.push_back(keyed[i].first);
    key_by_id_[keyed[i].second] = keyed[i].first;
    valid = valid && keyed[i].first > 0 && (i == 0 || keyed[i].first > keyed[i - 1].first);
  }
  if (!valid)  // keys written by an older trainyard (0, 1, 2, ...) or equal keys: space them out
    renumber();
}

}  // namespace trainyard
