#include "runtime/policy/learning_rate.hpp"

#include <algorithm>
#include <cmath>

namespace trainyard {

namespace {

constexpr double start_factor = 0.1;   // where a warm-up starts
constexpr double cosine_floor = 0.05;  // where a cosine ends

}  // namespace

double learning_rate_factor(const std::string& schedule, double warmup, double progress) {
  const double p = std::clamp(progress, 0.0, 1.0);
  const double w = std::clamp(warmup, 0.0, 0.99);
  if (schedule != "one_cycle" && schedule != "cosine")
    return 1.0;
  if (p < w)
    return start_factor + (1.0 - start_factor) * p / w;
  const double fall = (p - w) / (1.0 - w);
  if (schedule == "one_cycle")
    return 1.0 - fall;
  return cosine_floor + (1.0 - cosine_floor) * 0.5 * (1.0 + std::cos(3.14159265358979323846 * fall));
}

double schedule_progress(int iteration, std::int64_t step, std::int64_t steps_per_iteration,
                         int iterations) {
  if (iterations <= 0 || steps_per_iteration <= 0)
    return 0.0;
  const double total = static_cast<double>(iterations) * static_cast<double>(steps_per_iteration);
  const double done =
      static_cast<double>(iteration) * static_cast<double>(steps_per_iteration) +
      static_cast<double>(step);
  return std::clamp(done / total, 0.0, 1.0);
}

}  // namespace trainyard
