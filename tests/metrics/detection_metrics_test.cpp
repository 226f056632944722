// Detection policy (runtime/metrics/detection_metrics.hpp): IoU, non-maximum suppression and COCO-style
// AP / AP50 / best F1, each case computed by hand in its comment.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime/metrics/detection_metrics.hpp"

namespace trainyard {
namespace {

box make_box(int label, float x, float y, float w, float h) { return box{label, x, y, w, h}; }
scored_box make_scored(int label, float x, float y, float w, float h, float score) {
  return scored_box{box{label, x, y, w, h}, score};
}

TEST(DetectionIou, Table) {
  struct row {
    const char* name;
    box a, b;
    float expected;
  };
  const std::vector<row> rows{
      {"identical", make_box(0, 0, 0, 10, 10), make_box(0, 0, 0, 10, 10), 1.0f},
      {"disjoint", make_box(0, 0, 0, 10, 10), make_box(0, 20, 20, 5, 5), 0.0f},
      {"touching edges", make_box(0, 0, 0, 10, 10), make_box(0, 10, 0, 10, 10), 0.0f},
      // 50 / (100 + 100 - 50)
      {"half shifted", make_box(0, 0, 0, 10, 10), make_box(0, 5, 0, 10, 10), 1.0f / 3.0f},
      // 25 / 100: a quarter-size box inside
      {"nested", make_box(0, 0, 0, 10, 10), make_box(3, 2, 2, 5, 5), 0.25f},
      {"both empty", make_box(0, 0, 0, 0, 0), make_box(0, 0, 0, 0, 0), 0.0f},
  };
  for (const row& r : rows) {
    EXPECT_NEAR(iou(r.a, r.b), r.expected, 1e-6) << r.name;
    EXPECT_NEAR(iou(r.b, r.a), r.expected, 1e-6) << r.name << " (swapped)";
  }
}

TEST(DetectionNms, Table) {
  struct row {
    const char* name;
    std::vector<scored_box> in;
    float threshold;
    int max_objects;
    std::vector<float> kept_scores;  // in output order
  };
  const std::vector<row> rows{
      {"empty", {}, 0.5f, 10, {}},
      // IoU 0.81 > 0.5: the weaker one goes.
      {"overlap same label",
       {make_scored(0, 1, 0, 10, 10, 0.6f), make_scored(0, 0, 0, 10, 10, 0.9f)},
       0.5f, 10, {0.9f}},
      {"overlap other label kept",
       {make_scored(1, 1, 0, 10, 10, 0.6f), make_scored(0, 0, 0, 10, 10, 0.9f)},
       0.5f, 10, {0.9f, 0.6f}},
      // IoU 1/3 is not above 0.5.
      {"small overlap kept",
       {make_scored(0, 0, 0, 10, 10, 0.9f), make_scored(0, 5, 0, 10, 10, 0.8f)},
       0.5f, 10, {0.9f, 0.8f}},
      // ...but it is above 0.3.
      {"stricter threshold",
       {make_scored(0, 0, 0, 10, 10, 0.9f), make_scored(0, 5, 0, 10, 10, 0.8f)},
       0.3f, 10, {0.9f}},
      // A suppressed box does not suppress others: C overlaps only B (suppressed by A).
      {"chain",
       {make_scored(0, 0, 0, 10, 10, 0.9f), make_scored(0, 2, 0, 10, 10, 0.8f),
        make_scored(0, 9, 0, 10, 10, 0.7f)},
       0.5f, 10, {0.9f, 0.7f}},
      {"max objects",
       {make_scored(0, 0, 0, 5, 5, 0.2f), make_scored(0, 20, 0, 5, 5, 0.9f),
        make_scored(0, 40, 0, 5, 5, 0.5f)},
       0.5f, 2, {0.9f, 0.5f}},
      {"no limit",
       {make_scored(0, 0, 0, 5, 5, 0.2f), make_scored(0, 20, 0, 5, 5, 0.9f)}, 0.5f, 0,
       {0.9f, 0.2f}},
  };
  for (const row& r : rows) {
    const auto kept = non_maximum_suppression(r.in, r.threshold, r.max_objects);
    std::vector<float> scores;
    for (const auto& k : kept)
      scores.push_back(k.score);
    EXPECT_EQ(scores, r.kept_scores) << r.name;
  }
}

TEST(DetectionEvaluation, Table) {
  struct row {
    const char* name;
    std::vector<std::vector<box>> truth;
    std::vector<std::vector<scored_box>> detections;
    int labels;
    double ap, ap50, ap75, best_f1;
    float best_f1_threshold;
  };
  const box a = make_box(0, 10, 10, 20, 20);
  const box b = make_box(1, 50, 50, 20, 10);
  const box c = make_box(0, 60, 10, 10, 10);
  auto det = [](const box& x, float score) { return scored_box{x, score}; };
  const std::vector<row> rows{
      {"perfect",
       {{a, b}, {c}},
       {{det(a, 0.9f), det(b, 0.8f)}, {det(c, 0.7f)}},
       2, 1.0, 1.0, 1.0, 1.0, 0.7f},
      {"nothing detected", {{a, b}, {c}}, {{}, {}}, 2, 0.0, 0.0, 0.0, 0.0, 0.0f},
      // precision [0, 1/2] at recall [0, 1] → interpolated 1/2 everywhere. F1 at 0.8: 2/(2+1).
      {"false positive ranked first",
       {{a}},
       {{det(make_box(0, 70, 70, 5, 5), 0.9f), det(a, 0.8f)}},
       1, 0.5, 0.5, 0.5, 2.0 / 3.0, 0.8f},
      // The second detection of the same box is a false positive after full recall: AP stays 1;
      // F1 is best (1) at the first detection's score.
      {"duplicate detections",
       {{a}},
       {{det(a, 0.9f), det(make_box(0, 11, 10, 20, 20), 0.8f)}},
       1, 1.0, 1.0, 1.0, 1.0, 0.9f},
      // TP .9, FP .8, TP .7 on two boxes: precision [1, .5, 2/3], recall [.5, .5, 1];
      // interpolated 1 for recall <= .5 (51 points), 2/3 above (50 points).
      // F1: .9 → 2/3, .8 → 1/2, .7 → 4/5.
      {"interleaved",
       {{a}, {c}},
       {{det(a, 0.9f), det(make_box(0, 80, 80, 5, 5), 0.8f)}, {det(c, 0.7f)}},
       1, (51 + 50 * 2.0 / 3.0) / 101, (51 + 50 * 2.0 / 3.0) / 101, (51 + 50 * 2.0 / 3.0) / 101,
       0.8, 0.7f},
      // The right place with the wrong label matches nothing; label 1 has no ground truth and is
      // left out of the means, but its detection is a false positive for F1.
      {"wrong label", {{a}}, {{det(make_box(1, 10, 10, 20, 20), 0.9f)}}, 2, 0.0, 0.0, 0.0, 0.0,
       0.0f},
      // Label 0 perfect, label 1 missed: the mean over the two labels is 1/2. F1 2/(1+2).
      {"per label means",
       {{a, b}},
       {{det(a, 0.9f)}},
       2, 0.5, 0.5, 0.5, 2.0 / 3.0, 0.9f},
      // IoU 0.62 (20x12.4 inside 20x20) matches at 0.50, 0.55 and 0.60 only: AP 3/10.
      {"partial overlap",
       {{a}},
       {{det(make_box(0, 10, 10, 20, 12.4f), 0.9f)}},
       1, 0.3, 1.0, 0.0, 1.0, 0.9f},
      // Two detections on the same box at IoU 0.62 and 1: the better scored one is taken first;
      // at IoU >= 0.65 only the exact (lower scored) one matches: precision [0, 1/2].
      {"better box scored lower",
       {{a}},
       {{det(make_box(0, 10, 10, 20, 12.4f), 0.9f), det(a, 0.5f)}},
       1, (3 * 1.0 + 7 * 0.5) / 10, 1.0, 0.5, 1.0, 0.9f},
  };
  for (const row& r : rows) {
    const detection_evaluation e = evaluate_detections(r.truth, r.detections, r.labels);
    EXPECT_NEAR(e.ap, r.ap, 1e-9) << r.name;
    EXPECT_NEAR(e.ap50, r.ap50, 1e-9) << r.name;
    EXPECT_NEAR(e.ap75, r.ap75, 1e-9) << r.name;
    EXPECT_NEAR(e.best_f1, r.best_f1, 1e-9) << r.name;
    EXPECT_FLOAT_EQ(e.best_f1_threshold, r.best_f1_threshold) << r.name;
  }
}

TEST(DetectionEvaluation, PerLabelFiguresAndCounts) {
  // Label 0: one of two boxes found (AP at recall <= 1/2 is 1 → 51/101); label 1: perfect;
  // label 2: no ground truth, reported as 0 and left out.
  const std::vector<std::vector<box>> truth{
      {make_box(0, 0, 0, 10, 10), make_box(1, 30, 30, 10, 10)}, {make_box(0, 0, 0, 10, 10)}};
  const std::vector<std::vector<scored_box>> detections{
      {make_scored(0, 0, 0, 10, 10, 0.9f), make_scored(1, 30, 30, 10, 10, 0.6f)},
      {make_scored(2, 50, 50, 5, 5, 0.3f)}};
  const detection_evaluation e = evaluate_detections(truth, detections, 3);
  ASSERT_EQ(e.label_ap.size(), 3u);
  EXPECT_NEAR(e.label_ap[0], 51.0 / 101, 1e-9);
  EXPECT_NEAR(e.label_ap50[0], 51.0 / 101, 1e-9);
  EXPECT_NEAR(e.label_ap[1], 1.0, 1e-9);
  EXPECT_NEAR(e.label_ap[2], 0.0, 1e-9);
  EXPECT_EQ(e.label_ground_truth, (std::vector<std::int64_t>{2, 1, 0}));
  EXPECT_NEAR(e.ap, (51.0 / 101 + 1.0) / 2, 1e-9);
  EXPECT_EQ(e.images, 2);
  EXPECT_EQ(e.ground_truth, 3);
  EXPECT_EQ(e.detections, 3);
  // F1: at .9 → 2/(1+3); at .6 → 4/(2+3) = .8; at .3 → 4/(3+3).
  EXPECT_NEAR(e.best_f1, 0.8, 1e-9);
  EXPECT_FLOAT_EQ(e.best_f1_threshold, 0.6f);
  EXPECT_NEAR(e.precision_at_best_f1, 1.0, 1e-9);
  EXPECT_NEAR(e.recall_at_best_f1, 2.0 / 3.0, 1e-9);
}

TEST(DetectionEvaluation, TiedScoresCountTogetherForF1) {
  // A false positive and a true positive share score 0.5: the threshold admits both, F1 2/(2+1).
  const std::vector<std::vector<box>> truth{{make_box(0, 0, 0, 10, 10)}};
  const std::vector<std::vector<scored_box>> detections{
      {make_scored(0, 50, 50, 10, 10, 0.5f), make_scored(0, 0, 0, 10, 10, 0.5f)}};
  const detection_evaluation e = evaluate_detections(truth, detections, 1);
  EXPECT_NEAR(e.best_f1, 2.0 / 3.0, 1e-9);
  EXPECT_FLOAT_EQ(e.best_f1_threshold, 0.5f);
}

TEST(DetectionEvaluation, ThresholdsAreCocos) {
  const auto t = coco_iou_thresholds();
  ASSERT_EQ(t.size(), 10u);
  EXPECT_FLOAT_EQ(t.front(), 0.5f);
  EXPECT_FLOAT_EQ(t.back(), 0.95f);
}

// Per label at IoU 0.5 and one score threshold, as a confusion table with a "no box" row and
// column. Image 0: a cat found (0.9), a cat box far off (0.8: a false cat), a dog missed; image 1:
// a dog found (0.7) and a dog below the threshold (0.2) that is not counted at all.
TEST(DetectionConfusion, CountsFoundFalseAndMissedBoxesPerLabelAtTheThreshold) {
  const std::vector<std::vector<box>> truth{
    {make_box(0, 0, 0, 10, 10), make_box(1, 50, 50, 10, 10)}, {make_box(1, 20, 20, 10, 10)}};
  const std::vector<std::vector<scored_box>> found{
    {make_scored(0, 1, 0, 10, 10, 0.9f), make_scored(0, 80, 80, 10, 10, 0.8f)},
    {make_scored(1, 20, 21, 10, 10, 0.7f), make_scored(1, 0, 0, 5, 5, 0.2f)}};
  const auto table = detection_confusion(truth, found, 2, 0.5f);
  ASSERT_EQ(table.size(), 3u);
  EXPECT_EQ(table[0], (std::vector<std::int64_t>{1, 0, 0}));  // cat: 1 found, none missed
  EXPECT_EQ(table[1], (std::vector<std::int64_t>{0, 1, 1}));  // dog: 1 found, 1 missed
  EXPECT_EQ(table[2], (std::vector<std::int64_t>{1, 0, 0}));  // one false cat, no false dog
}

}  // namespace
}  // namespace trainyard
