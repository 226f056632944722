// The worker role: one per device. It runs the training engine on its own std::thread (never on
// CAF's scheduler threads), forwards the engine's reports to the scheduler that sent the job,
// and honours stop requests between steps through an atomic flag the engine polls.
#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "actors/file_mirror.hpp"
#include "actors/protocol.hpp"
#include "runtime/core/training_engine.hpp"

namespace trainyard {

/// The CPU of this machine: its RAM (total and in use), the threads training will use, and this
/// process's resident memory.
worker_info cpu_worker_info();

/// Reads the RAM in use and this process's resident memory into `info` (and the total again).
void read_cpu_usage(worker_info& info);

/// CUDA device `index` ("cuda:N"): its name and memory (total and in use, from the CUDA runtime),
/// this process's resident memory, and `threads` CPU threads for decoding and augmenting its
/// batches. An error when the device cannot be read (no CUDA runtime in this build, no driver).
expected<worker_info> cuda_worker_info(int index, int threads);

/// The worker of a device name ("cpu", "cuda:N"): cpu_worker_info or cuda_worker_info, with
/// `threads` CPU threads (0: every core). A GPU's worker also sets CUBLAS_WORKSPACE_CONFIG for
/// cuBLAS's deterministic mode (a value already exported stays) before its jobs start CUDA work.
expected<worker_info> device_worker_info(const std::string& device, int threads);

/// Reads a worker's device memory in use (the CPU's RAM or its GPU's memory) and this process's
/// resident memory into `info`.
void read_device_usage(worker_info& info);

/// Spawns a worker that trains with `engine` (one job at a time). With `files` naming the
/// scheduler's dataset actor, a job whose workspace this machine does not share has its files
/// fetched into a local cache and its tool files sent back (actors/file_mirror.hpp).
worker_actor spawn_worker(caf::actor_system& system, std::shared_ptr<training_engine> engine,
                          worker_info info, file_mirror_options files = {});

}  // namespace trainyard
