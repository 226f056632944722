// Pictures of the `locate` tool's boxes: an image with its detections (or ground truth) drawn on
// it, as PNG bytes, for predict's outputs and for looking at what a tool finds. Torch-free and
// OpenCV-free header (OpenCV lives in box_drawing.cpp only).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/data/annotations.hpp"
#include "runtime/core/error.hpp"

namespace trainyard {

/// Draws `boxes` (in the image's pixels) on planar 8-bit pixels (channel, row, column; 1 or 3
/// channels, RGB) and encodes the result as a colour PNG. Each box is a one-pixel rectangle on its
/// outer edge, [x, x + width - 1] x [y, y + height - 1], in a colour per label, captioned with
/// `labels[label]` (or the number when `labels` is too short) and, when positive, its score.
/// invalid_request for a bad size or channel count; image_corrupt if encoding fails.
expected<std::vector<std::uint8_t>> draw_boxes(const std::uint8_t* pixels, int width, int height,
                                               int channels, const std::vector<scored_box>& boxes,
                                               const std::vector<std::string>& labels);

}  // namespace trainyard
