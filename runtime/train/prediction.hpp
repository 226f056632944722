// What a tool says about one image file (predict_images in engine.hpp, tool_task::predict).
// Torch-free.
#pragma once

#include <string>
#include <vector>

#include "runtime/data/annotations.hpp"

namespace trainyard {

/// What a tool says about one image file, with its best weights:
///   classify  label and score (softmax probability);
///   segment   label = the most frequent non-background label (0 if none), score = share of
///             pixels given a non-background label; files: <stem>_mask.png (label values),
///             <stem>_overlay.png (label colours over the image);
///   anomaly   label 1 "defect" when score >= the tuned threshold else 0 "good", score = anomaly
///             score; files: <stem>_heatmap.png;
///   locate    boxes = the detections scoring at least the tool's threshold (at most
///             max_objects, in the stored image's pixels), label and score = the best box's
///             (-1, "(no objects)", 0 when none); files: <stem>_boxes.png (the image with its
///             boxes drawn). The output folder also gets detections.json, every image's boxes in
///             COCO's result format (image ids of the tool's COCO dataset where the file is one
///             of its images, else 1, 2, ... in the order given past its largest id).
struct prediction {
  std::string image;
  int label = -1;
  std::string label_name;
  double score = 0;
  std::vector<std::string> files;  ///< images written for this one
  std::vector<scored_box> boxes;   ///< locate: the boxes found, best first
  /// Why this image has no prediction (it does not decode, it is missing); the other images of
  /// the call are predicted all the same. Empty when it was predicted.
  std::string error;
};
}  // namespace trainyard
