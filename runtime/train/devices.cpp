// The training runtime's devices (devices.hpp) and what this build's LibTorch trains on
// (engine.hpp's torch_device_support). The CUDA parts are compiled only where LibTorch has CUDA
// (TRAINYARD_TORCH_CUDA, set by CMake); elsewhere a CUDA device is refused before any is used.
#include "runtime/train/devices.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/cuda.h>
#if defined(TRAINYARD_TORCH_CUDA)
#include <ATen/cuda/CUDAGeneratorImpl.h>
#endif

#include "runtime/policy/devices.hpp"
#include "runtime/tasks/kinds.hpp"
#include "runtime/train/engine.hpp"
#include "runtime/train/failures.hpp"

namespace trainyard {

torch::Device training_device(const std::string& name, const std::string& kind) {
  if (name.empty() || name == "cpu")
    return torch::kCPU;
  const int index = cuda_index(name);
  if (index < 0)
    fail("device " + name + " is not one trainyard trains on; workers train on cpu or cuda:N",
         error_code::invalid_request);
  if (!torch::cuda::is_available())
    fail("device " + name + ": this build of trainyard has CPU-only LibTorch (or its CUDA sees "
         "no device); rebuild with a CUDA LibTorch (README, GPU workers) or train on a CPU worker",
         error_code::invalid_request);
  if (index >= static_cast<int>(torch::cuda::device_count()))
    fail("device " + name + ": LibTorch sees " + std::to_string(torch::cuda::device_count()) +
             " CUDA devices; start the node with --devices all",
         error_code::invalid_request);
  if (!trains_on_gpu(kind))
    fail(kind + " tools train on CPU workers only; the scheduler places them there, so run the "
                "job through a scheduler with a CPU worker (a node started with --devices cpu)",
         error_code::invalid_request);
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

torch::Generator device_generator(const torch::Device& device, std::uint64_t seed) {
#if defined(TRAINYARD_TORCH_CUDA)
  if (device.is_cuda()) {
    torch::Generator gen = at::cuda::detail::createCUDAGenerator(device.index());
    gen.set_current_seed(seed);
    return gen;
  }
#endif
  (void)device;
  return at::detail::createCPUGenerator(seed);
}

device_support torch_device_support() {
  device_support support;
#if defined(TRAINYARD_TORCH_CUDA)
  support.torch_cuda = true;
  support.cuda_devices = static_cast<int>(torch::cuda::device_count());
  if (support.cuda_devices == 0)
    support.why_not = "LibTorch sees no CUDA device: no driver, or CUDA_VISIBLE_DEVICES hides them";
#else
  support.why_not = "this build of trainyard has CPU-only LibTorch; rebuild with a CUDA LibTorch: "
                    "see README, GPU workers";
#endif
  return support;
}

}  // namespace trainyard
