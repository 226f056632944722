// What training reports: per-iteration reports, the batch-size probe table and the final outcome.
// Plain structs that cross threads and actors. No CAF, no torch here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/error.hpp"
#include "runtime/core/specs.hpp"

namespace trainyard {

/// One finished iteration (epoch) of a job.
struct iteration_report {
  job_id job = 0;
  std::string tool;
  int iteration = 0;         ///< 1-based, counted over the tool's whole life (continue adds on)
  int target_iterations = 0; ///< the iteration the job ends at at the latest (max for auto)
  /// train_loss, val_loss, the kind's validation metrics (val_accuracy; val_mean_iou, ...;
  /// val_auroc, ...), images_per_s, seconds
  metric_map metrics;
  int best_iteration = 0;    ///< iteration whose weights are the tool's best so far
  /// Best value so far of the metric early stopping follows: the monitored one, except for
  /// anomaly tools, whose jobs stop on val_loss (stopping_metric_of, runtime/tasks/kinds.hpp).
  double best_value = 0;
  int patience_counter = 0;  ///< iterations since the best one (early-stopping counter)
  int batch_size = 0;        ///< batch size in use
  /// The validation metric the tool kind monitors, the one consoles show: val_accuracy,
  /// val_ap50, val_mean_iou or val_auroc. Early stopping maximises it and the best weights are
  /// chosen by it, except for anomaly tools (their image score is fixed before training; they
  /// stop on the autoencoder's val_loss).
  std::string monitored_name;
  double monitored_value = 0;  ///< its value at this iteration (also in `metrics`)
  /// The engine's early-stopping decision (auto jobs only): no improvement for `patience`
  /// iterations, so the job should stop here. The early-stopper actor turns it into the request.
  bool early_stop = false;
  std::string stop_reason;     ///< why, for the user, when early_stop
};

/// The validation metric a tool kind monitors, from the kind's descriptor
/// (runtime/tasks/kinds.hpp): val_accuracy (classify), val_ap50 (locate), val_mean_iou (segment),
/// val_auroc (anomaly).
std::string monitored_metric_of(const std::string& kind);

/// The test-set twin of a validation metric ("val_ap50" → "test_ap50"); empty for other names.
std::string test_metric_of(const std::string& monitored);

/// "name 0.7490": a metric as consoles print it (four decimals).
std::string metric_text(const std::string& name, double value);


/// One row of the batch-size probe.
struct probe_row {
  int batch_size = 0;
  double train_images_per_s = 0;   ///< 0 when the trial failed
  double infer_images_per_s = 0;   ///< 0 when not measured or failed
  std::uint64_t peak_bytes = 0;    ///< peak memory the trial used, as the meter reads it
  bool fits = false;               ///< trial ran and peak within budget minus margin
  std::string note;                ///< why it does not fit / failed ("allocation failed: ...")
};

/// The probe's table and choice, saved with the tool (probe.json).
struct probe_result {
  std::vector<probe_row> rows;
  int train_batch_size = 0;      ///< chosen for training: fastest size that fits
  int inference_batch_size = 0;  ///< fastest size for inference that fits
  std::uint64_t budget_bytes = 0;
  double margin = 0;             ///< fraction of the budget kept free
};

/// How a job's training ended.
struct training_outcome {
  job_state state = job_state::failed;  ///< completed, stopped or failed
  int trained_iterations = 0;  ///< the tool's iteration count after this job
  int best_iteration = 0;
  metric_map final_metrics;    ///< best iteration's validation metrics plus test_accuracy etc.
  int batch_size = 0;
  std::string message;         ///< failure or stop reason, for the user
  error_code error = error_code::none;  ///< why it failed (none unless state is failed)
};

}  // namespace trainyard
