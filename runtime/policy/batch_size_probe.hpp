// Batch-size probing: try powers of two, measure throughput and peak memory of each, recover from
// allocation failures, and choose the fastest size that fits the memory budget with a margin.
// Pure: the trials and the memory readings come in through callbacks and an interface, so tests
// give it a small simulated budget and simulated allocation failures.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "runtime/core/reports.hpp"

namespace trainyard {

/// Memory readings of one device (the CPU: RAM; a GPU: its memory).
class memory_meter {
 public:
  virtual ~memory_meter() = default;
  /// Bytes training may use on the device in total.
  virtual std::uint64_t budget_bytes() = 0;
  /// Starts a measurement: the next peak_bytes() reports the peak since this call.
  virtual void reset_peak() = 0;
  /// Peak bytes in use since reset_peak().
  virtual std::uint64_t peak_bytes() = 0;
  /// After a trial failed to allocate: returns what the device's allocator keeps cached to the
  /// device (a GPU: LibTorch's caching allocator), so the failure leaves the worker usable and
  /// the job trains with what it frees. Default: nothing to return (the CPU).
  virtual void release_cached() {}
};

/// Bytes as a row note and a report say them, "812.5 MiB": budgets span bytes (tests) to tens
/// of GiB (GPUs), and a note must stay readable.
std::string format_bytes(std::uint64_t bytes);

/// Result of one timed trial at one batch size.
struct trial_result {
  bool ok = false;            ///< false: allocation (or another) failure
  double images_per_s = 0;    ///< measured throughput when ok
  std::string error;          ///< what failed when !ok
};

/// Runs a few steps at the given batch size and measures them. Must not throw.
using batch_trial = std::function<trial_result(int batch_size)>;

struct probe_options {
  int min_batch = 8;        ///< smallest size tried (a power of two); default 8
  int max_batch = 1024;     ///< largest size tried; default 1024
  double margin = 0.2;      ///< fraction of the budget kept free; default 0.2
  /// Stop doubling once throughput fell below this fraction of the best so far twice in a row;
  /// default 0.85 (larger sizes rarely recover and cost probing time).
  double give_up_ratio = 0.85;
};

/// Tries min_batch, 2*min_batch, ... up to max_batch. A size whose trial fails or whose peak
/// exceeds budget*(1-margin) does not fit, and no larger size is tried. Inference throughput is
/// measured for every size that fits (when `infer` is set). Chooses the fastest fitting size for
/// training and for inference; both 0 when nothing fits.
probe_result probe_batch_sizes(const probe_options& options, memory_meter& meter,
                               const batch_trial& train, const batch_trial& infer);

/// The sizes every rank of a data-parallel job trains with, from each rank's own probe (index =
/// rank): the smallest training and inference size over the ranks, since each size must fit on
/// every device. Rows, budget and margin are rank 0's. Both sizes are 0 when a rank found
/// nothing that fits; `why` then names that rank and its last row's note. Every rank computes it
/// from the same values, so all reach the same decision, including to fail together.
probe_result agree_batch_sizes(const std::vector<probe_result>& ranks, std::string& why);

}  // namespace trainyard
