// The batch-size probe's reading of a CUDA device's memory, from LibTorch's caching allocator.
// Torch-free header. The .cpp reads the allocator only in builds whose LibTorch has CUDA (CMake
// defines TRAINYARD_TORCH_CUDA for them); in the others make_cuda_memory_meter answers null and
// says why, so callers need no #if of their own.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "runtime/policy/batch_size_probe.hpp"

namespace trainyard {

/// One CUDA device's memory as the probe sees it. The budget is the device's total memory (the
/// probe keeps its own margin, which also covers CUDA's context and what other processes hold);
/// the peak is the most the caching allocator reserved from the device since reset_peak().
/// Used by the thread that runs the trials; LibTorch's allocator statistics are per device, so
/// two trials on one device at once would read each other's memory.
class cuda_memory_meter final : public memory_meter {
 public:
  /// `device`: CUDA's device number; `total_bytes` and `name`: what make_cuda_memory_meter read
  /// from the device (tests pass their own).
  cuda_memory_meter(int device, std::uint64_t total_bytes, std::string name);

  std::uint64_t budget_bytes() override { return total_bytes_; }
  /// Releases the allocator's cached blocks (release_cached) and restarts its peak statistics,
  /// so each trial's peak is what that size needs beside the live tensors, not what the earlier,
  /// smaller trials left cached (the CPU meter's reset of VmHWM has the same purpose).
  void reset_peak() override;
  /// The allocator's peak of reserved bytes since reset_peak().
  std::uint64_t peak_bytes() override;

  /// Returns the allocator's cached, unused blocks to the device (emptyCache). The probe calls it
  /// after a failed trial: the blocks of its half-built activations stay cached otherwise, and
  /// the next allocations fragment around them or fail. Live tensors are untouched.
  void release_cached() override;
  /// Bytes the allocator holds from the device now: in use plus cached (what release_cached
  /// gives back is the difference to what is in use).
  std::uint64_t reserved_bytes();

  int device() const { return device_; }
  /// The device's name as CUDA reports it ("NVIDIA H200").
  const std::string& device_name() const { return name_; }

 private:
  int device_ = 0;
  std::uint64_t total_bytes_ = 0;
  std::string name_;
};

/// The meter of CUDA device `device` (0-based, after CUDA_VISIBLE_DEVICES): its total memory and
/// name come from cudaGetDeviceProperties. Null, with the reason in `why_not`, when this build's
/// LibTorch has no CUDA, no device is visible, `device` is out of range, or CUDA cannot be asked.
/// The object is a cuda_memory_meter (dynamic_cast reaches its device name and reserved bytes).
std::unique_ptr<memory_meter> make_cuda_memory_meter(int device, std::string& why_not);

/// Returns LibTorch's cached, unused CUDA blocks to their devices (emptyCache), as
/// cuda_memory_meter::release_cached does; nothing in a build whose LibTorch has no CUDA.
void release_cuda_cache();

}  // namespace trainyard
