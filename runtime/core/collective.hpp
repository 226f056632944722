// What a data-parallel job (devices > 1) needs beyond a one-device job: its place in the group
// and a key-value store through which the ranks meet (rendezvous). The store travels through the
// scheduler's messages in a cluster (actors/worker.cpp implements it with requests to the
// scheduler); tests may use the in-memory one. No CAF, no torch here: the torch side
// (runtime/train/data_parallel.cpp) adapts the store to c10d and builds the Gloo group.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/error.hpp"

namespace trainyard {

/// A job's place in its data-parallel group.
struct rank_assignment {
  int rank = 0;         ///< 0 reports iterations and writes the tool's files; default 0
  int world_size = 1;   ///< ranks in the group; 1 = not data-parallel (default)
  std::string group;    ///< key prefix unique to this run of the job, e.g. "job7.run3"
  std::string address;  ///< this rank's interface for Gloo's TCP transport; default 127.0.0.1
};

/// The rendezvous key-value store. Every call blocks the calling (training) thread; values are
/// opaque bytes. Keys are shared by all ranks of a group.
class rendezvous_store {
 public:
  virtual ~rendezvous_store() = default;
  /// Sets (or overwrites) a key.
  virtual expected<void> set(const std::string& key, const std::vector<std::uint8_t>& value) = 0;
  /// The value of a key once some rank has set it; a failure (timeout) after `timeout`.
  virtual expected<std::vector<std::uint8_t>> get(const std::string& key,
                                                  std::chrono::milliseconds timeout) = 0;
  /// Adds `delta` to a counter (a missing key counts as 0) and answers the new value.
  virtual expected<std::int64_t> add(const std::string& key, std::int64_t delta) = 0;
};

}  // namespace trainyard
