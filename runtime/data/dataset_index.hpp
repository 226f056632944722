// A dataset's index (labels, class names, files) and its splits. Torch-free: labels are read
// from the gzipped IDX files with zlib, folders are listed with std::filesystem. The images
// themselves are decoded by the training runtime (runtime/train/ and runtime/tasks/).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/error.hpp"
#include "runtime/core/specs.hpp"

namespace trainyard {

/// Labels of every image of a dataset, in a fixed order (the order of split assignments).
struct dataset_index {
  dataset_spec spec;
  std::vector<std::string> class_names;  ///< index = label
  std::vector<std::int32_t> labels;      ///< one per image
  std::vector<std::string> files;        ///< image_folder: path of each image; else empty
  /// masks: the label mask (PNG) of each image; anomaly: the defect mask of each image, or ""
  /// (always "" for good images); empty for the other kinds.
  std::vector<std::string> mask_files;
  std::size_t size() const { return labels.size(); }
};

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

/// Draws a split: one split_set per image. Seeded, stratified per class when asked, the same
/// result for the same spec and dataset on any machine (own RNG, no std::shuffle).
/// invalid_config when proportions exceed 1 or counts exceed the dataset.
/// Anomaly datasets (label 0 good, 1 defect): defect images never go into the training set.
/// Good images are split by the spec as usual; the defect images go to validation and test in
/// the ratio validation : test, using the same share of them as the split uses of the dataset
/// (all of them when train + validation + test = 1). With mode = count, `train` counts good
/// images (invalid_config when it exceeds them) and the validation and test counts are drawn
/// from the remaining good and defect images in proportion to their numbers.
expected<std::vector<std::uint8_t>> make_split(const dataset_index& index, const split_spec& spec);

/// Moves images into `to`. On a locked split only test (or unused) images may move, and only into
/// the training or validation set; anything else is split_locked with a message saying so.
expected<void> move_images(std::vector<std::uint8_t>& assignment,
                           const std::vector<std::int64_t>& images, split_set to, bool locked);

/// Indices of the images in one set, ascending.
std::vector<std::int64_t> images_in(const std::vector<std::uint8_t>& assignment, split_set set);

}  // namespace trainyard
