// The learning-rate schedules a job trains with (training_settings::schedule): a factor on the
// peak rate at each optimizer step, from the share of the job's steps already taken. Pure
// functions, no torch.
#pragma once

#include <cstdint>
#include <string>

namespace trainyard {

/// The factor on learning_rate for a step taken when `progress` (in [0, 1)) of the job's steps
/// are done:
///   constant   1
///   one_cycle  a linear rise from 0.1 to 1 over the first `warmup` share, then a linear fall
///              to 0 at the job's end
///   cosine     the same rise over `warmup`, then a half cosine from 1 down to 0.05
/// Unknown names are constant (validate() refuses them first).
double learning_rate_factor(const std::string& schedule, double warmup, double progress);

/// The share of a job's steps done before step `step` (0-based) of iteration `iteration` (its
/// position in the job, 0-based), with `steps_per_iteration` steps in each of the job's
/// `iterations`.
double schedule_progress(int iteration, std::int64_t step, std::int64_t steps_per_iteration,
                         int iterations);

}  // namespace trainyard
