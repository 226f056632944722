// Indexes of the annotated dataset kinds (coco for locate, masks for segment, anomaly) and the
// torch-free file readers they need: the boxes of a COCO dataset in index order, and a small PNG
// reader for 8-bit label masks (zlib only, so the dataset actor can look at masks without
// OpenCV). load_dataset_index (runtime/data/dataset_index.hpp) dispatches here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "runtime/data/annotations.hpp"
#include "runtime/data/index_types.hpp"
#include "runtime/core/error.hpp"
#include "runtime/core/specs.hpp"

namespace trainyard {

/// coco: files = the COCO images sorted by path; labels (for stratified splits only) = the label
/// of each image's first box, or a last class "(no objects)" (added to class_names only when some
/// image has no box). class_names = the box labels (ascending category id).
expected<dataset_index> load_coco_index(const dataset_spec& spec);

/// masks: files = the images directly under `path` (png, jpg, jpeg, bmp) sorted by name;
/// mask_files = `masks`/<stem>.png for each; class_names = the label table (`annotations`) in
/// index order; labels (for stratified splits only) = 1 when the mask has a non-background
/// pixel, else 0.
expected<dataset_index> load_masks_index(const dataset_spec& spec);

/// anomaly: files = path/good/* (label 0) then path/defect/* (label 1), each sorted by name;
/// class_names {"good", "defect"}; mask_files = `masks`/<stem>.png for defect images that have
/// one (empty otherwise, and always for good images). No good image is dataset_unreadable.
expected<dataset_index> load_anomaly_index(const dataset_spec& spec);

/// The boxes of a coco dataset with its images in the order of load_coco_index's files
/// (sorted by path), so images[i] describes index.files[i].
expected<box_dataset> load_boxes(const dataset_spec& spec);

/// An 8-bit, single-channel image read without OpenCV.
struct gray_image {
  int width = 0, height = 0;
  std::vector<std::uint8_t> pixels;  ///< row-major, width * height bytes
};

/// Reads an 8-bit grayscale, non-interlaced PNG (the format of label masks). Anything else
/// (colour, palette, 16 bits, interlaced) is image_corrupt with a message saying how to save the
/// mask; a missing file is dataset_unreadable.
expected<gray_image> read_gray_png(const std::string& path);

/// True for the image files datasets are read from: .png, .jpg, .jpeg, .bmp (any case).
bool is_image_file(const std::filesystem::path& p);
/// True for names starting with '.' (skipped when folders are listed).
bool is_hidden(const std::filesystem::path& p);

}  // namespace trainyard
