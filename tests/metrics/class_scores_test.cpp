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

// segment's background (class 0) and locate's "no box" (the last class) count only as wrong
// answers: they get no scores of their own and stay out of the macro means.
TEST(ClassScores, PutClassScoresNamesEachClassAndLeavesTheOthersOutOfTheMeans) {
  // Background, cat, dog. Cat: 6 of 8 found, 6 of 9 predicted right; dog never present, never
  // predicted: no scores.
  const std::vector<std::vector<std::int64_t>> confusion{{50, 3, 0}, {2, 6, 0}, {0, 0, 0}};
  std::map<std::string, double> out;
  put_class_scores(confusion, {"background", "cat", "dog"}, 1, out);
  EXPECT_DOUBLE_EQ(out.at("precision_cat"), 6.0 / 9);
  EXPECT_DOUBLE_EQ(out.at("recall_cat"), 6.0 / 8);
  EXPECT_NEAR(out.at("f1_cat"), 2 * (6.0 / 9) * 0.75 / (6.0 / 9 + 0.75), 1e-12);
  EXPECT_EQ(out.count("precision_background"), 0u);
  EXPECT_EQ(out.count("recall_dog"), 0u);
  EXPECT_DOUBLE_EQ(out.at("macro_precision"), 6.0 / 9);
  EXPECT_DOUBLE_EQ(out.at("macro_recall"), 0.75);
}

}  // namespace
}  // namespace trainyard
