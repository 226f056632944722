// The torch-free face of box_classifier.hpp, for tests: the crops the second stage of locate and
// segment sees, and the items of label masks, on plain arrays. Implemented in box_classifier.cpp.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/data/annotations.hpp"

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

/// crop_items of box_classifier.hpp on float images: crops of the items numbered in `parts`
/// [images, height, width] (as mask_items numbers them), every pixel off an item's own part
/// reading `background` (one value per channel); `mask_change` is empty or one of -1, 0, 1 per
/// item (erode, keep, dilate its part by a pixel).
std::vector<float> crop_item_pixels(const std::vector<float>& images, int channels, int height,
                                    int width, const std::vector<std::int64_t>& parts,
                                    const std::vector<std::vector<box>>& items,
                                    const std::vector<float>& background,
                                    const std::vector<std::int64_t>& mask_change = {});

/// encode_item_centres then find_items of box_classifier.hpp on label masks [n, height, width]:
/// the items of the masks (mask_items, labels kept apart), their centre heatmap and offsets
/// encoded, and the items found again from those targets with the masks' foreground. Returns the
/// found item number of each pixel (-1 off items); `true_parts` receives mask_items' numbers.
/// A perfect centre head gives back the masks' items exactly, up to their numbering.
std::vector<std::int64_t> find_items_from_targets(const std::vector<std::int64_t>& masks,
                                                  std::int64_t n, std::int64_t height,
                                                  std::int64_t width,
                                                  std::vector<std::int64_t>* true_parts);

/// find_items of box_classifier.hpp on plain arrays: `foreground` [n, height, width] (non-zero on
/// items), `heat` [n, height, width] (centre probabilities), `offset` [n, 2, height, width] (x, y
/// in pixels). Returns the found item number of each pixel (-1 off items).
std::vector<std::int64_t> find_item_numbers(const std::vector<std::uint8_t>& foreground,
                                            const std::vector<float>& heat,
                                            const std::vector<float>& offset, std::int64_t n,
                                            std::int64_t height, std::int64_t width);

/// crop_jitter of box_classifier.hpp from a CPU generator seeded with `seed`: 3 x count values.
std::vector<float> crop_jitter_values(std::int64_t count, std::uint64_t seed);

/// The items of label masks [n, height, width] (0 = background): connected parts (8-neighbours)
/// of the foreground grown by one pixel, so that an item the mask threshold cut into pieces (a
/// sandal's straps) stays one item. Per image, each item's tight box over its own foreground
/// pixels, labelled with its most frequent label - 1 (the classifier's classes leave the
/// background out). Items of fewer than `least_pixels` foreground pixels are skipped. When
/// `parts` is given it receives, per pixel, the item number (in the order of the boxes, counted
/// over all images from 0) of each foreground pixel, -1 elsewhere (also for skipped items).
/// With `separate_labels`, only pixels of the same label link: two touching items of different
/// labels are two items (the instances of a label mask, as far as the mask tells them apart).
std::vector<std::vector<box>> mask_items(const std::int64_t* labels, std::int64_t n,
                                         std::int64_t height, std::int64_t width,
                                         int least_pixels, std::int64_t* parts = nullptr,
                                         bool separate_labels = false);

}  // namespace trainyard
