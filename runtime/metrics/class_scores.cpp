// class_scores_of (class_scores.hpp).
#include "runtime/metrics/class_scores.hpp"

#include <cmath>
#include <limits>

namespace trainyard {

namespace {

constexpr double undefined = std::numeric_limits<double>::quiet_NaN();

double mean_of_defined(const std::vector<double>& values) {
  double sum = 0;
  int count = 0;
  for (double v : values)
    if (!std::isnan(v)) {
      sum += v;
      ++count;
    }
  return count > 0 ? sum / count : undefined;
}

}  // namespace

class_scores class_scores_of(const std::vector<std::vector<std::int64_t>>& confusion) {
  const std::size_t n = confusion.size();
  class_scores s;
  for (std::size_t c = 0; c < n; ++c) {
    std::int64_t images = 0, predicted = 0;
    for (std::size_t k = 0; k < n; ++k) {
      images += confusion[c][k];
      predicted += confusion[k][c];
    }
    const auto right = static_cast<double>(confusion[c][c]);
    const double p = predicted > 0 ? right / static_cast<double>(predicted) : undefined;
    const double r = images > 0 ? right / static_cast<double>(images) : undefined;
    s.precision.push_back(p);
    s.recall.push_back(r);
    if (std::isnan(r))
      s.f1.push_back(undefined);
    else if (std::isnan(p) || p + r == 0)
      s.f1.push_back(0);
    else
      s.f1.push_back(2 * p * r / (p + r));
  }
  s.macro_precision = mean_of_defined(s.precision);
  s.macro_recall = mean_of_defined(s.recall);
  s.macro_f1 = mean_of_defined(s.f1);
  return s;
}

void put_class_scores(const std::vector<std::vector<std::int64_t>>& confusion,
                      const std::vector<std::string>& names, std::size_t first,
                      std::map<std::string, double>& out) {
  const class_scores all = class_scores_of(confusion);
  class_scores kept;
  for (std::size_t c = first; c < names.size() && c < confusion.size(); ++c) {
    kept.precision.push_back(all.precision[c]);
    kept.recall.push_back(all.recall[c]);
    kept.f1.push_back(all.f1[c]);
    using score = std::pair<const char*, double>;
    for (const auto& [name, value] : {score{"precision_", all.precision[c]},
                                      score{"recall_", all.recall[c]}, score{"f1_", all.f1[c]}})
      if (!std::isnan(value))
        out[name + names[c]] = value;
  }
  using score = std::pair<const char*, double>;
  for (const auto& [name, value] : {score{"macro_precision", mean_of_defined(kept.precision)},
                                    score{"macro_recall", mean_of_defined(kept.recall)},
                                    score{"macro_f1", mean_of_defined(kept.f1)}})
    if (!std::isnan(value))
      out[name] = value;
}

}  // namespace trainyard
