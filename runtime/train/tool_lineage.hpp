// What a job may take from a tool trained before it: a continue job its own tool's state (the
// checkpoint), a fresh job another tool's weights (initialize_from). Both are checked here, with
// a message that says what to change; each check throws job_failure.
// Internal to the training runtime (runtime/train/): includes LibTorch.
#pragma once

#include <string>

#include <torch/torch.h>

#include "runtime/core/specs.hpp"
#include "runtime/train/checkpoint.hpp"
#include "runtime/train/trained_tool.hpp"

namespace trainyard {

/// A continue job must find its tool's checkpoint (null: none), on the same split and with the
/// same network.
void check_continuation(const loaded_checkpoint* checkpoint, const job_spec& spec);

/// The tool `spec.initialize_from` of `workspace`, opened, when it can start `spec`'s tool: the
/// same kind, input size and `channels`, and network (model, model_width, batch_norm).
trained_tool open_source_tool(const std::string& workspace, const job_spec& spec, int channels);

/// Copies `from`'s parameters and buffers into `to`'s where name and shape agree: everything but
/// an output layer whose classes differ, which keeps its fresh weights.
void copy_matching_weights(torch::nn::Module& from, torch::nn::Module& to);

}  // namespace trainyard
