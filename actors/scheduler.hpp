// The scheduler role: owns the queue and its order, persists every change to the workspace's
// SQLite store before acknowledging it, dispatches the head of the queue to idle workers, spawns
// the rendezvous actor its data-parallel jobs' ranks meet at, an early-stopping actor per running
// auto job and a waiter per pending wait, and fans out events.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <caf/fwd.hpp>

#include "actors/protocol.hpp"
#include "runtime/policy/early_stopping.hpp"
#include "runtime/core/error.hpp"

namespace trainyard {

struct scheduler_options {
  std::string workspace;  ///< folder holding trainyard.db and tools/; must exist
  /// Milliseconds since the epoch; injected so tests can drive time. Default: the system clock.
  std::function<std::int64_t()> now_ms;
};

/// Opens the workspace's store, reloads the queue (jobs that were running are requeued at the
/// head to resume from their checkpoints) and spawns the scheduler.
expected<scheduler_actor> spawn_scheduler(caf::actor_system& system, scheduler_options options,
                                          dataset_actor datasets);

/// Spawns an actor that answers one wait request (delegated to it by the scheduler) when the
/// job's event arrives or its deadline passes.
waiter_actor spawn_waiter(caf::actor_system& system);

/// Spawns the early-stopping actor of one auto job: it listens to the job's iterations and asks
/// the scheduler to stop the job when a report says the engine's rule fired (`early_stop`).
event_listener spawn_early_stopper(caf::actor_system& system, scheduler_actor scheduler,
                                   job_id job);

}  // namespace trainyard
