// Label masks of segment datasets and defect masks of anomaly datasets, read from PNG files, and
// the label table of a masks dataset. Internal to the training runtime (runtime/train/, runtime/tasks/); torch-free (OpenCV lives in
// label_masks.cpp only).
//
// This is the segment and anomaly tools' own reading path until the data side's readers
// (read_mask in runtime/tasks/common/masks.hpp, read_label_table in runtime/data/annotations.hpp) are merged;
// the tasks call only these two functions, so switching means changing their bodies.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/error.hpp"

namespace trainyard {

/// Reads the label mask of `image_path` (read_mask's checks: an 8-bit single-channel PNG of the
/// image's own size whose values are below `label_count`) and resizes it to width x height with
/// nearest-neighbour sampling, so labels are never blended.
expected<std::vector<std::uint8_t>> read_label_mask_file(const std::string& path,
                                                         const std::string& image_path,
                                                         int label_count, int width, int height);

/// One row of a label table: "INDEX NAME [R G B]".
struct label_entry {
  int index = 0;
  std::string name;
  int r = -1, g = -1, b = -1;  ///< -1: no colour given
};
/// Reads a label table ('#' starts a comment). invalid_config naming the line when malformed.
expected<std::vector<label_entry>> read_label_entries(const std::string& path);

}  // namespace trainyard
