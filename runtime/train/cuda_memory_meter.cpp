// The CUDA memory meter (cuda_memory_meter.hpp). Compiled in every build of trainyard_torch: the
// CUDA part only where CMake found a LibTorch with CUDA (TRAINYARD_TORCH_CUDA); elsewhere the
// meter cannot be made and the file includes nothing of LibTorch.
//
// LibTorch interfaces used, present under these names from 1.13 through 2.x:
//   c10::cuda::CUDACachingAllocator::emptyCache(), resetPeakStats(device), getDeviceStats(device)
//   (c10/cuda/CUDACachingAllocator.h; free functions in 1.13, inline wrappers over the allocator
//   object in 2.x), and the CUDA runtime's cudaGetDeviceCount, cudaGetDeviceProperties.
#include "runtime/train/cuda_memory_meter.hpp"

#include <algorithm>
#include <utility>

#if defined(TRAINYARD_TORCH_CUDA)
#include <ATen/ATen.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <cuda_runtime_api.h>
#endif

namespace trainyard {

cuda_memory_meter::cuda_memory_meter(int device, std::uint64_t total_bytes, std::string name)
    : device_(device), total_bytes_(total_bytes), name_(std::move(name)) {}

#if defined(TRAINYARD_TORCH_CUDA)

namespace cuda_allocator = c10::cuda::CUDACachingAllocator;

void release_cuda_cache() { cuda_allocator::emptyCache(); }

void cuda_memory_meter::release_cached() { release_cuda_cache(); }

void cuda_memory_meter::reset_peak() {
  release_cached();
  cuda_allocator::resetPeakStats(static_cast<c10::DeviceIndex>(device_));
}

std::uint64_t cuda_memory_meter::peak_bytes() {
  // Reserved bytes, not allocated ones: the allocator takes memory from the device in segments
  // (2 MiB for small tensors, 20 MiB and more for large ones) and splits them, so rounding and
  // fragmentation make what it holds larger than what the tensors use; a batch size fails when
  // the segments no longer fit, which is what the budget must be compared with.
  // Index 0 is StatType::AGGREGATE (all pools) in every version; the enum's namespace moved
  // (c10::CachingAllocator in newer LibTorch), so it is not named here.
  const auto stats = cuda_allocator::getDeviceStats(static_cast<c10::DeviceIndex>(device_));
  return static_cast<std::uint64_t>(std::max<std::int64_t>(0, stats.reserved_bytes[0].peak));
}

std::uint64_t cuda_memory_meter::reserved_bytes() {
  const auto stats = cuda_allocator::getDeviceStats(static_cast<c10::DeviceIndex>(device_));
  return static_cast<std::uint64_t>(std::max<std::int64_t>(0, stats.reserved_bytes[0].current));
}

std::unique_ptr<memory_meter> make_cuda_memory_meter(int device, std::string& why_not) {
  int count = 0;
  if (const cudaError_t e = cudaGetDeviceCount(&count); e != cudaSuccess) {
    why_not = std::string("CUDA cannot list devices: ") + cudaGetErrorString(e) +
              " (no driver, or a driver older than this LibTorch's CUDA)";
    cudaGetLastError();  // clear the error so later CUDA calls do not report it again
    return nullptr;
  }
  if (device < 0 || device >= count) {
    why_not = "no CUDA device " + std::to_string(device) + ": " + std::to_string(count) +
              " visible (check CUDA_VISIBLE_DEVICES)";
    return nullptr;
  }
  cudaDeviceProp properties{};
  if (const cudaError_t e = cudaGetDeviceProperties(&properties, device); e != cudaSuccess) {
    why_not = "CUDA cannot describe device " + std::to_string(device) + ": " +
              cudaGetErrorString(e);
    cudaGetLastError();
    return nullptr;
  }
  try {
    // One tensor on the device initialises LibTorch's CUDA state, the allocator's per-device
    // tables included (getDeviceStats refuses a device it has not set up), and CUDA's context,
    // which training would create anyway.
    const auto index = static_cast<c10::DeviceIndex>(device);
    (void)at::empty({1}, at::TensorOptions().device(at::kCUDA, index));
  } catch (const std::exception& e) {
    const std::string what = e.what();
    why_not = "LibTorch cannot use CUDA device " + std::to_string(device) + ": " +
              what.substr(0, what.find('\n'));
    return nullptr;
  }
  return std::make_unique<cuda_memory_meter>(
      device, static_cast<std::uint64_t>(properties.totalGlobalMem), properties.name);
}

#else  // LibTorch without CUDA: no meter can be made, so these are never reached through one.

void release_cuda_cache() {}
void cuda_memory_meter::release_cached() {}
void cuda_memory_meter::reset_peak() {}
std::uint64_t cuda_memory_meter::peak_bytes() { return 0; }
std::uint64_t cuda_memory_meter::reserved_bytes() { return 0; }

std::unique_ptr<memory_meter> make_cuda_memory_meter(int, std::string& why_not) {
  why_not =
      "this build of trainyard has CPU-only LibTorch; rebuild with a CUDA LibTorch (see README, "
      "GPU workers)";
  return nullptr;
}

#endif

}  // namespace trainyard
