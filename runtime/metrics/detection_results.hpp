// Result files of the `locate` tool in COCO's result format: a JSON array of
// {"image_id", "category_id", "bbox": [x, y, width, height], "score"}, one entry per detection, in
// the stored images' pixels, which pycocotools' loadRes and most COCO tooling read. Written by
// the CLI's predict and evaluate; read back for tests and for evaluating saved predictions.
// Torch-free (nlohmann_json).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/data/annotations.hpp"
#include "runtime/core/error.hpp"

namespace trainyard {

/// Writes `detections[i]` as the detections of COCO image `image_ids[i]`, labels mapped to
/// `category_ids[label]`, through a temporary file and a rename. invalid_request when the sizes
/// differ or a label has no category id; storage_failed when the file cannot be written.
expected<void> write_coco_results(const std::string& path,
                                  const std::vector<std::int64_t>& image_ids,
                                  const std::vector<std::vector<scored_box>>& detections,
                                  const std::vector<std::int64_t>& category_ids);

/// The same for the images of a COCO dataset (their coco_id), e.g. read_coco's images.
expected<void> write_coco_results(const std::string& path, const std::vector<box_image>& images,
                                  const std::vector<std::vector<scored_box>>& detections,
                                  const std::vector<std::int64_t>& category_ids);

/// Reads a COCO result file back into detections per image of `image_ids` (entries in file
/// order), categories mapped back to labels through `category_ids`. dataset_unreadable when the
/// file is missing; invalid_config naming the entry when it is malformed or names an image or
/// category not listed.
expected<std::vector<std::vector<scored_box>>> read_coco_results(
    const std::string& path, const std::vector<std::int64_t>& image_ids,
    const std::vector<std::int64_t>& category_ids);

}  // namespace trainyard
