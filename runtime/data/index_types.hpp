// The index of a dataset: its images' labels, class names and files, in the order splits assign
// them. Every reader fills one (runtime/data/dataset_index.hpp, runtime/data/dataset_readers.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

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
  /// The first image of the dataset's own test part, which a split of mode official keeps as its
  /// test set (fashion-mnist, subset all: 60,000, where the 10,000 t10k images start); -1 when
  /// the dataset has none.
  std::int64_t own_test_begin = -1;
  std::size_t size() const { return labels.size(); }
};

}  // namespace trainyard
