// Precision, recall and F1 per class from a confusion matrix, and their macro averages: what
// `trainyard evaluate` reports for classify tools (and for any kind whose answers are labels).
// Torch-free.
#pragma once

#include <cstdint>
#include <vector>

namespace trainyard {

/// Per-class scores; NaN where a score is undefined (see class_scores_of).
struct class_scores {
  std::vector<double> precision;  ///< right / predicted as the class
  std::vector<double> recall;     ///< right / images of the class (the per-class accuracy)
  std::vector<double> f1;         ///< 2 P R / (P + R); 0 when both are 0
  /// Means over the classes where each is defined (a class without images has no recall, one
  /// never predicted no precision); NaN when no class has it.
  double macro_precision = 0, macro_recall = 0, macro_f1 = 0;
};

/// Scores of `confusion` [true class][predicted class]. A class without images has NaN recall
/// and F1; a class never predicted has NaN precision (and F1 0 when it has images: none of them
/// was found).
class_scores class_scores_of(const std::vector<std::vector<std::int64_t>>& confusion);

}  // namespace trainyard
