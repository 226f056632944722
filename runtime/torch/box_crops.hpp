// The torch-free face of box_classifier.hpp, for tests: the crops the second stage of locate and
// segment sees, and the items of label masks, on plain arrays. Implemented in box_classifier.cpp.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/annotations.hpp"

namespace trainyard {

/// Side of the square crop the box classifier sees, in pixels: Fashion-MNIST's.
inline constexpr int box_crop_size = 28;
/// The crop's side over the box's longer side: a margin that keeps the whole item in view when
/// a found box is a little too small, and frames it as Fashion-MNIST frames its items.
inline constexpr float box_crop_margin = 1.15f;

/// crop_boxes of box_classifier.hpp on float images [images, channels, height, width]: returns
/// the crops [M, channels, box_crop_size, box_crop_size] flattened. `jitter` is empty (exact
/// crops) or 3 values in [-1, 1] per box.
std::vector<float> crop_box_pixels(const std::vector<float>& images, int channels, int height,
                                   int width, const std::vector<std::vector<box>>& boxes,
                                   const std::vector<float>& jitter = {});

/// crop_jitter of box_classifier.hpp from a CPU generator seeded with `seed`: 3 x count values.
std::vector<float> crop_jitter_values(std::int64_t count, std::uint64_t seed);

/// The items of label masks [n, height, width] (0 = background): connected parts (8-neighbours)
/// of the foreground grown by one pixel, so that an item the mask threshold cut into pieces (a
/// sandal's straps) stays one item. Per image, each item's tight box over its own foreground
/// pixels, labelled with its most frequent label - 1 (the classifier's classes leave the
/// background out). Items of fewer than `least_pixels` foreground pixels are skipped. When
/// `parts` is given it receives, per pixel, the item number (in the order of the boxes, counted
/// over all images from 0) of each foreground pixel, -1 elsewhere (also for skipped items).
std::vector<std::vector<box>> mask_items(const std::int64_t* labels, std::int64_t n,
                                         std::int64_t height, std::int64_t width,
                                         int least_pixels, std::int64_t* parts = nullptr);

}  // namespace trainyard
