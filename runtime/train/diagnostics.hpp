// Torch-free entry points for tests: reading the weights a tool saved, and the torch half of the
// registry of tool kinds. Not part of the
// runtime's public face (engine.hpp); nothing else should call these.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "runtime/core/error.hpp"
#include "runtime/core/specs.hpp"

namespace trainyard {

/// Raw bytes of every parameter and buffer of a weights file the engine wrote (best.pt), by
/// dotted name ("conv1.weight", "norm1.running_mean"): two runs are bit-identical when these are.
expected<std::map<std::string, std::string>> read_weight_bytes(const std::string& path);

/// The names of the kinds whose torch part is registered (task_kinds(), tool_task.hpp).
std::vector<std::string> registered_task_kinds();

/// What the task of `tool` (its kind, input size and model width; freshly initialised weights)
/// reports when it evaluates a set of four 8-bit gray images with every kind's targets (labels,
/// masks, one box each), names prefixed "val_"; `class_names` as the kind's dataset gives them.
expected<metric_map> evaluate_blank_set(const tool_spec& tool,
                                        const std::vector<std::string>& class_names);

}  // namespace trainyard
