// The batch-size probe of a job that sets no batch size: trials of training and inference steps
// at growing sizes on copies of the job's task (policy: runtime/policy/batch_size_probe.hpp).
// Internal to the training runtime (runtime/train/): includes LibTorch.
#pragma once

#include "runtime/core/training_engine.hpp"
#include "runtime/policy/batch_size_probe.hpp"
#include "runtime/train/data_parallel.hpp"
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

/// The sizes the ranks of a data-parallel group train with. `probed` (batch_size = auto): each
/// rank probed its own device (`own`) and all take the smallest that fits every one
/// (agree_batch_sizes; 0 on every rank when one has none, `why` naming it); else rank 0's sizes
/// (set, or the resumed job's). `own`'s table is kept. Fails when a collective does.
expected<probe_result> agree_on_batch_sizes(data_parallel_group& group, const probe_result& own,
                                            bool probed, std::string& why);

/// out_of_memory saying why (`why_none`, else the probe's last note) when no training size
/// fits; nothing otherwise.
expected<void> no_batch_size_fits(const probe_result& probe, const std::string& why_none);

}  // namespace trainyard
