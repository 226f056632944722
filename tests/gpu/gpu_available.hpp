// Whether this test process can run the GPU-only tests, and if not, why: the reason each such
// test prints when it skips (GTEST_SKIP), so a run without a GPU says what it did not check.
#pragma once

#include <string>

#include "gpu/cuda_devices.hpp"
#include "gpu/nccl_group.hpp"

namespace trainyard {

/// Empty when the CUDA runtime and NCCL are built (into trainyard_gpu and this test binary) and
/// a CUDA device is visible; otherwise why not.
inline std::string why_no_gpu() {
  if (!cuda_runtime_built())
    return "this build has no CUDA runtime (CMake found no CUDA toolkit)";
  if (!nccl_built())
    return "this build has no NCCL (CMake found none under the CUDA toolkit)";
#if !TRAINYARD_WITH_CUDA_RUNTIME
  return "gpu_tests was built without cudart (cmake/TrainyardGpu.cmake links it on CMake 3.19+)";
#endif
  auto devices = cuda_devices();
  if (!devices)
    return devices.error().message;
  return {};
}

}  // namespace trainyard
