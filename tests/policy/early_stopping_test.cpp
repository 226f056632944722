// Tests of the early-stopping rule: at which iteration training stops for a given metric history,
// which iteration's weights are kept as the best, and that a continued training resumes the rule.
#include "runtime/policy/early_stopping.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

namespace trainyard {
namespace {

struct history_case {
  std::string name;
  early_stopping_rule rule;
  std::vector<double> values;  // metric of iterations 1, 2, 3, ...
  int stop_at;                 // iteration after which training stops; 0 = never within values
  int best_iteration;          // best iteration when it stops (or after the last value)
  std::string reason_part;     // a piece of the reason the user reads
};

// Failure messages name the table row instead of dumping its bytes.
void PrintTo(const history_case& c, std::ostream* os) { *os << c.name; }

early_stopping_rule rule(int patience, double min_delta, int max_iterations,
                         metric_goal goal = metric_goal::maximize) {
  early_stopping_rule r;
  r.patience = patience;
  r.min_delta = min_delta;
  r.max_iterations = max_iterations;
  r.goal = goal;
  return r;
}

class EarlyStoppingHistory : public testing::TestWithParam<history_case> {};

TEST_P(EarlyStoppingHistory, StopsAtTheRightIterationAndKeepsTheBest) {
  const history_case& c = GetParam();
  early_stopping_state state;
  int stopped_at = 0;
  int last_improved = 0;
  std::string reason;
  for (std::size_t i = 0; i < c.values.size(); ++i) {
    const int iteration = static_cast<int>(i) + 1;
    const early_stopping_decision d = observe(c.rule, state, iteration, c.values[i]);
    if (d.improved)
      last_improved = iteration;
    // What the trainer keeps as best weights must agree with what the state remembers.
    EXPECT_EQ(state.best_iteration, last_improved) << "iteration " << iteration;
    EXPECT_EQ(state.counter, iteration - last_improved) << "iteration " << iteration;
    if (d.stop) {
      stopped_at = iteration;
      reason = d.reason;
      break;
    }
    EXPECT_TRUE(d.reason.empty());
  }
  EXPECT_EQ(stopped_at, c.stop_at);
  EXPECT_EQ(state.best_iteration, c.best_iteration);
  EXPECT_NE(reason.find(c.reason_part), std::string::npos) << reason;
}

INSTANTIATE_TEST_SUITE_P(
    EarlyStopping, EarlyStoppingHistory,
    testing::Values(
        history_case{"stalled_metric_stops_after_patience", rule(3, 0.001, 30),
                     {0.5, 0.7, 0.8, 0.9012, 0.90, 0.89, 0.9013, 0.95},
                     7, 4,
                     "no improvement of at least 0.001 in 3 iterations (best 0.9012 at "
                     "iteration 4)"},
        history_case{"improvement_resets_the_counter", rule(2, 0.0, 30),
                     {0.1, 0.1, 0.2, 0.15, 0.3, 0.3, 0.3},
                     7, 5, "in 2 iterations (best 0.3 at iteration 5)"},
        history_case{"gain_below_min_delta_is_not_improvement", rule(2, 0.01, 30),
                     {0.5, 0.505, 0.509, 0.6},
                     3, 1, "no improvement of at least 0.01 in 2 iterations"},
        history_case{"gain_equal_to_min_delta_is_not_improvement", rule(1, 0.25, 30),
                     {0.5, 0.75},
                     2, 1, "in 1 iteration (best 0.5 at iteration 1)"},
        history_case{"minimize_goal", rule(2, 0.01, 30, metric_goal::minimize),
                     {1.0, 0.8, 0.9, 0.795, 0.5},
                     4, 2, "(best 0.8 at iteration 2)"},
        history_case{"minimize_keeps_improving", rule(2, 0.01, 0, metric_goal::minimize),
                     {1.0, 0.9, 0.8, 0.7, 0.6},
                     0, 5, ""},
        history_case{"cap_stops_an_improving_metric", rule(3, 0.001, 4),
                     {0.1, 0.2, 0.3, 0.4, 0.5},
                     4, 4, "reached max_iterations 4"},
        history_case{"no_cap_never_stops_while_improving", rule(3, 0.001, 0),
                     {0.1, 0.2, 0.3, 0.4, 0.5, 0.6},
                     0, 6, ""},
        history_case{"zero_patience_ignores_stalls", rule(0, 0.001, 5),
                     {0.9, 0.1, 0.1, 0.1, 0.1, 0.1},
                     5, 1, "reached max_iterations 5"},
        history_case{"first_observation_is_best_even_if_bad", rule(3, 0.001, 30),
                     {0.0, 0.0, 0.0, 0.0},
                     4, 1, "(best 0 at iteration 1)"},
        history_case{"nan_never_improves", rule(2, 0.001, 30),
                     {0.4, std::nan(""), 0.41, std::nan(""), std::nan("")},
                     5, 3, "(best 0.41 at iteration 3)"},
        history_case{"real_value_beats_a_nan_first_iteration", rule(2, 0.001, 30),
                     {std::nan(""), 0.1, 0.1, 0.1},
                     4, 2, "(best 0.1 at iteration 2)"}),
    [](const testing::TestParamInfo<history_case>& info) { return info.param.name; });

TEST(EarlyStopping, FirstObservationAlwaysImproves) {
  for (metric_goal goal : {metric_goal::maximize, metric_goal::minimize}) {
    early_stopping_state state;
    const auto d = observe(rule(3, 0.001, 30, goal), state, 1, -5.0);
    EXPECT_TRUE(d.improved);
    EXPECT_FALSE(d.stop);
    EXPECT_TRUE(state.has_best);
    EXPECT_EQ(state.best_value, -5.0);
    EXPECT_EQ(state.best_iteration, 1);
    EXPECT_EQ(state.counter, 0);
  }
}

TEST(EarlyStopping, ResumingFromASavedStateContinuesTheCounter) {
  const early_stopping_rule r = rule(3, 0.001, 0);
  // First job: 5 iterations, best at 3, then two without improvement.
  early_stopping_state first;
  for (auto [iteration, value] : std::vector<std::pair<int, double>>{
           {1, 0.5}, {2, 0.6}, {3, 0.7}, {4, 0.69}, {5, 0.7}}) {
    EXPECT_FALSE(observe(r, first, iteration, value).stop) << iteration;
  }
  ASSERT_EQ(first.counter, 2);

  // The tool is saved and a continued training starts from the saved state: one more stalled
  // iteration is enough to stop, and the best stays at iteration 3.
  early_stopping_state resumed = first;
  const auto d = observe(r, resumed, 6, 0.6995);
  EXPECT_TRUE(d.stop);
  EXPECT_FALSE(d.improved);
  EXPECT_EQ(resumed.best_iteration, 3);
  EXPECT_EQ(resumed.counter, 3);
  EXPECT_NE(d.reason.find("best 0.7 at iteration 3"), std::string::npos) << d.reason;

  // An improvement in the continued training resets the counter and moves the best.
  early_stopping_state improving = first;
  const auto better = observe(r, improving, 6, 0.75);
  EXPECT_TRUE(better.improved);
  EXPECT_FALSE(better.stop);
  EXPECT_EQ(improving.best_iteration, 6);
  EXPECT_EQ(improving.counter, 0);
}

TEST(EarlyStopping, CapAppliesToToolWideIterations) {
  // A continued training counts iterations over the tool's life: iteration 31 is past a cap of 30.
  early_stopping_state state;
  const auto d = observe(rule(3, 0.001, 30), state, 31, 0.9);
  EXPECT_TRUE(d.improved);
  EXPECT_TRUE(d.stop);
  EXPECT_EQ(d.reason, "reached max_iterations 30");
}

}  // namespace
}  // namespace trainyard
