// Annotations beyond one label per image: boxes (locate) and the per-image records of the
// datasets that carry them. Shared vocabulary of the data readers (runtime/data/annotations.cpp,
// runtime/tasks/common/masks.cpp), the models (runtime/train/ and runtime/tasks/) and the metrics. No CAF, no torch here.
//
// Coordinates are pixels of the stored image, origin at the top-left corner, x to the right,
// y down; a box covers [x, x + width) x [y, y + height).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/error.hpp"

namespace trainyard {

/// One labelled, axis-aligned box.
struct box {
  int label = 0;  ///< 0-based index into the dataset's label names
  float x = 0, y = 0, width = 0, height = 0;
};

/// A box a model found, with its confidence in [0, 1].
struct scored_box {
  box b;
  float score = 0;
};

/// One image of a COCO dataset and its boxes.
struct box_image {
  std::string file;          ///< path of the image file (absolute, resolved against the root)
  std::int64_t coco_id = 0;  ///< the image id in the COCO file (kept for result files)
  int width = 0, height = 0; ///< pixels, as the COCO file declares them
  std::vector<box> boxes;
};

/// A COCO detection dataset: label names (index = label) and images in file order.
struct box_dataset {
  std::vector<std::string> labels;
  std::vector<std::int64_t> category_ids;  ///< COCO category id of each label
  std::vector<box_image> images;
};

/// Reads and checks a COCO-format detection file (images, categories, annotations with bbox).
/// Image files are resolved against `image_root`. A malformed file, an annotation naming an
/// unknown image or category, or a box outside its image is invalid_config / dataset_unreadable
/// with the file, the entry and what to fix.
expected<box_dataset> read_coco(const std::string& json_path, const std::string& image_root);

/// A label table of a masks dataset: index -> name and display colour.
struct mask_label {
  int index = 0;            ///< the pixel value in the mask PNGs
  std::string name;
  std::uint8_t r = 0, g = 0, b = 0;
};

/// Reads a label table file: one line per label, "INDEX NAME [R G B]", '#' starts a comment.
/// Index 0 is the background. invalid_config with the line for anything else.
expected<std::vector<mask_label>> read_label_table(const std::string& path);

/// The display colour a label gets when its table line gives none: black for 0 (background),
/// then a fixed palette of 20 distinct colours, repeated.
void default_label_colour(int index, std::uint8_t& r, std::uint8_t& g, std::uint8_t& b);

}  // namespace trainyard
