// Data-parallel training across ranks (devices > 1): a Gloo process group over the job's
// rendezvous store (runtime/core/collective.hpp), and the few collective steps the engine needs.
// Torch-light: tensors and modules are only declared here; data_parallel.cpp includes LibTorch
// and c10d. Used by the engine (engine.cpp) and by tests that play a rank by hand.
//
// Keys the group writes in the store, all under "<group>/":
//   join/<rank>     "world=<N> address=<A>" once the rank has its data and model ready
//   joined/<rank>   counter: a rank that joins twice is refused
//   failed          "rank <r>: <message>", posted by the first rank that fails after the others
//                   may have started waiting for it; peers waiting to join, or whose collective
//                   breaks, report that message instead of a bare timeout
//   gloo/...        Gloo's own rendezvous (each rank's TCP addresses)
//   nccl/id         ranks on GPUs: rank 0's NCCL unique id (gpu/nccl_group.hpp), or its failure
//
// Ranks on GPUs sum their gradients with NCCL, device to device; the small collectives (sizes,
// stop requests, rank 0's first weights) go through Gloo on the CPU in every case.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/core/collective.hpp"
#include "runtime/core/error.hpp"

namespace at {
class Tensor;
}
namespace torch::nn {
class Module;
}

namespace trainyard {

struct data_parallel_options {
  /// How long each rank waits for the others to join (they load data and probe first).
  std::chrono::milliseconds join_timeout{std::chrono::minutes(5)};
  /// How long a collective (all-reduce, broadcast) waits for a peer before the job fails; rank 0
  /// validates and writes the tool's files while the others wait, so keep it above that.
  std::chrono::milliseconds collective_timeout{std::chrono::seconds(60)};
};

/// What the ranks agreed on at the end of one training step.
struct step_agreement {
  bool stop = false;    ///< some rank asked to stop: every rank leaves the iteration here
  double loss_sum = 0;  ///< the whole global batch's summed loss (every rank's loss * count)
};

/// One rank's membership in a data-parallel group. Every collective blocks until all ranks
/// have called it (in the same order), or fails with error_code::training_failed naming the lost
/// rank when it can (a peer that posted its failure, or the only peer of a two-rank group).
class data_parallel_group {
 public:
  /// Meets the other ranks through `store` (keys under assignment.group) and connects Gloo's TCP
  /// transport on assignment.address (an IP address or host name; an interface name such as
  /// "eth0" also works; empty: 127.0.0.1). `cuda_device` >= 0: this rank trains on that CUDA
  /// device, and the group also forms an NCCL communicator for the gradients (every rank of a
  /// group is on a GPU, or none: placement keeps them on one kind of device).
  static expected<std::unique_ptr<data_parallel_group>> join(const rank_assignment& assignment,
                                                             rendezvous_store& store,
                                                             const data_parallel_options& options,
                                                             int cuda_device = -1);
  ~data_parallel_group();
  data_parallel_group(const data_parallel_group&) = delete;
  data_parallel_group& operator=(const data_parallel_group&) = delete;

  int rank() const;
  int world_size() const;

  /// The rows of a global batch of `global_count` images this rank trains on: rank r takes
  /// [offset, offset + count), as even a share as possible (full batches: r*b .. (r+1)*b).
  struct share {
    std::int64_t offset = 0;
    std::int64_t count = 0;
  };
  share share_of(std::int64_t global_count) const;

  /// Rank 0's parameters and buffers, copied into every rank's module (same architecture).
  expected<void> broadcast_module(torch::nn::Module& module);
  /// Rank 0's values; every rank passes a vector of the same length.
  expected<std::vector<std::int64_t>> broadcast(std::vector<std::int64_t> values);
  /// Element-wise sums over the ranks (same length everywhere).
  expected<std::vector<double>> sum(std::vector<double> values);
  /// Sums the gradients of `parameters` over the ranks in one flat buffer (an undefined gradient
  /// counts as zeros), with each rank's stop request and loss sum in the same message.
  expected<step_agreement> all_reduce_gradients(const std::vector<at::Tensor>& parameters,
                                                bool stop_requested, double loss_sum);
  expected<void> barrier();

  /// Milliseconds spent in all_reduce_gradients so far, and its calls (benchmarks).
  double all_reduce_ms() const;
  std::int64_t all_reduce_calls() const;

  struct impl;

 private:
  explicit data_parallel_group(std::unique_ptr<impl> state);
  std::unique_ptr<impl> impl_;
};

/// Tells the other ranks of `assignment.group` that this rank fails with `message`, unless
/// a rank did so first (then the first reason stays). Call it before leaving the group, or
/// instead of joining: ranks still waiting to join stop waiting.
void post_rank_failure(rendezvous_store& store, const rank_assignment& assignment,
                       const std::string& message);

/// "rank 1: ..." when some rank of the group posted a failure (waits up to `wait` for one).
std::optional<std::string> posted_rank_failure(rendezvous_store& store, const std::string& group,
                                               std::chrono::milliseconds wait);

}  // namespace trainyard
