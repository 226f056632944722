// A rendezvous store (runtime/core/collective.hpp) in memory: for tests, and for the ranks of a
// data-parallel job that run as threads of one process. The keys and the counter encoding are
// rendezvous_table's, the same the cluster's rendezvous actor keeps. Thread-safe; get blocks on a
// condition variable until the key is set or its timeout passes. No torch, no CAF.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/core/collective.hpp"
#include "runtime/store/rendezvous_table.hpp"

namespace trainyard {

class memory_rendezvous final : public rendezvous_store {
 public:
  expected<void> set(const std::string& key, const std::vector<std::uint8_t>& value) override;
  /// Blocks until `key` is set; a timeout failure after `timeout` (0: answers at once).
  expected<std::vector<std::uint8_t>> get(const std::string& key,
                                          std::chrono::milliseconds timeout) override;
  /// Counters are decimal text (rendezvous_table), so get reads them too; a key that holds
  /// something else is refused.
  expected<std::int64_t> add(const std::string& key, std::int64_t delta) override;

  /// Keys set so far (tests).
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  rendezvous_table table_;
};

}  // namespace trainyard
