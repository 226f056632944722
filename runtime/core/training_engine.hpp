// The training engine seen from the worker actor: one call trains one job on the calling thread
// and reports through an observer. The torch implementation lives in runtime/train/ and is the
// only code that includes LibTorch; the actors library depends on this interface alone.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/core/collective.hpp"
#include "runtime/core/reports.hpp"
#include "runtime/core/specs.hpp"

namespace trainyard {

/// Everything a worker needs to train one job.
struct training_request {
  job_id job = 0;
  job_spec spec;
  dataset_spec dataset;
  std::vector<std::uint8_t> assignment;  ///< one split_set per dataset image
  std::string workspace;                 ///< root folder; the tool lives in workspace/tools/<tool>
  rank_assignment parallel;              ///< data-parallel place; world_size 1 = one device
  /// The token in the scheduler's workspace/cluster-id file: a node that reads the same token at
  /// `workspace` shares the scheduler's filesystem; any other fetches files instead.
  std::string workspace_id;
  /// The device the engine trains on: "cpu" or "cuda:N". The worker sets its own device on
  /// every request it receives, so it does not travel with the scheduler's message.
  std::string device = "cpu";
};

/// Receives the engine's reports. Called on the training thread.
class training_observer {
 public:
  virtual ~training_observer() = default;
  /// Before training, once the batch size is known (after probing when batch_size is auto).
  virtual void batch_size_chosen(const probe_result& probe) { (void)probe; }
  /// After every iteration, once its checkpoint is on disk.
  virtual void iteration_completed(const iteration_report& report) = 0;
  /// Polled between steps; true ends training after the current step with state `stopped`.
  virtual bool stop_requested() const = 0;
  /// The store the ranks of a data-parallel job meet through; null when there is none (then
  /// only world_size 1 can train).
  virtual rendezvous_store* rendezvous() { return nullptr; }
};

/// Trains jobs. Implementations are used by one thread at a time.
class training_engine {
 public:
  virtual ~training_engine() = default;
  /// Trains (or resumes, or continues) the job; never throws.
  ///
  /// Resumption is decided from the tool's checkpoint: a checkpoint written by the same job id
  /// is resumed to that job's target; a continue-training job starts from the checkpoint and
  /// trains `iterations` more; any other job starts the tool from scratch.
  virtual training_outcome train(const training_request& request, training_observer& observer) = 0;
};

}  // namespace trainyard
