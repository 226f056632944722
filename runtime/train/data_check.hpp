// `trainyard check` and the start of `trainyard run`: every image (and label or defect mask) of
// the datasets a campaign uses is decoded once, in parallel, and every file that is missing or
// does not decode is listed at once, before any job locks a split or starts training.
// Torch-free interface (the decoding is OpenCV's, in images.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "runtime/core/error.hpp"
#include "runtime/core/specs.hpp"

namespace trainyard {

/// What a check of datasets found.
struct data_check {
  std::int64_t checked = 0;         ///< files decoded (images and masks)
  std::vector<failure> unreadable;  ///< every file that is missing or does not decode, and every
                                    ///< dataset whose index cannot be read, in dataset order
};

/// Decodes every image and mask file of `datasets` on up to `threads` threads; IDX datasets are
/// read whole. `progress(done, total)` is called as files are done (from one thread at a time).
data_check check_dataset_files(const std::vector<dataset_spec>& datasets, int threads,
                               const std::function<void(std::int64_t, std::int64_t)>& progress);

/// The datasets the jobs' tools are trained on, each once, in the order `declared` lists them.
std::vector<dataset_spec> datasets_in_use(const std::vector<dataset_spec>& declared,
                                          const std::vector<job_spec>& jobs);

}  // namespace trainyard
