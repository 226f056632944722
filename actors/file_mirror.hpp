// A node's copy of what it cannot see: when a training request names a workspace this node does
// not share with the scheduler (its workspace/cluster-id token differs), the dataset's files are
// fetched from the dataset actor into a local cache (kept between jobs: a file is fetched again
// only when its size or time changed), the tool's folder is fetched into a local workspace, and
// the tool's files are sent back after every iteration and at the end, so the scheduler's
// workspace always holds the last checkpoint (another node resumes from it after a crash).
// Used on the training thread: every call blocks.
#pragma once

#include <string>

#include <caf/fwd.hpp>

#include "actors/protocol.hpp"
#include "runtime/core/error.hpp"
#include "runtime/core/training_engine.hpp"

namespace trainyard {

/// Where a node keeps what it fetched, and whether to fetch even when paths look shared.
struct file_mirror_options {
  dataset_actor datasets;  ///< the scheduler's dataset actor; invalid = never fetch
  std::string cache;       ///< local folder for datasets and tools; default ~/.cache/trainyard
  bool always_fetch = false;  ///< fetch even when the workspace token matches (tests, odd mounts)
};

class file_mirror {
 public:
  file_mirror(caf::actor_system& system, file_mirror_options options);

  /// True when this request's files must travel (the workspace is not shared).
  bool needed(const training_request& request) const;
  /// The request with dataset paths and workspace pointing into the cache, after fetching what
  /// is missing or stale there.
  expected<training_request> localize(const training_request& request);
  /// Sends the tool's files from the local workspace to the scheduler's.
  expected<void> push_tool(const std::string& local_workspace, const std::string& tool);

 private:
  expected<void> fetch(const file_entry& remote, const std::string& local);
  caf::actor_system& system_;
  file_mirror_options options_;
};

}  // namespace trainyard
