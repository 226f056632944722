// Gang placement: which worker slots the job at the head of the queue runs on. A pure policy:
// no actors, no clock; the scheduler describes its slots, asks, and reserves what it is given.
//
// Devices: the ranks of one job are all GPUs or all CPUs (their collectives are NCCL's or
// Gloo's); a job takes idle GPU slots when enough are idle, else idle CPU slots; a job whose
// tool kind trains on the CPU only never lands on a GPU.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

namespace trainyard {

/// A worker slot as placement sees it.
struct slot_view {
  bool alive = true;  ///< false once its node went away (the slot keeps its index)
  bool idle = true;   ///< no job reserved on it
  bool gpu = false;   ///< a CUDA device's worker
};

/// What the job at the head of the queue needs.
struct placement_need {
  int devices = 1;  ///< ranks of the job, one slot each; values under 1 mean 1
  bool cpu_only = false;  ///< its tool kind does not train on GPUs
};

/// The slots the head job runs on, rank 0 first: the first `devices` alive and idle GPU slots in
/// slot order when there are enough (never for a cpu_only job), else the first `devices` alive
/// and idle CPU slots. None while neither kind has enough idle: the job waits at the head and no
/// job behind it overtakes it.
std::optional<std::vector<std::size_t>> place(const placement_need& head,
                                              const std::vector<slot_view>& slots);

/// Whether the job could ever be placed on these slots, were they all idle (a job of N devices
/// cannot run where fewer than N slots of one kind live, or a cpu_only job where no CPU slot
/// lives).
bool placeable(const placement_need& job, const std::vector<slot_view>& slots);

}  // namespace trainyard
