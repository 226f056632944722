// Batch-size probing (see batch_size_probe.hpp). Runs on the worker's training thread before the
// first iteration of a job with batch_size = auto; the trials themselves live in the torch runtime
// and come in as callbacks, so this file decides only which sizes to try and which to keep.
#include "runtime/policy/batch_size_probe.hpp"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <limits>
#include <string>

namespace trainyard {

std::string format_bytes(std::uint64_t bytes) {
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(units)) {
    value /= 1024.0;
    ++unit;
  }
  char text[32];
  if (unit == 0)
    std::snprintf(text, sizeof text, "%llu B", static_cast<unsigned long long>(bytes));
  else
    std::snprintf(text, sizeof text, "%.1f %s", value, units[unit]);
  return text;
}

probe_result probe_batch_sizes(const probe_options& options, memory_meter& meter,
                               const batch_trial& train, const batch_trial& infer) {
  probe_result result;
  // A margin outside [0, 1) would allow more than the budget or nothing at all; clamp rather than
  // fail, since the options were already validated where the user wrote them.
  const double margin = std::clamp(options.margin, 0.0, 0.99);
  result.margin = margin;
  result.budget_bytes = meter.budget_bytes();
  const double allowed = static_cast<double>(result.budget_bytes) * (1.0 - margin);

  double best_train = 0;  // best training throughput among the sizes that fit so far
  int slow_in_a_row = 0;  // consecutive fitting sizes below give_up_ratio x best_train
  for (int size = std::max(options.min_batch, 1); size <= options.max_batch;) {
    probe_row row;
    row.batch_size = size;
    meter.reset_peak();
    const trial_result trial = train ? train(size) : trial_result{false, 0, "no training trial"};
    row.peak_bytes = meter.peak_bytes();
    if (!trial.ok) {
      // An allocation failure at this size means every larger size fails too (memory grows with
      // the batch), and retrying would only cost time and fragment the allocator.
      row.note = "allocation failed: " + trial.error;
      result.rows.push_back(std::move(row));
      meter.release_cached();
      break;
    }
    row.train_images_per_s = trial.images_per_s;
    if (static_cast<double>(row.peak_bytes) > allowed) {
      row.note = "peak " + format_bytes(row.peak_bytes) + " exceeds the allowed " +
                 format_bytes(static_cast<std::uint64_t>(allowed)) + " (budget " +
                 format_bytes(result.budget_bytes) + " minus " +
                 std::to_string(static_cast<int>(margin * 100 + 0.5)) + "% margin)";
      result.rows.push_back(std::move(row));
      break;
    }
    row.fits = true;
    if (infer) {
      const trial_result inference = infer(size);
      // A failed inference trial does not disqualify the size for training: inference runs
      // elsewhere later, and the inference choice simply skips this row.
      row.infer_images_per_s = inference.ok ? inference.images_per_s : 0;
      if (!inference.ok) {
        row.note = "inference trial failed: " + inference.error;
        meter.release_cached();
      }
    }
    const double throughput = row.train_images_per_s;
    result.rows.push_back(std::move(row));

    // Past the throughput plateau larger batches only get slower per image; two slow sizes in a
    // row (not one, which may be noise) end the search.
    if (best_train > 0 && throughput < options.give_up_ratio * best_train)
      ++slow_in_a_row;
    else
      slow_in_a_row = 0;
    best_train = std::max(best_train, throughput);
    if (slow_in_a_row >= 2)
      break;

    if (size > std::numeric_limits<int>::max() / 2)
      break;  // doubling would overflow; no device holds such a batch anyway
    size *= 2;
  }

  // Rows are in increasing size, and only a strictly faster row replaces the choice, so ties go
  // to the smaller size (less memory, more optimizer steps per iteration).
  double fastest_train = -1;
  double fastest_infer = 0;
  for (const probe_row& row : result.rows) {
    if (!row.fits)
      continue;
    if (row.train_images_per_s > fastest_train) {
      fastest_train = row.train_images_per_s;
      result.train_batch_size = row.batch_size;
    }
    if (row.infer_images_per_s > fastest_infer) {
      fastest_infer = row.infer_images_per_s;
      result.inference_batch_size = row.batch_size;
    }
  }
  // Without inference measurements (no `infer`, or every inference trial failed) the training
  // choice is the best evidence: it is known to fit, and inference needs less memory.
  if (result.inference_batch_size == 0)
    result.inference_batch_size = result.train_batch_size;
  return result;
}

probe_result agree_batch_sizes(const std::vector<probe_result>& ranks, std::string& why) {
  why.clear();
  if (ranks.empty())
    return {};
  probe_result agreed = ranks.front();
  for (std::size_t r = 0; r < ranks.size(); ++r) {
    const probe_result& own = ranks[r];
    if (own.train_batch_size <= 0) {
      why = "rank " + std::to_string(r) + ": " +
            (own.rows.empty() ? std::string("no batch size fits its device") : own.rows.back().note);
      agreed.train_batch_size = agreed.inference_batch_size = 0;
      return agreed;
    }
    agreed.train_batch_size = std::min(agreed.train_batch_size, own.train_batch_size);
    agreed.inference_batch_size = std::min(agreed.inference_batch_size, own.inference_batch_size);
  }
  return agreed;
}

}  // namespace trainyard
