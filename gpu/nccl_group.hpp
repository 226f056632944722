// NCCL for data-parallel ranks on GPUs, without LibTorch: the unique id that rank 0 makes and
// hands to the others through the rendezvous store, and a communicator that sums device buffers
// over the ranks. Every wait has a deadline: a lost peer makes a call fail (and the communicator
// abort), never hang. In a build without NCCL (cmake/TrainyardGpu.cmake found none) every NCCL
// call answers an error that says so; share_unique_id needs neither CUDA nor NCCL. No CUDA or
// NCCL header here (the communicator's state is behind a pointer), so the rest of the project
// compiles the same in every build.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/core/collective.hpp"
#include "runtime/core/error.hpp"

namespace trainyard {

/// Bytes of an NCCL unique id (sizeof(ncclUniqueId); nccl_group.cpp checks it against nccl.h).
inline constexpr std::size_t nccl_id_bytes = 128;

/// True when this build has NCCL (TRAINYARD_WITH_NCCL).
bool nccl_built();

/// A fresh NCCL unique id (ncclGetUniqueId) as nccl_id_bytes bytes; an error (training_failed,
/// or invalid_config when NCCL is not built) naming NCCL otherwise.
expected<std::vector<std::uint8_t>> make_nccl_unique_id();

/// The unique id of a group's communicator, the same on every rank. Rank 0 calls `make_id` and
/// stores its bytes under "<group>/nccl/id" in `store`; the other ranks wait up to `timeout` for
/// that key. When rank 0's make_id fails (or answers other than nccl_id_bytes bytes), rank 0
/// stores "failed: <message>" under the key instead, so the others fail at once with that message
/// rather than at their timeout; every rank then returns the error. Blocks the calling thread.
expected<std::vector<std::uint8_t>> share_unique_id(
    rendezvous_store& store, const std::string& group, int rank,
    const std::function<expected<std::vector<std::uint8_t>>()>& make_id,
    std::chrono::milliseconds timeout);

/// An NCCL communicator of one rank on one CUDA device. It is created non-blocking, so every wait
/// polls NCCL's state against `timeout`; past it the communicator aborts and the call fails with
/// training_failed ("no answer from the other ranks ... (a rank was lost)"); a communicator that
/// failed once refuses further calls. One thread at a time (the rank's training thread); create
/// and all_reduce_sum leave the communicator's device current on that thread.
class nccl_communicator {
 public:
  /// Joins the communicator of `world_size` ranks with the id from share_unique_id, as `rank`,
  /// on CUDA device `device`; waits until every rank joined or `timeout` passed.
  static expected<std::unique_ptr<nccl_communicator>> create(const std::vector<std::uint8_t>& id,
                                                             int rank, int world_size, int device,
                                                             std::chrono::milliseconds timeout);
  /// Finalizes and destroys the communicator; aborts it when it is broken or finalizing times out.
  ~nccl_communicator();
  nccl_communicator(const nccl_communicator&) = delete;
  nccl_communicator& operator=(const nccl_communicator&) = delete;

  /// In-place sum over the ranks of `count` values in device memory of this rank's device, on
  /// the device's default stream (stream 0, LibTorch's default stream), so it runs after the work
  /// queued there; returns once the sum completed (or failed, or the timeout passed).
  expected<void> all_reduce_sum(float* device_data, std::size_t count);
  expected<void> all_reduce_sum(double* device_data, std::size_t count);

  int rank() const;
  int world_size() const;

 private:
  struct impl;
  explicit nccl_communicator(std::unique_ptr<impl> state);
  std::unique_ptr<impl> impl_;
};

}  // namespace trainyard
