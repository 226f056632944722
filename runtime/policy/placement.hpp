// Gang placement: which worker slots the job at the head of the queue runs on. A pure policy:
// no actors, no clock; the scheduler describes its slots, asks, and reserves what it is given.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

namespace trainyard {

/// A worker slot as placement sees it.
struct slot_view {
  bool alive = true;  ///< false once its node went away (the slot keeps its index)
  bool idle = true;   ///< no job reserved on it
};

/// What the job at the head of the queue needs.
struct placement_need {
  int devices = 1;  ///< ranks of the job, one slot each; values under 1 mean 1
};

/// The slots the head job runs on, rank 0 first: the first `devices` alive and idle slots in slot
/// order. None while fewer are idle: the job waits at the head and no job behind it overtakes it.
std::optional<std::vector<std::size_t>> place(const placement_need& head,
                                              const std::vector<slot_view>& slots);

/// Whether the job could ever be placed on these slots, were they all idle (a job of N devices
/// cannot run where fewer than N slots live).
bool placeable(const placement_need& job, const std::vector<slot_view>& slots);

}  // namespace trainyard
