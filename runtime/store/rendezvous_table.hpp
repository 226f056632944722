// The key-value table every rendezvous of data-parallel ranks keeps: keys and their bytes, and
// counters stored as decimal text (as c10d's TCPStore keeps them, so a get reads them too). Not
// thread-safe and never blocks: memory_rendezvous guards it with a mutex for threads of one
// process, the rendezvous actor (actors/rendezvous.hpp) owns one for the ranks of a cluster.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "runtime/core/error.hpp"

namespace trainyard {

class rendezvous_table {
 public:
  /// Sets (or overwrites) a key.
  void set(const std::string& key, std::vector<std::uint8_t> value);
  /// The key's value; null while it is not set. Valid until the table changes.
  const std::vector<std::uint8_t>* find(const std::string& key) const;
  /// Adds `delta` to the counter at `key` (a missing key counts as 0) and answers the new value;
  /// a key that holds something else than a counter is refused (invalid_request).
  expected<std::int64_t> add(const std::string& key, std::int64_t delta);
  /// Forgets every key that starts with `prefix` (a group's keys once its run ended).
  void erase_prefix(const std::string& prefix);
  /// Keys set so far.
  std::size_t size() const { return values_.size(); }

 private:
  std::map<std::string, std::vector<std::uint8_t>> values_;
};

}  // namespace trainyard
