// The batch-size probe of a job that sets no batch size: trials of training and inference steps
// at growing sizes on copies of the job's task (policy: runtime/policy/batch_size_probe.hpp).
// Internal to the training runtime (runtime/train/): includes LibTorch.
#pragma once

#include "runtime/core/training_engine.hpp"
#include "runtime/policy/batch_size_probe.hpp"
#include "runtime/train/engine.hpp"
#include "runtime/train/tool_task.hpp"

namespace trainyard {

/// The batch sizes a job trains and infers with, from trials on copies of `task` (the job's task
/// and model stay untouched) with the first images of `train_data`, each stepping the job's own
/// optimizer (`settings`, the recipe resolved: its state is memory too). The memory meter is
/// options.meter, or the CPU's. A deterministic job takes the largest fitting size up to 128
/// instead of the fastest, which depends on timing noise.
probe_result probe_batch_size(const torch_engine_options& options,
                              const training_settings& settings, const tool_task& task,
                              const task_data& train_data);

}  // namespace trainyard
