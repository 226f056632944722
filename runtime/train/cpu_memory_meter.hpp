// The batch-size probe's reading of the CPU's memory, from /proc. Torch-free.
#pragma once

#include <cstdint>

#include "runtime/policy/batch_size_probe.hpp"

namespace trainyard {

/// The CPU's memory as the probe sees it. The budget is what the process already holds plus the
/// job's share of the memory still available; the peak is the process's high-water mark (VmHWM),
/// reset through /proc/self/clear_refs. Both count the whole process, so memory kept by the
/// allocator between trials is counted on both sides.
class cpu_memory_meter final : public memory_meter {
 public:
  /// `share`: the job's share of the memory still available, 0..1.
  explicit cpu_memory_meter(double share);
  std::uint64_t budget_bytes() override { return budget_; }
  void reset_peak() override;
  std::uint64_t peak_bytes() override;

 private:
  std::uint64_t budget_ = 0;
  bool resettable_ = false;
};

}  // namespace trainyard
