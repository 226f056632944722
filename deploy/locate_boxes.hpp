// The post-processing of a locate tool's networks, on OpenCV arrays: the boxes of the detector's
// heads, class-aware NMS, the square crops the box classifier sees, and the labels it gives.
// Each function computes what the training runtime's counterpart does (detector.hpp's
// decode_detections and detect_boxes, box_classifier.hpp's crop_boxes), so that a tool run here
// finds the boxes `trainyard predict` finds. Internal to trainyard_runtime.
#pragma once

#include <vector>

#include <opencv2/core.hpp>

#include "deploy/trainyard_runtime.hpp"

namespace trainyard::deploy {

/// How boxes are read from the heads and kept.
struct box_decoding {
  float threshold = 0.3f;  ///< least score a box is reported with
  int max_objects = 10;    ///< most boxes per image (<= 0: no limit)
  float nms_iou = 0.5f;    ///< a box overlapping a better one of its label more than this goes
  int stride = 4;          ///< input pixels per cell of the heads' grid
};

/// Intersection over union of two boxes ([x, x + width) x [y, y + height)); 0 when both are
/// empty. Labels are ignored.
float box_iou(const found_box& a, const found_box& b);

/// Greedy class-aware NMS: boxes by decreasing score (ties keep their order), each dropped when
/// it overlaps a kept box of its label by more than `iou`; at most `max_objects` (<= 0: all).
std::vector<found_box> suppress_overlaps(std::vector<found_box> boxes, float iou,
                                         int max_objects);

/// Boxes of the heads, per image, in input pixels: `heatmap` [N, K, h, w] logits, `size` and
/// `offset` [N, 2, h, w] (CV_32F, 4-d). The local maxima (3x3) of the sigmoid heatmap, the best
/// max_objects over every channel (the channel is the label), those scoring >= threshold, a box
/// of the size and sub-cell centre there, clipped to the grid's extent (cells x stride), then
/// NMS.
std::vector<std::vector<found_box>> decode_boxes(const cv::Mat& heatmap, const cv::Mat& size,
                                                 const cv::Mat& offset, const box_decoding& d);

/// Square crops of `images` [N, C, H, W] (CV_32F, 4-d) around each box (input pixels, one
/// vector per image, in order): side = `margin` x the box's longer side (at least 1 pixel),
/// resampled bilinearly to `crop` x `crop` pixels; outside the image reads 0. Returns
/// [M, C, crop, crop]; an empty Mat when there is no box.
cv::Mat crop_boxes(const cv::Mat& images, const std::vector<std::vector<found_box>>& boxes,
                   int crop, float margin);

/// Each box (in the order of `boxes`, one vector per image) reported with up to `labels_per_box`
/// of its most probable labels (`probabilities` [M, K], a row per box), scored objectness x
/// probability, those >= threshold; per image best first (ties keep their order), at most
/// max_objects.
std::vector<std::vector<found_box>> label_boxes(const std::vector<std::vector<found_box>>& boxes,
                                                const cv::Mat& probabilities,
                                                int labels_per_box, const box_decoding& d);

}  // namespace trainyard::deploy
