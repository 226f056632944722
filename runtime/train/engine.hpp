// The LibTorch training runtime's public face: the engine factory and the tool operations the
// CLI needs (evaluate, predict). Torch-free header; everything torch lives in runtime/train/ and runtime/tasks/.
//
// A tool folder (<workspace>/tools/<tool>/) holds:
//   settings.json   tool spec, class names, channels, last job's training settings, split name
//   best.pt         weights of the best iteration (what evaluate and predict use)
//   checkpoint.pt   last iteration: weights, optimizer, early-stopping state, RNG, job id, target
//   metrics.csv     one row per iteration
//   metrics.json    final metrics of the last job
//   probe.json      batch-size probe table and choices
//   curves.png      training curves (loss, the monitored validation metric) drawn with OpenCV
//   task.pt         kinds with state beyond weights (anomaly: memory bank, score scales, threshold)
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/data/annotations.hpp"
#include "runtime/policy/batch_size_probe.hpp"
#include "runtime/policy/devices.hpp"
#include "runtime/core/error.hpp"
#include "runtime/train/data_parallel.hpp"
#include "runtime/train/prediction.hpp"
#include "runtime/core/training_engine.hpp"

namespace trainyard {

struct torch_engine_options {
  /// Memory readings for the batch-size probe; null = the real CPU meter (available RAM times
  /// the job's memory_share, peak RSS of the process). Tests inject a simulated one.
  std::shared_ptr<memory_meter> meter;
  /// Sizes tried and margin kept; defaults as in probe_options.
  probe_options probe;
  /// Steps timed per probe trial (after one warm-up step); default 3.
  int probe_steps = 3;
  /// Data-parallel jobs (devices > 1): how long ranks wait to join and for each collective.
  data_parallel_options parallel;
  /// Benchmarks of time to accuracy: every iteration also evaluates the test set (with the
  /// weights validation sees) and reports it as test_* metrics with test_seconds, the time that
  /// took, for the benchmark to leave out of its clock. Off for every job a user runs.
  bool test_each_iteration = false;
};

/// The glibc allocator settings training runs with (mmap and trim thresholds, one arena); the
/// engine applies them itself, once per process. Benchmarks call it to give a bare loop the same.
void tune_malloc_for_training();

/// What this build's LibTorch can train on: the CUDA devices it sees, or why none (a CPU-only
/// LibTorch, no driver, none visible).
device_support torch_device_support();

/// The LibTorch engine: each job trains on its request's device (the CPU or a CUDA device).
std::unique_ptr<training_engine> make_torch_engine(torch_engine_options options = {});

/// Folder of a tool inside a workspace.
std::string tool_folder(const std::string& workspace, const std::string& tool);

/// A tool's best weights on a set of a split. Every kind fills `metrics` (the names training
/// reports, without the "val_" prefix: classify accuracy and loss; segment pixel_accuracy, iou_*,
/// mean_iou, image_accuracy, image_recall; anomaly auroc, balanced_accuracy, pixel_auroc, ...);
/// classify also fills accuracy, per-class accuracy and the confusion matrix.
struct evaluation {
  std::string kind = "classify";
  metric_map metrics;
  std::int64_t images = 0;
  double accuracy = 0;
  std::vector<std::string> class_names;
  /// Index = label; NaN (JSON null) for a class without images in the set. The accuracy of a
  /// class is its recall.
  std::vector<double> per_class_accuracy;
  /// Index = label; NaN (JSON null) where undefined (class_scores.hpp): precision of a class
  /// never predicted, F1 of a class without images. The macro means are in `metrics`
  /// (macro_precision, macro_recall, macro_f1).
  std::vector<double> per_class_precision, per_class_f1;
  std::vector<std::vector<std::int64_t>> confusion;   ///< [true label][predicted label]
};
expected<evaluation> evaluate_tool(const std::string& workspace, const std::string& tool,
                                   const dataset_spec& dataset,
                                   const std::vector<std::uint8_t>& assignment, split_set set);

/// `output_folder`: where segment and anomaly tools write their images; empty = the tool
/// folder's predictions/ subfolder.
expected<std::vector<prediction>> predict_images(const std::string& workspace,
                                                 const std::string& tool,
                                                 const std::vector<std::string>& images,
                                                 const std::string& output_folder = "");

/// What `trainyard export` wrote.
struct export_summary {
  std::string folder;
  std::string kind;
  std::vector<std::string> files;  ///< in the folder: tool.json first, then the kind's files
  int best_batch = 1;              ///< images per network call that ran fastest (tool.json)
  double images_per_second = 0;    ///< at best_batch through trainyard_runtime; 0: not measured
};
/// Writes `tool`'s deployable form into `out_folder` (created when missing): the kind's
/// networks (tool_task::export_onnx: model.onnx and what the kind needs) and tool.json, the
/// folder deploy/trainyard_runtime.hpp reads. `batch`: the networks' batch dimension, 0 =
/// dynamic; with a dynamic batch the fastest batch size is measured through trainyard_runtime
/// and recorded. `metrics`: the tool's validation and test metrics, recorded in tool.json.
expected<export_summary> export_tool(const std::string& workspace, const std::string& tool,
                                     const std::string& out_folder, std::int64_t batch,
                                     const metric_map& metrics);

}  // namespace trainyard
