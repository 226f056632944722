// Detection policy: IoU, non-maximum suppression and COCO-style evaluation (see the header).
// The matching follows pycocotools' evaluateImg without crowd boxes or area ranges, and with no
// per-image cap on detections (decoding already keeps at most max_objects per image).
#include "runtime/metrics/detection_metrics.hpp"

#include <algorithm>
#include <cstddef>
#include <numeric>

namespace trainyard {

float iou(const box& a, const box& b) {
  const float ix = std::min(a.x + a.width, b.x + b.width) - std::max(a.x, b.x);
  const float iy = std::min(a.y + a.height, b.y + b.height) - std::max(a.y, b.y);
  const float inter = ix > 0 && iy > 0 ? ix * iy : 0.0f;
  const float area_a = std::max(a.width, 0.0f) * std::max(a.height, 0.0f);
  const float area_b = std::max(b.width, 0.0f) * std::max(b.height, 0.0f);
  const float uni = area_a + area_b - inter;
  return uni > 0 ? inter / uni : 0.0f;
}

std::vector<scored_box> non_maximum_suppression(std::vector<scored_box> boxes,
                                                float iou_threshold, int max_objects) {
  std::stable_sort(boxes.begin(), boxes.end(),
                   [](const scored_box& a, const scored_box& b) { return a.score > b.score; });
  std::vector<scored_box> kept;
  for (const scored_box& candidate : boxes) {
    if (max_objects > 0 && kept.size() >= static_cast<std::size_t>(max_objects))
      break;
    const bool suppressed = std::any_of(kept.begin(), kept.end(), [&](const scored_box& k) {
      return k.b.label == candidate.b.label && iou(k.b, candidate.b) > iou_threshold;
    });
    if (!suppressed)
      kept.push_back(candidate);
  }
  return kept;
}

std::vector<float> coco_iou_thresholds() {
  std::vector<float> t;
  for (int i = 0; i < 10; ++i)
    t.push_back(0.5f + 0.05f * static_cast<float>(i));
  return t;
}

namespace {

// One detection of one label, in evaluation order.
struct ranked_detection {
  std::size_t image = 0;
  const box* b = nullptr;
  float score = 0;
};

// Per detection (in `ranked` order): matched a ground-truth box at IoU >= threshold.
std::vector<bool> match(const std::vector<ranked_detection>& ranked,
                        const std::vector<std::vector<const box*>>& truth_of_image,
                        float threshold) {
  std::vector<std::vector<bool>> taken(truth_of_image.size());
  for (std::size_t i = 0; i < truth_of_image.size(); ++i)
    taken[i].assign(truth_of_image[i].size(), false);
  std::vector<bool> tp(ranked.size(), false);
  for (std::size_t d = 0; d < ranked.size(); ++d) {
    const auto& gts = truth_of_image[ranked[d].image];
    float best = threshold;
    int best_index = -1;
    for (std::size_t g = 0; g < gts.size(); ++g) {
      if (taken[ranked[d].image][g])
        continue;
      const float overlap = iou(*ranked[d].b, *gts[g]);
      if (overlap >= best) {
        // Strictly better than an earlier candidate, or the first at the threshold.
        if (best_index < 0 || overlap > best) {
          best = overlap;
          best_index = static_cast<int>(g);
        }
      }
    }
    if (best_index >= 0) {
      taken[ranked[d].image][static_cast<std::size_t>(best_index)] = true;
      tp[d] = true;
    }
  }
  return tp;
}

// 101-point interpolated average precision of a ranked list of hits.
double average_precision(const std::vector<bool>& tp, std::int64_t ground_truth) {
  if (ground_truth <= 0 || tp.empty())
    return 0;
  std::vector<double> precision(tp.size()), recall(tp.size());
  double hits = 0;
  for (std::size_t i = 0; i < tp.size(); ++i) {
    hits += tp[i] ? 1 : 0;
    precision[i] = hits / static_cast<double>(i + 1);
    recall[i] = hits / static_cast<double>(ground_truth);
  }
  for (std::size_t i = tp.size() - 1; i > 0; --i)
    precision[i - 1] = std::max(precision[i - 1], precision[i]);
  double sum = 0;
  std::size_t at = 0;
  for (int k = 0; k <= 100; ++k) {
    const double r = k / 100.0;
    while (at < recall.size() && recall[at] < r - 1e-12)
      ++at;
    if (at == recall.size())
      break;  // recalls beyond the highest reached add 0
    sum += precision[at];
  }
  return sum / 101.0;
}

}  // namespace

detection_evaluation evaluate_detections(const std::vector<std::vector<box>>& truth,
                                         const std::vector<std::vector<scored_box>>& detections,
                                         int labels) {
  detection_evaluation e;
  const std::size_t images = std::min(truth.size(), detections.size());
  e.images = static_cast<std::int64_t>(images);
  const std::size_t label_count = static_cast<std::size_t>(std::max(labels, 0));
  e.label_ap.assign(label_count, 0.0);
  e.label_ap50.assign(label_count, 0.0);
  e.label_ground_truth.assign(label_count, 0);

  const std::vector<float> thresholds = coco_iou_thresholds();
  // F1 at IoU 0.5: every detection's score and whether it matched, all labels pooled.
  std::vector<std::pair<float, bool>> scored_hits;
  int labels_with_truth = 0;
  double sum_ap = 0, sum_ap50 = 0, sum_ap75 = 0;

  for (std::size_t label = 0; label < label_count; ++label) {
    const int l = static_cast<int>(label);
    std::vector<std::vector<const box*>> truth_of_image(images);
    std::vector<ranked_detection> ranked;
    for (std::size_t i = 0; i < images; ++i) {
      for (const box& b : truth[i])
        if (b.label == l)
          truth_of_image[i].push_back(&b);
      for (const scored_box& d : detections[i])
        if (d.b.label == l)
          ranked.push_back(ranked_detection{i, &d.b, d.score});
      e.label_ground_truth[label] += static_cast<std::int64_t>(truth_of_image[i].size());
    }
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const ranked_detection& a, const ranked_detection& b) {
                       return a.score > b.score;
                     });
    e.ground_truth += e.label_ground_truth[label];
    e.detections += static_cast<std::int64_t>(ranked.size());

    double label_sum = 0;
    for (std::size_t t = 0; t < thresholds.size(); ++t) {
      const std::vector<bool> tp = match(ranked, truth_of_image, thresholds[t]);
      const double ap = average_precision(tp, e.label_ground_truth[label]);
      label_sum += ap;
      if (t == 0) {
        e.label_ap50[label] = ap;
        for (std::size_t d = 0; d < ranked.size(); ++d)
          scored_hits.emplace_back(ranked[d].score, tp[d]);
      }
      if (t == 5 && e.label_ground_truth[label] > 0)
        sum_ap75 += ap;
    }
    e.label_ap[label] = label_sum / static_cast<double>(thresholds.size());
    if (e.label_ground_truth[label] > 0) {
      ++labels_with_truth;
      sum_ap += e.label_ap[label];
      sum_ap50 += e.label_ap50[label];
    }
  }
  if (labels_with_truth > 0) {
    e.ap = sum_ap / labels_with_truth;
    e.ap50 = sum_ap50 / labels_with_truth;
    e.ap75 = sum_ap75 / labels_with_truth;
  }

  // Best F1: walk the pooled detections by decreasing score; a threshold admits every detection
  // with at least its score, so ties are taken together.
  std::stable_sort(scored_hits.begin(), scored_hits.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  double hits = 0;
  for (std::size_t i = 0; i < scored_hits.size(); ++i) {
    hits += scored_hits[i].second ? 1 : 0;
    if (i + 1 < scored_hits.size() && scored_hits[i + 1].first == scored_hits[i].first)
      continue;
    const double kept = static_cast<double>(i + 1);
    const double denominator = kept + static_cast<double>(e.ground_truth);
    const double f1 = denominator > 0 ? 2 * hits / denominator : 0;
    if (f1 > e.best_f1) {
      e.best_f1 = f1;
      e.best_f1_threshold = scored_hits[i].first;
      e.precision_at_best_f1 = hits / kept;
      e.recall_at_best_f1 = e.ground_truth > 0 ? hits / static_cast<double>(e.ground_truth) : 0;
    }
  }
  return e;
}

std::vector<std::vector<std::int64_t>> detection_confusion(
  const std::vector<std::vector<box>>& truth,
  const std::vector<std::vector<scored_box>>& detections, int labels, float min_score) {
  const std::size_t images = std::min(truth.size(), detections.size());
  const std::size_t n = static_cast<std::size_t>(std::max(labels, 0));
  std::vector<std::vector<std::int64_t>> table(n + 1, std::vector<std::int64_t>(n + 1, 0));
  for (std::size_t label = 0; label < n; ++label) {
    const int l = static_cast<int>(label);
    std::vector<std::vector<const box*>> truth_of_image(images);
    std::vector<ranked_detection> ranked;
    std::int64_t true_boxes = 0;
    for (std::size_t i = 0; i < images; ++i) {
      for (const box& b : truth[i])
        if (b.label == l)
          truth_of_image[i].push_back(&b);
      true_boxes += static_cast<std::int64_t>(truth_of_image[i].size());
      for (const scored_box& d : detections[i])
        if (d.b.label == l && d.score >= min_score)
          ranked.push_back(ranked_detection{i, &d.b, d.score});
    }
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const ranked_detection& a, const ranked_detection& b) {
                       return a.score > b.score;
                     });
    const std::vector<bool> tp = match(ranked, truth_of_image, 0.5f);
    const auto hits = static_cast<std::int64_t>(std::count(tp.begin(), tp.end(), true));
    table[label][label] = hits;
    table[n][label] = static_cast<std::int64_t>(ranked.size()) - hits;
    table[label][n] = true_boxes - hits;
  }
  return table;
}

}  // namespace trainyard
