// Precision, recall and F1 from confusion matrices whose answers are known by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "runtime/metrics/class_scores.hpp"

namespace trainyard {
namespace {

TEST(ClassScores, PrecisionRecallAndF1OfEachClassAndTheirMacroMeans) {
  // Rows: true class; columns: predicted. Class 0: 8 of 10 found, 8 of 9 predictions right.
  const std::vector<std::vector<std::int64_t>> confusion{{8, 2, 0}, {1, 5, 4}, {0, 0, 10}};
  const class_scores s = class_scores_of(confusion);
  EXPECT_DOUBLE_EQ(s.recall[0], 0.8);
  EXPECT_DOUBLE_EQ(s.precision[0], 8.0 / 9.0);
  EXPECT_DOUBLE_EQ(s.f1[0], 2 * 0.8 * (8.0 / 9.0) / (0.8 + 8.0 / 9.0));
  EXPECT_DOUBLE_EQ(s.recall[1], 0.5);
  EXPECT_DOUBLE_EQ(s.precision[1], 5.0 / 7.0);
  EXPECT_DOUBLE_EQ(s.recall[2], 1.0);
  EXPECT_DOUBLE_EQ(s.precision[2], 10.0 / 14.0);
  EXPECT_DOUBLE_EQ(s.macro_recall, (0.8 + 0.5 + 1.0) / 3);
  EXPECT_DOUBLE_EQ(s.macro_precision, (8.0 / 9.0 + 5.0 / 7.0 + 10.0 / 14.0) / 3);
  EXPECT_DOUBLE_EQ(s.macro_f1, (s.f1[0] + s.f1[1] + s.f1[2]) / 3);
}

TEST(ClassScores, AClassWithoutImagesOrNeverPredictedHasNoScoreAndIsLeftOutOfTheMeans) {
  // Class 1 has no images; class 2 has images but is never predicted.
  const std::vector<std::vector<std::int64_t>> confusion{{4, 0, 0}, {0, 0, 0}, {3, 0, 0}};
  const class_scores s = class_scores_of(confusion);
  EXPECT_TRUE(std::isnan(s.recall[1]));
  EXPECT_TRUE(std::isnan(s.precision[1]));
  EXPECT_TRUE(std::isnan(s.f1[1]));
  EXPECT_TRUE(std::isnan(s.precision[2]));
  EXPECT_DOUBLE_EQ(s.recall[2], 0.0);
  EXPECT_DOUBLE_EQ(s.f1[2], 0.0);  // its images were all missed
  EXPECT_DOUBLE_EQ(s.precision[0], 4.0 / 7.0);
  EXPECT_DOUBLE_EQ(s.macro_recall, 0.5);             // classes 0 and 2
  EXPECT_DOUBLE_EQ(s.macro_precision, 4.0 / 7.0);    // class 0 alone
  EXPECT_DOUBLE_EQ(s.macro_f1, (s.f1[0] + 0.0) / 2);  // classes 0 and 2
}

}  // namespace
}  // namespace trainyard
