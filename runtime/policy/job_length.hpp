// How long a job trains when its settings leave it to trainyard (iterations = auto): the
// iterations it may run, and the patience of its early stopping, from the size of its training
// set. A small set is seen more often: every auto job sees at least `auto_images_seen` images
// (25 images: 400 iterations, 100: 100), half as many when it starts from a trained tool, and no
// job fewer than `auto_minimum_iterations` iterations. Patience grows with the length, so a long
// small-set job is not stopped by the noise of a few iterations. Pure functions, no torch.
#pragma once

#include <cstdint>

#include "runtime/core/specs.hpp"

namespace trainyard {

/// Images an auto job sees at least, over all its iterations.
inline constexpr std::int64_t auto_images_seen = 10000;
/// The same for a job that starts from a trained tool's weights (initialize_from): half, as the
/// studio advises fewer iterations for a pretrained tool (25 images: 200 iterations).
inline constexpr std::int64_t auto_images_seen_pretrained = 5000;
/// Iterations an auto job may run at least (max_iterations = auto).
inline constexpr int auto_minimum_iterations = 12;

struct job_length {
  int iterations = 0;  ///< the job's length: what it trains unless early stopping ends it sooner
  int patience = 0;    ///< auto: iterations without improvement before it stops
};

/// iterations > 0: that many. Otherwise max_iterations when set (with the patience set), else
/// max(auto_minimum_iterations, ceil(seen / training_images)), at most 100,000, with the
/// patience set times length / auto_minimum_iterations when that is more; seen is
/// auto_images_seen, or auto_images_seen_pretrained for a `pretrained` job.
job_length length_of_job(const training_settings& settings, std::int64_t training_images,
                         bool pretrained = false);

/// The length of a fresh job as far as it is known before its training set is counted:
/// iterations, else max_iterations, else auto_minimum_iterations. What a scheduler shows until
/// the job reports its own target.
inline int length_before_counting(const training_settings& settings) {
  return settings.iterations > 0       ? settings.iterations
         : settings.max_iterations > 0 ? settings.max_iterations
                                       : auto_minimum_iterations;
}

}  // namespace trainyard
