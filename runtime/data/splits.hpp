// Splits of a dataset's images into training, validation and test sets: drawing one from a
// split_spec, moving images between sets, and listing a set's images.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/core/error.hpp"
#include "runtime/core/specs.hpp"
#include "runtime/data/dataset_index.hpp"

namespace trainyard {

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
