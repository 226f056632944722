// The files of a tool folder (listed in engine.hpp) that are not tensors: names, settings.json,
// metrics.csv, and atomic text writes. Internal to the training runtime (runtime/train/, runtime/tasks/); torch-free, so reading a
// tool's description costs no LibTorch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/error.hpp"
#include "runtime/core/specs.hpp"
#include "runtime/policy/early_stopping.hpp"
#include "runtime/store/file_transfer.hpp"  // write_file_atomically

namespace trainyard {

/// File names inside a tool folder.
namespace tool_files {
inline constexpr const char* settings = "settings.json";
inline constexpr const char* best = "best.pt";
inline constexpr const char* checkpoint = "checkpoint.pt";
/// The checkpoint before checkpoint.pt, kept so that a damaged checkpoint.pt costs one iteration
/// instead of the job (plan_job falls back to it, saying so).
inline constexpr const char* previous_checkpoint = "checkpoint.previous.pt";
inline constexpr const char* metrics_csv = "metrics.csv";
inline constexpr const char* metrics_json = "metrics.json";
inline constexpr const char* probe = "probe.json";
inline constexpr const char* curves = "curves.png";
/// State of the tool kind beside its weights (anomaly: memory bank, scales, threshold); only
/// kinds that have such state write it. A fresh job removes it with the others.
inline constexpr const char* task_state = "task.pt";
/// Every file the engine writes for every tool; a fresh job removes them first.
inline const std::vector<std::string>& all() {
  static const std::vector<std::string> names{
    settings, best, checkpoint, previous_checkpoint, metrics_csv, metrics_json, probe, curves};
  return names;
}
}  // namespace tool_files

/// Per-channel statistics of the training images, on the [0, 1] scale.
struct normalization {
  std::vector<double> mean;
  std::vector<double> std;
};

/// One row of metrics.csv.
struct metrics_row {
  int iteration = 0;
  double train_loss = 0;
  double val_loss = 0;
  /// The tool kind's other validation metrics ("val_accuracy" for classify; "val_mean_iou",
  /// "val_auroc", ... for the others), one column each in name order.
  metric_map validation;
  double images_per_s = 0;
  double seconds = 0;
  int batch_size = 0;
};
/// A tool's state, one struct for its two files. settings.json holds what predict and evaluate
/// need to rebuild the model and feed it the same pixels training saw, plus what the tool was
/// last trained with; checkpoint.pt (checkpoint.hpp) holds what a job needs to go on after the
/// last completed iteration. Fields marked "settings.json" or "checkpoint" are in one file only.
struct tool_state {
  tool_spec tool;
  dataset_spec dataset;
  std::string split;
  std::string job_name;        ///< name of the last job that trained the tool
  job_id job = 0;              ///< its id
  std::vector<std::string> class_names;
  int channels = 1;
  normalization norm;          ///< of the training images
  int batch_size = 0;
  int inference_batch_size = 0;
  int threads = 0;             ///< intra-op threads it trained with (results depend on the count)
  int completed = 0;           ///< iterations trained over the tool's life
                               ///< (settings.json: trained_iterations)
  early_stopping_state stopping;  ///< settings.json: best_iteration only
  training_settings training;  ///< settings.json: the last job's settings
  int target = 0;              ///< checkpoint: the iteration the job that wrote it ends at
  std::uint64_t seed = 0;      ///< checkpoint: the seed of the tool's random streams
  std::vector<metrics_row> history;  ///< checkpoint: one row per completed iteration
};

/// settings.json's text (the keys predict and evaluate read, and the last job's settings).
std::string to_json(const tool_state& state);
/// The tool state settings.json holds; storage_failed naming the file when it is unreadable or
/// malformed.
expected<tool_state> tool_state_from_json(const std::string& text, const std::string& origin);

/// The whole metrics.csv, header included: iteration, train_loss, val_loss, the validation
/// metrics of the first row, images_per_s, seconds, batch_size.
std::string metrics_csv(const std::vector<metrics_row>& rows);

/// The whole file; storage_failed naming it when it cannot be read.
expected<std::string> read_text_file(const std::string& path);

/// Removes the files a job writes into a tool folder (tool_files::all and task.pt) and the
/// temporaries a crash may have left; a fresh job starts from an empty tool.
void remove_tool_files(const std::string& folder);

}  // namespace trainyard
