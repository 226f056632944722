// The dataset role: owns datasets' indexes, splits and locks (persisted in the workspace store)
// and hands a split's assignment to whoever trains on it. Runs detached (its own thread): reading
// an index and SQLite writes block.
#pragma once

#include <string>

#include <caf/fwd.hpp>

#include "actors/protocol.hpp"
#include "runtime/core/error.hpp"

namespace trainyard {

/// Opens the workspace's store (workspace/trainyard.db) and spawns the dataset actor.
expected<dataset_actor> spawn_dataset_actor(caf::actor_system& system,
                                            const std::string& workspace);

}  // namespace trainyard
