// A trained tool opened from its folder, as evaluate, predict and export use it (tool_ops.cpp).
// Internal to the training runtime (runtime/train/): includes LibTorch.
#pragma once

#include <memory>
#include <string>

#include "runtime/tasks/kinds.hpp"
#include "runtime/train/images.hpp"
#include "runtime/train/tool_files.hpp"
#include "runtime/train/tool_task.hpp"

namespace trainyard {

/// A trained tool as predict, evaluate and export need it: its description, its task with the
/// best weights and the task's extra state (task.pt) loaded.
struct trained_tool {
  tool_state record;
  const tool_kind_info* kind = nullptr;  ///< its kind's descriptor
  std::unique_ptr<tool_task> task;
  image_geometry geometry;
  std::string folder;
  int batch_size = 256;
};

/// Opens `tool` of `workspace`: settings.json, best.pt and task.pt, the model in eval mode;
/// unknown_tool when it has no weights, storage_failed when a file does not read.
expected<trained_tool> open_tool(const std::string& workspace, const std::string& tool);

}  // namespace trainyard
