// A device whose memory the batch-size probe reads in tests of the engine: peak memory grows with
// the batch size of the trial that just ran. The probe resets the peak once per size, in doubling
// order from min_batch, so the n-th reset is size min_batch * 2^(n-1).
#pragma once

#include <cstdint>

#include "runtime/policy/batch_size_probe.hpp"

namespace trainyard {

class simulated_meter : public memory_meter {
 public:
  simulated_meter(std::uint64_t budget, int min_batch, std::uint64_t fixed, std::uint64_t per_image)
      : budget_(budget), min_batch_(min_batch), fixed_(fixed), per_image_(per_image) {}
  std::uint64_t budget_bytes() override { return budget_; }
  void reset_peak() override { ++resets_; }
  std::uint64_t peak_bytes() override {
    const std::uint64_t size = static_cast<std::uint64_t>(min_batch_) << (resets_ - 1);
    return fixed_ + per_image_ * size;
  }

 private:
  std::uint64_t budget_;
  int min_batch_;
  std::uint64_t fixed_, per_image_;
  int resets_ = 0;
};

}  // namespace trainyard
