// The learning-rate schedules: where each starts, peaks and ends.
#include "runtime/policy/learning_rate.hpp"

#include <gtest/gtest.h>

namespace trainyard {

TEST(LearningRate, ConstantIsOneThroughout) {
  for (double p : {0.0, 0.3, 0.99})
    EXPECT_DOUBLE_EQ(learning_rate_factor("constant", 0.25, p), 1.0);
}

TEST(LearningRate, OneCycleRisesToItsPeakAtTheWarmupThenFallsToZero) {
  EXPECT_DOUBLE_EQ(learning_rate_factor("one_cycle", 0.25, 0.0), 0.1);
  EXPECT_DOUBLE_EQ(learning_rate_factor("one_cycle", 0.25, 0.25), 1.0);
  EXPECT_NEAR(learning_rate_factor("one_cycle", 0.25, 0.625), 0.5, 1e-12);
  EXPECT_NEAR(learning_rate_factor("one_cycle", 0.25, 1.0), 0.0, 1e-12);
  EXPECT_LT(learning_rate_factor("one_cycle", 0.25, 0.1), learning_rate_factor("one_cycle", 0.25, 0.2));
}

TEST(LearningRate, CosineWithoutWarmupStartsAtThePeakAndEndsAtFivePercent) {
  EXPECT_DOUBLE_EQ(learning_rate_factor("cosine", 0.0, 0.0), 1.0);
  EXPECT_NEAR(learning_rate_factor("cosine", 0.0, 0.5), 0.525, 1e-12);
  EXPECT_NEAR(learning_rate_factor("cosine", 0.0, 1.0), 0.05, 1e-12);
  EXPECT_NEAR(learning_rate_factor("cosine", 0.2, 0.1), 0.55, 1e-12);
}

TEST(LearningRate, ProgressCountsTheJobsStepsAcrossIterations) {
  EXPECT_DOUBLE_EQ(schedule_progress(0, 0, 10, 4), 0.0);
  EXPECT_DOUBLE_EQ(schedule_progress(1, 5, 10, 4), 15.0 / 40.0);
  EXPECT_DOUBLE_EQ(schedule_progress(3, 9, 10, 4), 39.0 / 40.0);
  EXPECT_DOUBLE_EQ(schedule_progress(0, 0, 0, 4), 0.0);
}

}  // namespace trainyard
