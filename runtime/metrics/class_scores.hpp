// Precision, recall and F1 per class from a confusion matrix, and their macro averages: what
// `trainyard evaluate` reports for classify tools (and for any kind whose answers are labels).
// Torch-free.
#pragma once

#include <cstdint>
#include <map>
#include <string>
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

/// The scores of classes [first, names.size()) of `confusion` as metrics: precision_NAME,
/// recall_NAME and f1_NAME where defined, and macro_precision, macro_recall and macro_f1, their
/// means over those classes. The other rows and columns of `confusion` (segment's background,
/// locate's "no box") count as wrong answers only. What `evaluate` reports for segment and locate.
void put_class_scores(const std::vector<std::vector<std::int64_t>>& confusion,
                      const std::vector<std::string>& names, std::size_t first,
                      std::map<std::string, double>& out);

}  // namespace trainyard
