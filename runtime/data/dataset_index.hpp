// A dataset's index (labels, class names, files). Torch-free: labels are read from the gzipped
// IDX files with zlib, folders are listed with std::filesystem. Splits: runtime/data/splits.hpp.
// The images themselves are decoded by the training runtime (runtime/train/ and runtime/tasks/).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/error.hpp"
#include "runtime/core/specs.hpp"
#include "runtime/data/index_types.hpp"

namespace trainyard {

/// Reads the labels (and, for folders, the file list sorted by label then name). coco, masks and
/// anomaly datasets are read by runtime/data/dataset_readers.hpp (see there for their order and
/// labels).
/// dataset_unreadable with the path and what to install or fix when files are missing/corrupt.
expected<dataset_index> load_dataset_index(const dataset_spec& spec);

/// Raw 8-bit images of a Fashion-MNIST dataset (IDX), row-major, `rows*cols` bytes each,
/// in the index order (for subset "all": training file then test file).
struct idx_images {
  std::int64_t count = 0, rows = 0, cols = 0;
  std::vector<std::uint8_t> pixels;
};
expected<idx_images> load_idx_images(const dataset_spec& spec);

}  // namespace trainyard
