// A dataset's index (labels, class names, files) and its splits. Torch-free: labels are read
// from the gzipped IDX files with zlib, folders are listed with std::filesystem. The images
// themselves are decoded by the training runtime (runtime/torch/).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/error.hpp"
#include "runtime/specs.hpp"

namespace trainyard {

/// Labels of every image of a dataset, in a fixed order (the order of split assignments).
struct dataset_index {
  dataset_spec spec;
  std::vector<std::string> class_names;  ///< index = label
  std::vector<std::int32_t> labels;      ///< one per image
  std::vector<std::string> files;        ///< image_folder: path of each image; else empty
  std::size_t size() const { return labels.size(); }
};

/// Reads the labels (and, for folders, the file list sorted by label then name).
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
expected<std::vector<std::uint8_t>> make_split(const dataset_index& index, const split_spec& spec);

/// Moves images into `to`. On a locked split only test (or unused) images may move, and only into
/// the training or validation set; anything else is split_locked with a message saying so.
expected<void> move_images(std::vector<std::uint8_t>& assignment,
                           const std::vector<std::int64_t>& images, split_set to, bool locked);

/// Indices of the images in one set, ascending.
std::vector<std::int64_t> images_in(const std::vector<std::uint8_t>& assignment, split_set set);

}  // namespace trainyard
