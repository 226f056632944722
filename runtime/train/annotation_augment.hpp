// Annotation-aware augmentation: one sampled geometric transform (flips, rotation, scale, shift,
// shear, as one affine matrix) applied to an image (bilinear), its label mask (nearest neighbour,
// so label values stay exact) and its boxes (exact for flips, scale and shift), then brightness,
// contrast and noise on the image only. OpenCV lives in annotation_augment.cpp; this header is
// torch- and OpenCV-free so the engine, the preview command and the tests call it with bytes.
//
// Geometry: pixel i covers [i, i + 1); the transform turns about the image centre (width/2,
// height/2 in those coordinates); boxes are [x, x + width) x [y, y + height) as in
// runtime/data/annotations.hpp. Pixels moved in from outside the image are 0 (image and mask).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "runtime/data/annotations.hpp"
#include "runtime/core/error.hpp"
#include "runtime/core/specs.hpp"

namespace trainyard {

/// One sampled transform: the values, not the ranges.
struct augmentation_draw {
  bool flip_horizontal = false;
  bool flip_vertical = false;
  double rotation = 0;    ///< degrees, counter-clockwise on screen
  double scale = 1;       ///< zoom factor (1 = none)
  double shift_x = 0;     ///< fraction of the width, positive to the right
  double shift_y = 0;     ///< fraction of the height, positive down
  double shear = 0;       ///< degrees: x moves by tan(shear) * (y - centre)
  double brightness = 0;  ///< added to [0, 1] pixels
  double contrast = 1;    ///< factor around the image mean
  double noise = 0;       ///< standard deviation of Gaussian noise on [0, 1] pixels
  std::uint64_t noise_seed = 0;  ///< seed of the noise pattern

  /// true when rotation or shear would turn axis-aligned boxes.
  bool turns_boxes() const { return rotation != 0 || shear != 0; }
};

/// Refuses settings a tool cannot use. With `boxes` (a kind whose predictions are boxes, locate):
/// rotation or shear != 0 is invalid_config ("rotation and shear cannot keep boxes exact; set them
/// to 0 for locate tools"). Negative or
/// non-finite ranges, a scale >= 1 or a shear >= 90 degrees are invalid_config naming the key.
expected<void> check_augmentation(const augmentation_settings& settings, bool boxes);

/// Samples one transform from the ranges (flips with probability 1/2 each when enabled).
/// Deterministic in `seed` on every machine.
augmentation_draw draw_augmentation(const augmentation_settings& settings, std::uint64_t seed);

/// Every range at its lower end (`upper` false: flips off, -rotation, 1 - scale, -shift, -shear,
/// -brightness, 1 - contrast) or its upper end (flips on where enabled, and +...). The noise is
/// the settings' standard deviation in both. For previews.
augmentation_draw augmentation_limit(const augmentation_settings& settings, bool upper);

/// The forward affine matrix [a b c; d e f] from source to destination pixel centres for an
/// image of `width` x `height` pixels, as OpenCV's warpAffine takes it.
std::array<double, 6> augmentation_matrix(const augmentation_draw& draw, int width, int height);

/// An image to transform in place.
struct image_ref {
  int width = 0, height = 0, channels = 1;
  std::uint8_t* pixels = nullptr;  ///< planar (channel, row, column), channels * width * height bytes
};

/// Applies `draw` to `image`, its `mask` (width * height label bytes, or null) and its `boxes`
/// (or null). Boxes are transformed exactly, clipped to the image, and dropped when less than a
/// quarter of their transformed area stays inside it. invalid_config when boxes are given and
/// the draw turns them (rotation or shear), or the image is empty.
expected<void> apply_augmentation(const augmentation_draw& draw, image_ref image,
                                  std::uint8_t* mask, std::vector<box>* boxes);

}  // namespace trainyard
