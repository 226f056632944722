// Detection policy of the `locate` tool on plain vectors: box overlap, greedy non-maximum
// suppression, and COCO-style evaluation of detections against ground truth (AP over IoU
// 0.50:0.05:0.95 with 101-point interpolated precision, AP50, per-label AP, best F1).
// Torch-free and clock-free: the models (runtime/tasks/locate/detector.cpp) decode their outputs into
// scored_box vectors and call these; the CLI's evaluate and the engine's metrics use them too.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/data/annotations.hpp"

namespace trainyard {

/// Intersection over union of two boxes ([x, x + width) x [y, y + height)); 0 when both are empty.
/// Labels are ignored.
float iou(const box& a, const box& b);

/// Greedy, class-aware non-maximum suppression: boxes by decreasing score (ties keep input
/// order); a box is dropped when its IoU with a kept box of the same label exceeds
/// `iou_threshold`. Keeps at most `max_objects` boxes (<= 0: no limit), best first.
std::vector<scored_box> non_maximum_suppression(std::vector<scored_box> boxes,
                                                float iou_threshold, int max_objects);

/// The IoU thresholds of COCO's AP: 0.50, 0.55, ..., 0.95.
std::vector<float> coco_iou_thresholds();

/// Detection quality on a set of images.
struct detection_evaluation {
  double ap = 0;    ///< mean over labels with ground truth of AP at IoU 0.50:0.05:0.95
  double ap50 = 0;  ///< the same at IoU 0.5 only
  double ap75 = 0;  ///< the same at IoU 0.75 only
  std::vector<double> label_ap;     ///< per label, 0.50:0.95 (0 for labels without ground truth)
  std::vector<double> label_ap50;   ///< per label, at IoU 0.5
  std::vector<std::int64_t> label_ground_truth;  ///< ground-truth boxes per label
  /// Best F1 over score thresholds, matching at IoU 0.5 (all labels pooled), and the least score
  /// a detection needs to count at that F1 (the highest such threshold when several tie).
  double best_f1 = 0;
  float best_f1_threshold = 0;
  double precision_at_best_f1 = 0, recall_at_best_f1 = 0;
  std::int64_t images = 0, ground_truth = 0, detections = 0;
};

/// Evaluates `detections[i]` against `truth[i]` for every image i (both in the same pixels).
/// Per label and IoU threshold, detections sorted by decreasing score (ties keep image then input
/// order) each match the unmatched ground-truth box of the same image and label with the highest
/// IoU at or above the threshold; precision is made non-increasing and read at recalls
/// 0, 0.01, ..., 1 (0 beyond the highest recall reached). Labels without ground truth are left out
/// of the means (their detections still count as false positives in F1). `labels` is the number of
/// labels; boxes with a label outside [0, labels) are ignored. Sizes of the two vectors must match
/// (the shorter one bounds the images read).
detection_evaluation evaluate_detections(const std::vector<std::vector<box>>& truth,
                                         const std::vector<std::vector<scored_box>>& detections,
                                         int labels);

/// The detections with a score of at least `min_score` against the truth, per label at IoU 0.5,
/// as a confusion table of labels + 1 rows (true) and columns (found), the last one standing for
/// "no box": a detection of label l that matches a true box of label l counts at [l][l], one that
/// matches none at [labels][l], and a true box of label l that no detection matched at
/// [l][labels]. Matching as in evaluate_detections. For per-label precision, recall and F1
/// (class_scores.hpp) at the threshold predict uses.
std::vector<std::vector<std::int64_t>> detection_confusion(
  const std::vector<std::vector<box>>& truth,
  const std::vector<std::vector<scored_box>>& detections, int labels, float min_score);

}  // namespace trainyard
