#include "runtime/store/memory_rendezvous.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

namespace trainyard {

expected<void> memory_rendezvous::set(const std::string& key,
                                      const std::vector<std::uint8_t>& value) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    values_[key] = value;
  }
  changed_.notify_all();
  return {};
}

expected<std::vector<std::uint8_t>> memory_rendezvous::get(const std::string& key,
                                                           std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  const auto found = [&] { return values_.count(key) > 0; };
  if (!changed_.wait_for(lock, std::max(timeout, std::chrono::milliseconds::zero()), found))
    return make_failure(error_code::timeout, "rendezvous key '" + key + "' was not set within " +
                                                 std::to_string(timeout.count()) + " ms");
  return values_.at(key);
}

expected<std::int64_t> memory_rendezvous::add(const std::string& key, std::int64_t delta) {
  std::int64_t value = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = values_.find(key);
    if (it != values_.end()) {
      const std::string text(it->second.begin(), it->second.end());
      char* end = nullptr;
      errno = 0;
      value = std::strtoll(text.c_str(), &end, 10);
      if (text.empty() || errno != 0 || end != text.c_str() + text.size())
        return make_failure(error_code::invalid_request,
                            "rendezvous key '" + key + "' holds no counter; add needs one");
    }
    value += delta;
    const std::string text = std::to_string(value);
    values_[key] = std::vector<std::uint8_t>(text.begin(), text.end());
  }
  changed_.notify_all();
  return value;
}

std::size_t memory_rendezvous::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return values_.size();
}

}  // namespace trainyard
