// The devices the training runtime trains on, as LibTorch sees them: the worker's device name
// turned into a torch::Device (with the refusals a build or machine without it gets), random
// generators on a device, and what this build's LibTorch can train on.
// Internal to the training runtime (runtime/train/): includes LibTorch.
#pragma once

#include <cstdint>
#include <string>

#include <torch/torch.h>

namespace trainyard {

/// The device a job of tool kind `kind` trains on, from its worker's name of it ("cpu",
/// "cuda:1"). Throws job_failure (invalid_request) when this build's LibTorch has no CUDA, does
/// not see that device, or the kind trains on CPUs only, each saying what to do.
torch::Device training_device(const std::string& name, const std::string& kind);

/// A generator of random draws on `device`, seeded with `seed`: a job's own dropout draws where
/// its tensors are, apart from the process's default generators (which other jobs of the node
/// reseed).
torch::Generator device_generator(const torch::Device& device, std::uint64_t seed);

}  // namespace trainyard
