// Fashion-MNIST as the device check reads it: uncompressed IDX files, which
// `scripts/device-check.sh --prepare` writes into device_check/data/ from Debian's gzipped ones
// (the GPU machine has no zlib, so trainyard's own reader, which inflates, is not built there).
#pragma once

#include <cstdint>
#include <string>

#include "runtime/core/error.hpp"
#include "runtime/train/input.hpp"

namespace trainyard::device_check {

/// The images and labels of one IDX pair under `dir`: `<prefix>-images-idx3-ubyte` and
/// `<prefix>-labels-idx1-ubyte` (prefix "train" or "t10k"), as uint8 [N, 1, rows, cols] and
/// int64 [N] tensors on the CPU. At most `limit` images (0: all). dataset_unreadable naming the
/// file and what is wrong when a file is missing, truncated, or not IDX of the expected kind.
expected<labelled_images> read_idx_pair(const std::string& dir, const std::string& prefix,
                                        std::int64_t limit);

}  // namespace trainyard::device_check
