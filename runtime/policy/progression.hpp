// Progression of a job: fraction done in [0, 1], ETA. Pure: time comes in as arguments.
#pragma once

#include <vector>

namespace trainyard {

struct progression {
  double fraction = 0;        ///< in [0, 1]
  int iteration = 0;          ///< iterations completed
  int target_iterations = 0;  ///< the iteration the estimate expects the job to end at
  int best_iteration = 0;
  double eta_seconds = -1;    ///< seconds left; -1 when unknown (no iteration finished yet)
};

/// Inputs of the estimate, all known to the scheduler from iteration reports.
struct progression_input {
  int first_iteration = 0;      ///< the tool's iteration count when this job started
  int completed_iteration = 0;  ///< last completed iteration (tool-wide count)
  int max_iteration = 0;        ///< the job's target (fixed count) or cap (auto)
  bool automatic = false;       ///< iterations = auto: early stopping may end sooner
  int patience = 0;             ///< auto: patience of the rule
  int patience_counter = 0;     ///< auto: iterations since the best
  int best_iteration = 0;
  std::vector<double> iteration_seconds;  ///< durations of this job's completed iterations
  double seconds_into_current = 0;        ///< time spent on the iteration now running
  bool finished = false;                  ///< the job is over: fraction 1, eta 0
};

/// For auto jobs the expected end is the earlier of the cap and the iteration at which early
/// stopping fires if the metric does not improve again (completed + patience - counter); the
/// running iteration counts by its elapsed share of the mean iteration time, capped below 1.
progression estimate_progression(const progression_input& in);

}  // namespace trainyard
