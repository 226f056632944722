// The rendezvous role: the meeting point of the ranks of data-parallel jobs, spawned beside the
// scheduler and handed to every rank with its job. Its keys and counters are a rendezvous_table
// (runtime/store/rendezvous_table.hpp), the same table the in-process memory_rendezvous keeps.
#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "actors/protocol.hpp"
#include "runtime/core/collective.hpp"

namespace trainyard {

/// Spawns a rendezvous actor. A get waits for its key up to its timeout, then fails with timeout.
rendezvous_actor spawn_rendezvous(caf::actor_system& system);

/// The training thread's view of a rendezvous actor (local or in the scheduler's process): each
/// call is one blocking request. Never call it from an actor.
std::unique_ptr<rendezvous_store> rendezvous_client(caf::actor_system& system,
                                                    rendezvous_actor rendezvous);

}  // namespace trainyard
