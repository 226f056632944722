// The worker role: one per device. It runs the training engine on its own std::thread (never on
// CAF's scheduler threads), forwards the engine's reports to the scheduler that sent the job,
// and honours stop requests between steps through an atomic flag the engine polls.
#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "actors/protocol.hpp"
#include "runtime/training_engine.hpp"

namespace trainyard {

/// The CPU of this machine: total RAM and the threads training will use.
worker_info cpu_worker_info();

/// Spawns a worker that trains with `engine` (one job at a time).
worker_actor spawn_worker(caf::actor_system& system, std::shared_ptr<training_engine> engine,
                          worker_info info);

}  // namespace trainyard
