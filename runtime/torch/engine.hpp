// The LibTorch training runtime's public face: the engine factory and the tool operations the
// CLI needs (evaluate, predict). Torch-free header; everything torch lives in runtime/torch/*.cpp.
//
// A tool folder (<workspace>/tools/<tool>/) holds:
//   settings.json   tool spec, class names, channels, last job's training settings, split name
//   best.pt         weights of the best iteration (what evaluate and predict use)
//   checkpoint.pt   last iteration: weights, optimizer, early-stopping state, RNG, job id, target
//   metrics.csv     one row per iteration
//   metrics.json    final metrics of the last job
//   probe.json      batch-size probe table and choices
//   curves.png      training curves (loss, validation accuracy) drawn with OpenCV
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/batch_size_probe.hpp"
#include "runtime/error.hpp"
#include "runtime/torch/data_parallel.hpp"
#include "runtime/training_engine.hpp"

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
};

/// The glibc allocator settings training runs with (mmap and trim thresholds, one arena); the
/// engine applies them itself, once per process. Benchmarks call it to give a bare loop the same.
void tune_malloc_for_training();

/// The CPU LibTorch engine.
std::unique_ptr<training_engine> make_torch_engine(torch_engine_options options = {});

/// Folder of a tool inside a workspace.
std::string tool_folder(const std::string& workspace, const std::string& tool);

/// Accuracy, per-class accuracy and confusion matrix of a tool's best weights on a set of a split.
struct evaluation {
  std::int64_t images = 0;
  double accuracy = 0;
  std::vector<std::string> class_names;
  std::vector<double> per_class_accuracy;             ///< index = label
  std::vector<std::vector<std::int64_t>> confusion;   ///< [true label][predicted label]
};
expected<evaluation> evaluate_tool(const std::string& workspace, const std::string& tool,
                                   const dataset_spec& dataset,
                                   const std::vector<std::uint8_t>& assignment, split_set set);

/// Label and score (softmax probability) of each image file, with the tool's best weights.
struct prediction {
  std::string image;
  int label = -1;
  std::string label_name;
  double score = 0;
};
expected<std::vector<prediction>> predict_images(const std::string& workspace,
                                                 const std::string& tool,
                                                 const std::vector<std::string>& images);

}  // namespace trainyard
