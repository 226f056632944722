// The registry of tool kinds, torch-free: what the control plane (campaign reader, scheduler,
// engine checks) needs to know of a kind without LibTorch. Each kind lives in its own folder
// runtime/tasks/<kind>/: its descriptor in <kind>_kind.cpp (compiled into trainyard_core) and its
// model and task in <kind>_task.cpp (trainyard_torch, registered in runtime/train/tool_task.cpp).
//
// Adding a kind: a folder with both files and one line in runtime/tasks/kind_list.hpp.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "runtime/core/error.hpp"
#include "runtime/core/specs.hpp"
#include "runtime/core/validate.hpp"
#include "runtime/policy/early_stopping.hpp"

namespace trainyard {

/// A kind's training recipe: what the `auto` values of a job's recipe settings (optimizer,
/// weight_decay, schedule, warmup, label_smoothing, weight_averaging, learning_rate) stand for.
struct training_recipe {
  const char* optimizer = "adam";
  double weight_decay = 0;
  const char* schedule = "constant";
  double warmup = 0;
  double label_smoothing = 0;
  double weight_averaging = 0;
  double learning_rate = 1e-3;
};

/// One tool kind as the control plane sees it.
struct tool_kind_info {
  /// The kind's name, as JSON, campaign files and the command line spell it ("classify").
  std::string name;
  /// The validation metric that says how good a tool is ("val_accuracy"): what consoles, compare
  /// and the job list show, and, unless `stopping_metric` names another, what early stopping and
  /// the best iteration maximise. Its evaluation reports it under this name.
  std::string monitored_metric;
  /// What the kind needs of a tool, its job's settings and (when known) its dataset beyond the
  /// bounds every kind has: the first problem, naming the keys at fault. Null: nothing more.
  std::optional<spec_problem> (*check)(const tool_spec& tool, const training_settings& settings,
                                       const dataset_spec* dataset) = nullptr;
  /// evaluate reports per-class accuracy and the confusion matrix (classify).
  bool confusion_matrix = false;
  /// Predictions are boxes: predict also writes detections.json (locate).
  bool boxes = false;
  /// The kind's recipe (the `auto` values).
  training_recipe recipe;
  /// Whether each image has one label to learn (label_smoothing applies), and whether `model`
  /// chooses among network sizes: classify only.
  bool image_labels = false;
  bool model_sizes = false;
  /// Whether its task trains, evaluates and predicts on a CUDA device: every tensor the model
  /// meets is moved there and every result it reads element by element comes back to the CPU
  /// first. All four kinds do; a kind without it trains on CPU workers only, and placement
  /// keeps its jobs off GPUs.
  bool trains_on_gpu = false;
  /// The validation metric early stopping and the best iteration follow when training does not
  /// move the monitored one, with its direction; empty: the monitored metric, maximised. The
  /// anomaly kind's image score is its pixel memory's, fixed before the first step, so its jobs
  /// stop on, and keep the weights of, the autoencoder's validation loss (the defect maps).
  std::string stopping_metric;
  metric_goal stopping_goal = metric_goal::maximize;
};

/// The metric early stopping follows for the kind, and its direction: the kind's stopping metric,
/// else its monitored one, maximised ("val_loss", minimised, for a kind not registered).
std::pair<std::string, metric_goal> stopping_metric_of(const std::string& kind);

/// Whether jobs of the kind may run on a GPU worker (false for a kind not registered).
bool trains_on_gpu(const std::string& kind);

/// Whether the kind's evaluation reports accuracy per class and a confusion matrix (false for a
/// kind not registered).
bool reports_confusion_matrix(const std::string& kind);

/// Every registered kind, in registration order.
const std::vector<const tool_kind_info*>& tool_kinds();

/// The kind of that name; null when none is registered.
const tool_kind_info* find_tool_kind(const std::string& name);

/// The kind of a tool; invalid_config naming the kinds there are when it is not registered.
expected<const tool_kind_info*> kind_of(const tool_spec& tool);

/// `settings` with every `auto` recipe value replaced by the tool kind's (unknown kind: as given).
/// What the engine trains with, and what the tool's settings.json records.
training_settings resolve_recipe(const tool_spec& tool, training_settings settings);

/// The kind's checks (kind_of, then its check): the first problem, or none. validate() runs
/// them before a job is queued.
std::optional<spec_problem> tool_kind_problem(const tool_spec& tool,
                                              const training_settings& settings,
                                              const dataset_spec* dataset);

}  // namespace trainyard
