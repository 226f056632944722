// The CUDA devices of this machine as the CUDA runtime sees them, without LibTorch: what a worker
// reports, and the memory a batch-size probe can count on. In a build without the CUDA runtime
// (CMake found no toolkit: cmake/TrainyardGpu.cmake) every call answers an error that says so.
// No CUDA header here, so the rest of the project compiles the same in every build.
//
// Each call may run on any thread. cuda_devices() puts the thread's current device back after
// visiting each; the calls about one device leave that device current on the calling thread (the
// training thread works on its one device anyway, and putting device 0 back would create CUDA's
// context on device 0 for a thread that never uses it).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/error.hpp"

namespace trainyard {

/// One CUDA device and its memory when it was asked.
struct cuda_device {
  int index = 0;                 ///< CUDA's device number (after CUDA_VISIBLE_DEVICES); default 0
  std::string name;              ///< e.g. "NVIDIA H100 80GB HBM3"
  std::uint64_t total_bytes = 0; ///< the device's memory, bytes
  std::uint64_t free_bytes = 0;  ///< free memory when asked, bytes (other processes count)
};

/// True when this build has the CUDA runtime (TRAINYARD_WITH_CUDA_RUNTIME).
bool cuda_runtime_built();

/// The CUDA devices this process sees (cudaGetDeviceCount, then cudaGetDeviceProperties and
/// cudaMemGetInfo per device), or an error (invalid_config) saying why there is none: no CUDA
/// runtime in this build, no driver, no device visible (with CUDA_VISIBLE_DEVICES), each with
/// CUDA's own error text. Asking a device's memory creates CUDA's context on it (a few hundred MB
/// of device memory, kept for the process's life), so a worker asks once when it starts.
expected<std::vector<cuda_device>> cuda_devices();

/// One device's memory now (cudaSetDevice + cudaMemGetInfo): free and total bytes.
expected<cuda_device> cuda_device_now(int index);

/// Waits for all work queued on the device's default stream (cudaStreamSynchronize(0) after
/// cudaSetDevice); an error (training_failed) with CUDA's message when that work failed.
expected<void> cuda_synchronize(int index);

}  // namespace trainyard
