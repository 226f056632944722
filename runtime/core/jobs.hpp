// What clients are told about jobs, workers and splits: a job's live state, a finished job's
// result, a worker's device and slot, a split as granted and as counted. Plain data shared by the
// actors (which serialise it, actors/protocol.hpp), the monitor's screen model and the commands.
// No CAF, no torch here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/error.hpp"
#include "runtime/core/specs.hpp"

namespace trainyard {

/// A job as clients see it: its record plus live progression.
struct job_info {
  job_id id = 0;
  std::string name;
  std::string tool;
  std::string split;
  job_state state = job_state::queued;
  std::int64_t queue_position = -1;  ///< 0-based while queued
  std::int64_t run_order = 0;        ///< 1, 2, ... in the order jobs started; 0 = not yet
  int iteration = 0;                 ///< tool iterations completed
  int target_iterations = 0;         ///< expected end (see runtime/policy/progression.hpp)
  /// The tool's iteration count when the job first started (a continue job's own iterations are
  /// those past it); 0 until then.
  int first_iteration = 0;
  int best_iteration = 0;
  double best_value = 0;
  double fraction = 0;               ///< progression in [0, 1]
  double eta_seconds = -1;           ///< -1 = unknown
  int batch_size = 0;
  metric_map last_metrics;           ///< latest iteration's metrics
  metric_map final_metrics;          ///< once finished
  std::string message;               ///< stop/failure reason
  /// The validation metric the tool's kind monitors (a key of last_metrics once an iteration
  /// reported): val_accuracy, val_ap50, val_mean_iou, val_auroc.
  std::string monitored_name;
  /// A continue job: the settings it took from its tool's previous job ("learning_rate =
  /// 0.002, flip_horizontal = true"); empty when none or not a continue job.
  std::string inherited_settings;
};

/// Answer to a wait for completion.
struct job_result {
  job_id id = 0;
  std::string name;
  job_state state = job_state::failed;
  int trained_iterations = 0;
  int best_iteration = 0;
  metric_map final_metrics;
  std::string message;
  error_code error = error_code::none;  ///< why it failed; none unless failed
};

/// What a worker's device is.
struct worker_info {
  std::string name;                 ///< "cpu", "cuda:0"
  std::string kind;                 ///< "cpu" or "cuda"
  std::uint64_t memory_bytes = 0;   ///< total memory of the device
  /// Memory of the device in use when the worker was last asked (CPU: the machine's RAM less
  /// what is available); 0 = unknown.
  std::uint64_t memory_used_bytes = 0;
  /// Resident memory of the node process hosting the worker when last asked; 0 = unknown.
  std::uint64_t process_bytes = 0;
  int threads = 0;                  ///< CPU threads it trains with
  std::string node;                 ///< the node process hosting it, e.g. "gpu3:4711"; "embedded"
  std::string address;              ///< where the node's collectives listen (Gloo); "127.0.0.1"
  std::string device_name;          ///< a GPU's name ("NVIDIA H200"); empty for the CPU
};

/// A worker as the scheduler sees it, for monitors.
struct worker_status {
  std::uint32_t index = 0;  ///< the scheduler's slot number
  worker_info info;
  job_id job = 0;           ///< the job it trains; 0 = idle
  bool alive = true;        ///< false once its node went away (kept for the display)
};

/// A split as the dataset actor hands it to a worker: the dataset and which image is where.
struct split_grant {
  dataset_spec dataset;
  split_spec split;
  std::vector<std::uint8_t> assignment;
  bool locked = false;
};

/// Sizes of a split's sets.
struct split_summary {
  std::string name;
  std::int64_t train = 0, validation = 0, test = 0, unused = 0;
  bool locked = false;
};

}  // namespace trainyard
