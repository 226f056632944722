// Tests of the progression estimate a user sees for a job: fraction done, expected end iteration
// and ETA, for fixed-count and auto (early-stopping) jobs, from plain numbers (no clock).
#include "runtime/policy/progression.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

namespace trainyard {
namespace {

struct progression_case {
  std::string name;
  progression_input in;
  double fraction;
  int target;
  double eta;  // -1: unknown
};

// Failure messages name the table row instead of dumping its bytes.
void PrintTo(const progression_case& c, std::ostream* os) { *os << c.name; }

progression_input fixed_job(int first, int completed, int target, std::vector<double> seconds,
                            double into_current = 0) {
  progression_input in;
  in.first_iteration = first;
  in.completed_iteration = completed;
  in.max_iteration = target;
  in.iteration_seconds = std::move(seconds);
  in.seconds_into_current = into_current;
  return in;
}

progression_input auto_job(int first, int completed, int cap, int patience, int counter,
                           std::vector<double> seconds, double into_current = 0) {
  progression_input in = fixed_job(first, completed, cap, std::move(seconds), into_current);
  in.automatic = true;
  in.patience = patience;
  in.patience_counter = counter;
  in.best_iteration = completed - counter;
  return in;
}

progression_input finished(progression_input in) {
  in.finished = true;
  return in;
}

class ProgressionEstimate : public testing::TestWithParam<progression_case> {};

TEST_P(ProgressionEstimate, GivesFractionTargetAndEta) {
  const progression_case& c = GetParam();
  const progression p = estimate_progression(c.in);
  EXPECT_NEAR(p.fraction, c.fraction, 1e-9);
  EXPECT_EQ(p.target_iterations, c.target);
  EXPECT_NEAR(p.eta_seconds, c.eta, 1e-9);
  EXPECT_EQ(p.iteration, c.in.completed_iteration);
  EXPECT_EQ(p.best_iteration, c.in.best_iteration);
  EXPECT_GE(p.fraction, 0.0);
  EXPECT_LE(p.fraction, 1.0);
}

INSTANTIATE_TEST_SUITE_P(
    Progression, ProgressionEstimate,
    testing::Values(
        // Fixed count: 10 iterations from a fresh tool.
        progression_case{"fixed_not_started", fixed_job(0, 0, 10, {}), 0.0, 10, -1},
        progression_case{"fixed_first_running_without_timing", fixed_job(0, 0, 10, {}, 30.0),
                         0.0, 10, -1},
        progression_case{"fixed_halfway", fixed_job(0, 5, 10, {10, 12, 8, 10, 10}), 0.5, 10,
                         50.0},
        progression_case{"fixed_halfway_into_the_sixth", fixed_job(0, 5, 10, {10, 10}, 4.0),
                         0.54, 10, 46.0},
        // The running iteration takes longer than the mean: it counts at most 0.99 of one, and
        // the ETA does not go below 0.
        progression_case{"fixed_last_iteration_overrunning", fixed_job(0, 9, 10, {10}, 25.0),
                         0.999, 10, 0.0},
        progression_case{"fixed_all_iterations_reported", fixed_job(0, 10, 10, {10}, 3.0), 1.0,
                         10, 0.0},
        // Continue training: the tool had 20 iterations, this job adds 10 (ends at 30).
        progression_case{"continued_job_counts_only_its_own",
                         fixed_job(20, 24, 30, {6, 6, 6, 6}), 0.4, 30, 36.0},
        // Degenerate targets do not divide by zero.
        progression_case{"target_equals_first", fixed_job(20, 20, 20, {}), 1.0, 20, -1},
        progression_case{"target_below_first", fixed_job(20, 20, 15, {5}), 1.0, 20, 0.0},
        progression_case{"negative_time_into_current_is_ignored",
                         fixed_job(0, 2, 4, {10, 10}, -5.0), 0.5, 4, 20.0},
        // Auto: the end is the earlier of the cap and completed + patience - counter.
        progression_case{"auto_improving_ends_patience_later",
                         auto_job(0, 4, 30, 3, 0, {10, 10, 10, 10}), 4.0 / 7.0, 7, 30.0},
        progression_case{"auto_stalling_ends_sooner", auto_job(0, 6, 30, 3, 2, {10}), 6.0 / 7.0,
                         7, 10.0},
        progression_case{"auto_stall_rule_fired", auto_job(0, 6, 30, 3, 3, {10}), 1.0, 6, 0.0},
        progression_case{"auto_near_the_cap", auto_job(0, 28, 30, 5, 0, {10}), 28.0 / 30.0, 30,
                         20.0},
        progression_case{"auto_no_cap", auto_job(0, 10, 0, 4, 1, {5}), 10.0 / 13.0, 13, 15.0},
        progression_case{"auto_without_patience_runs_to_the_cap", auto_job(0, 10, 20, 0, 3, {5}),
                         0.5, 20, 50.0},
        progression_case{"auto_unbounded_is_unknown", auto_job(0, 10, 0, 0, 0, {5}), 0.0, 0, -1},
        progression_case{"auto_continued", auto_job(10, 12, 40, 3, 1, {4, 4}, 2.0),
                         2.5 / 4.0, 14, 6.0},
        // Over: whatever ended it, done is done.
        progression_case{"finished_fixed", finished(fixed_job(0, 10, 10, {10})), 1.0, 10, 0.0},
        progression_case{"stopped_early_by_a_person", finished(fixed_job(0, 4, 10, {10}, 3.0)),
                         1.0, 4, 0.0},
        progression_case{"failed_before_any_iteration", finished(fixed_job(0, 0, 10, {})), 1.0,
                         0, 0.0},
        progression_case{"auto_finished_by_early_stopping",
                         finished(auto_job(0, 9, 30, 3, 3, {10})), 1.0, 9, 0.0}),
    [](const testing::TestParamInfo<progression_case>& info) { return info.param.name; });

TEST(Progression, FractionNeverDecreasesWhileAnIterationRuns) {
  // A monitor polls during iteration 3 of 4 (mean 10 s): the bar moves forward and stops short of
  // the next whole iteration until the report arrives.
  double last = -1;
  for (double into = 0; into <= 40; into += 2.5) {
    const progression p = estimate_progression(fixed_job(0, 2, 4, {10, 10}, into));
    EXPECT_GE(p.fraction, last) << into;
    EXPECT_LT(p.fraction, 0.75) << into;
    EXPECT_GE(p.eta_seconds, 0) << into;
    last = p.fraction;
  }
}

TEST(Progression, EtaUsesTheMeanOfThisJobsIterations) {
  const progression p = estimate_progression(fixed_job(0, 3, 6, {5, 10, 15}, 1.0));
  EXPECT_DOUBLE_EQ(p.eta_seconds, 3 * 10.0 - 1.0);
}

}  // namespace
}  // namespace trainyard
