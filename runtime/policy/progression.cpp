// Progression estimates (see progression.hpp). The scheduler calls this whenever someone asks for
// a job's progress; every input comes from iteration reports and the caller's clock, so the same
// inputs always give the same answer.
#include "runtime/policy/progression.hpp"

#include <algorithm>
#include <numeric>

namespace trainyard {

namespace {

// The running iteration never counts as a whole one before its report arrives: an iteration that
// takes longer than the mean would otherwise show as done while it still runs.
constexpr double max_running_share = 0.99;

// The iteration the job is expected to end at (tool-wide count), never before what is done.
int expected_end(const progression_input& in) {
  int end = in.max_iteration;
  if (in.automatic && in.patience > 0) {
    // If the metric never improves again, early stopping fires once the counter reaches the
    // patience: that is the latest end the rule allows before the cap.
    const int stall_end = in.completed_iteration + std::max(in.patience - in.patience_counter, 0);
    end = in.max_iteration > 0 ? std::min(end, stall_end) : stall_end;
  }
  return std::max(end, in.completed_iteration);
}

}  // namespace

progression estimate_progression(const progression_input& in) {
  progression out;
  out.iteration = in.completed_iteration;
  out.best_iteration = in.best_iteration;

  if (in.finished) {
    // The job ended where it ended (possibly before its target, when stopped or failed).
    out.fraction = 1;
    out.eta_seconds = 0;
    out.target_iterations = in.completed_iteration;
    return out;
  }

  if (in.automatic && in.max_iteration <= 0 && in.patience <= 0) {
    // Neither a cap nor a stall rule: nothing bounds the job, so no fraction or ETA is honest.
    // target_iterations 0 tells the caller the end is unknown.
    return out;
  }

  const int end = expected_end(in);
  out.target_iterations = end;

  const bool timed = !in.iteration_seconds.empty();
  const double mean_seconds =
      timed ? std::accumulate(in.iteration_seconds.begin(), in.iteration_seconds.end(), 0.0) /
                  static_cast<double>(in.iteration_seconds.size())
            : 0.0;
  const double into_current = std::max(in.seconds_into_current, 0.0);
  const int remaining = std::max(end - in.completed_iteration, 0);

  // A job with nothing left to run (a target at or below where the tool started, or the last
  // iteration reported but the job not yet closed) is as far as it can get.
  const int span = end - in.first_iteration;
  if (span <= 0) {
    out.fraction = 1;
  } else {
    double done = static_cast<double>(std::max(in.completed_iteration - in.first_iteration, 0));
    if (remaining > 0 && mean_seconds > 0)
      done += std::min(into_current / mean_seconds, max_running_share);
    out.fraction = std::clamp(done / static_cast<double>(span), 0.0, 1.0);
  }

  // Without one timed iteration of this job there is no speed to extrapolate from (earlier jobs
  // of the tool may have run on another device or batch size).
  if (timed)
    out.eta_seconds = std::max(remaining * mean_seconds - into_current, 0.0);
  return out;
}

}  // namespace trainyard
