// How long a job trains when its settings leave it to trainyard (iterations = auto): the
// iterations it may run, and the patience of its early stopping, from the size of its training
// set. A small set is seen more often: every auto job sees at least `auto_images_seen` images
// (25 images: 400 iterations, 100: 100), and no job fewer than `auto_minimum_iterations`
// iterations. Patience grows with the length, so a long small-set job is not stopped by the
// noise of a few iterations. Pure functions, no torch.
#pragma once

#include <cstdint>

#include "runtime/core/specs.hpp"

namespace trainyard {

/// Images an auto job sees at least, over all its iterations.
inline constexpr std::int64_t auto_images_seen = 10000;
/// Iterations an auto job may run at least (max_iterations = auto).
inline constexpr int auto_minimum_iterations = 12;

struct job_length {
  int iterations = 0;  ///< the job's length: what it trains unless early stopping ends it sooner
  int patience = 0;    ///< auto: iterations without improvement before it stops
};

/// iterations > 0: that many. Otherwise max_iterations when set (with the patience set), else
/// max(auto_minimum_iterations, ceil(auto_images_seen / training_images)), at most 100,000,
/// with the patience set times length / auto_minimum_iterations when that is more.
job_length length_of_job(const training_settings& settings, std::int64_t training_images);

}  // namespace trainyard
