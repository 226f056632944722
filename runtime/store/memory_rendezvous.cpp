#include "runtime/store/memory_rendezvous.hpp"

#include <algorithm>

namespace trainyard {

expected<void> memory_rendezvous::set(const std::string& key,
                                      const std::vector<std::uint8_t>& value) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    table_.set(key, value);
  }
  changed_.notify_all();
  return {};
}

expected<std::vector<std::uint8_t>> memory_rendezvous::get(const std::string& key,
                                                           std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  const auto found = [&] { return table_.find(key) != nullptr; };
  if (!changed_.wait_for(lock, std::max(timeout, std::chrono::milliseconds::zero()), found))
    return make_failure(error_code::timeout, "rendezvous key '" + key + "' was not set within " +
                                                 std::to_string(timeout.count()) + " ms");
  return *table_.find(key);
}

expected<std::int64_t> memory_rendezvous::add(const std::string& key, std::int64_t delta) {
  expected<std::int64_t> value = std::int64_t{0};
  {
    std::lock_guard<std::mutex> lock(mutex_);
    value = table_.add(key, delta);
  }
  if (value)
    changed_.notify_all();
  return value;
}

std::size_t memory_rendezvous::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return table_.size();
}

}  // namespace trainyard
