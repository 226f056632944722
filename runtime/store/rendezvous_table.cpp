#include "runtime/store/rendezvous_table.hpp"

#include <cerrno>
#include <cstdlib>

namespace trainyard {

void rendezvous_table::set(const std::string& key, std::vector<std::uint8_t> value) {
  values_[key] = std::move(value);
}

const std::vector<std::uint8_t>* rendezvous_table::find(const std::string& key) const {
  auto it = values_.find(key);
  return it == values_.end() ? nullptr : &it->second;
}

expected<std::int64_t> rendezvous_table::add(const std::string& key, std::int64_t delta) {
  std::int64_t value = 0;
  if (auto it = values_.find(key); it != values_.end()) {
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
  return value;
}

void rendezvous_table::erase_prefix(const std::string& prefix) {
  for (auto it = values_.lower_bound(prefix);
       it != values_.end() && it->first.compare(0, prefix.size(), prefix) == 0;)
    it = values_.erase(it);
}

}  // namespace trainyard
