// The registry of tool kinds, torch-free: what the control plane (campaign reader, scheduler,
// engine checks) needs to know of a kind without LibTorch. Each kind lives in its own folder
// runtime/tasks/<kind>/: its descriptor in <kind>_kind.cpp (compiled into trainyard_core) and its
// model and task in <kind>_task.cpp (trainyard_torch, registered in runtime/train/tool_task.cpp).
//
// Adding a kind: a folder with both files, one line in kinds.cpp and one in tool_task.cpp's
// task_kinds().
#pragma once

#include <string>
#include <vector>

#include "runtime/core/error.hpp"
#include "runtime/core/specs.hpp"

namespace trainyard {

/// One tool kind as the control plane sees it.
struct tool_kind_info {
  /// The kind's name, as JSON, campaign files and the command line spell it ("classify").
  std::string name;
  /// The validation metric early stopping and the best iteration maximise ("val_accuracy"); its
  /// evaluation reports it under this name.
  std::string monitored_metric;
  /// Checks of the settings the kind needs beyond the bounds every kind has; invalid_config with
  /// a message naming the setting. Null: none.
  expected<void> (*check)(const tool_spec& tool, const training_settings& settings) = nullptr;
  /// evaluate reports per-class accuracy and the confusion matrix (classify).
  bool confusion_matrix = false;
  /// Predictions are boxes: predict also writes detections.json (locate).
  bool boxes = false;
};

/// Every registered kind, in registration order.
const std::vector<const tool_kind_info*>& tool_kinds();

/// The kind of that name; null when none is registered.
const tool_kind_info* find_tool_kind(const std::string& name);

/// The kind of a tool; invalid_config naming the kinds there are when it is not registered.
expected<const tool_kind_info*> kind_of(const tool_spec& tool);

/// The kind's checks of a tool's settings (kind_of, then its check).
expected<void> check_tool_kind(const tool_spec& tool, const training_settings& settings);

}  // namespace trainyard
