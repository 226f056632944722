// The CUDA devices through the CUDA runtime API (cudart), or errors saying why not in a build
// without it. Every CUDA error becomes a message with CUDA's error name and text, and what it
// means for the user (no driver, no device visible, ...).
#include "gpu/cuda_devices.hpp"

#include <cstdlib>
#include <optional>

#if TRAINYARD_WITH_CUDA_RUNTIME
#include <cuda_runtime_api.h>
#endif

namespace trainyard {

#if TRAINYARD_WITH_CUDA_RUNTIME

namespace {

// "cudaErrorNoDevice: no CUDA-capable device is detected"
std::string cuda_text(cudaError_t e) {
  return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
}

std::string version_text(int version) {
  return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
}

std::string visible_devices_text() {
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  return visible ? std::string("CUDA_VISIBLE_DEVICES=") + visible : "CUDA_VISIBLE_DEVICES unset";
}

// Why cudaGetDeviceCount found no device, in the user's terms.
failure no_devices(cudaError_t e) {
  if (e == cudaErrorInsufficientDriver) {
    int driver = 0, runtime = 0;
    (void)cudaDriverGetVersion(&driver);
    (void)cudaRuntimeGetVersion(&runtime);
    if (driver == 0)
      return make_failure(error_code::invalid_config,
                          "no CUDA driver on this machine (" + cuda_text(e) +
                              "); install the NVIDIA driver to train on GPUs");
    return make_failure(error_code::invalid_config,
                        "the CUDA driver of this machine (CUDA " + version_text(driver) +
                            ") is older than this build's CUDA runtime (" +
                            version_text(runtime) + "): " + cuda_text(e) +
                            "; update the NVIDIA driver");
  }
  if (e == cudaErrorNoDevice || e == cudaSuccess)
    return make_failure(error_code::invalid_config,
                        "no CUDA device visible (" + visible_devices_text() + "): " +
                            cuda_text(cudaErrorNoDevice));
  return make_failure(error_code::invalid_config,
                      "CUDA cannot list this machine's devices (" + cuda_text(e) + ")");
}

expected<int> device_count() {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    (void)cudaGetLastError();  // clears the error so later calls start clean
    return no_devices(e);
  }
  return count;
}

failure device_failure(int index, const std::string& during, cudaError_t e) {
  (void)cudaGetLastError();
  return make_failure(error_code::invalid_config, "CUDA device " + std::to_string(index) + ": " +
                                                      during + " failed (" + cuda_text(e) + ")");
}

// Selects the device and reads its name and memory; leaves it current.
expected<cuda_device> read_device(int index) {
  cudaDeviceProp properties{};
  if (cudaError_t e = cudaGetDeviceProperties(&properties, index); e != cudaSuccess)
    return device_failure(index, "cudaGetDeviceProperties", e);
  if (cudaError_t e = cudaSetDevice(index); e != cudaSuccess)
    return device_failure(index, "cudaSetDevice", e);
  std::size_t free_bytes = 0, total_bytes = 0;
  if (cudaError_t e = cudaMemGetInfo(&free_bytes, &total_bytes); e != cudaSuccess)
    return device_failure(index, "cudaMemGetInfo", e);
  cuda_device device;
  device.index = index;
  device.name = properties.name;
  device.total_bytes = total_bytes;
  device.free_bytes = free_bytes;
  return device;
}

// The device's index once it is known to exist.
expected<int> existing_device(int index) {
  auto count = device_count();
  if (!count)
    return count.error();
  if (index < 0 || index >= *count)
    return make_failure(error_code::invalid_request,
                        "CUDA device " + std::to_string(index) + " does not exist: this process sees " +
                            std::to_string(*count) + " (0 to " + std::to_string(*count - 1) +
                            ", " + visible_devices_text() + ")");
  return index;
}

}  // namespace

bool cuda_runtime_built() { return true; }

expected<std::vector<cuda_device>> cuda_devices() {
  auto count = device_count();
  if (!count)
    return count.error();
  int previous = 0;
  const bool had_previous = cudaGetDevice(&previous) == cudaSuccess;
  std::vector<cuda_device> devices;
  std::optional<failure> failed;
  for (int i = 0; i < *count && !failed; ++i) {
    auto device = read_device(i);
    if (device)
      devices.push_back(std::move(*device));
    else
      failed = device.error();
  }
  if (had_previous)
    (void)cudaSetDevice(previous);
  if (failed)
    return *failed;
  return devices;
}

expected<cuda_device> cuda_device_now(int index) {
  auto existing = existing_device(index);
  if (!existing)
    return existing.error();
  return read_device(index);
}

expected<void> cuda_synchronize(int index) {
  auto existing = existing_device(index);
  if (!existing)
    return existing.error();
  if (cudaError_t e = cudaSetDevice(index); e != cudaSuccess)
    return device_failure(index, "cudaSetDevice", e);
  if (cudaError_t e = cudaStreamSynchronize(nullptr); e != cudaSuccess) {
    (void)cudaGetLastError();
    return make_failure(error_code::training_failed,
                        "CUDA device " + std::to_string(index) +
                            ": the work queued on its default stream failed (" + cuda_text(e) + ")");
  }
  return {};
}

#else  // no CUDA runtime in this build

namespace {

failure not_built() {
  return make_failure(error_code::invalid_config,
                      "this build of trainyard has no CUDA runtime (CMake found no CUDA toolkit); "
                      "rebuild with one (CUDAToolkit_ROOT) to use GPUs");
}

}  // namespace

bool cuda_runtime_built() { return false; }
expected<std::vector<cuda_device>> cuda_devices() { return not_built(); }
expected<cuda_device> cuda_device_now(int) { return not_built(); }
expected<void> cuda_synchronize(int) { return not_built(); }

#endif

}  // namespace trainyard
