// Small detection scenes for the locate detector's tests and bench: real Fashion-MNIST items
// (28x28, scaled 0.8-1.4x) pasted onto a textured gray background, with their tight boxes.
// Deterministic for a seed (own std::mt19937_64; libstdc++'s distributions). A stand-in until the
// dataset generator of the data readers is merged; torch-free.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "runtime/data/dataset_index.hpp"
#include "runtime/metrics/detection_metrics.hpp"
#include "runtime/lab/detector_training.hpp"
#include "runtime/train/images.hpp"

namespace trainyard::testing {

/// Fashion-MNIST items and their labels, the source of the scenes.
struct item_source {
  idx_images items;
  std::vector<std::int32_t> labels;
};

/// Loads one subset ("train": 60,000 items, "test": 10,000) of the installed Fashion-MNIST.
inline item_source load_items(const std::string& folder, const std::string& subset) {
  dataset_spec spec;
  spec.name = "fashion";
  spec.kind = dataset_kind::fashion_mnist;
  spec.path = folder;
  spec.subset = subset;
  auto index = load_dataset_index(spec);
  if (!index)
    throw std::runtime_error(index.error().message);
  auto images = load_idx_images(spec);
  if (!images)
    throw std::runtime_error(images.error().message);
  return item_source{std::move(*images), index->labels};
}

/// `count` scenes of `size` x `size` gray pixels with 1-`most_items` items each, drawn from the
/// items [first_item, first_item + item_count) of `source`. Items overlap little (IoU < 0.15).
inline detection_set make_box_scenes(const item_source& source, int count, int size,
                                     std::int64_t first_item, std::int64_t item_count,
                                     std::uint64_t seed, int most_items = 4) {
  const int side = static_cast<int>(source.items.rows);
  detection_set set;
  set.geometry = image_geometry{1, size, size};
  set.pixels.assign(static_cast<std::size_t>(count) * set.geometry.bytes(), 0);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0, 1);
  std::normal_distribution<double> noise(0, 6);
  const image_geometry item_geometry{1, side, side};
  for (int s = 0; s < count; ++s) {
    std::uint8_t* image = set.pixels.data() + static_cast<std::size_t>(s) * set.geometry.bytes();
    // Background: a level, two slanted waves and noise, kept darker than most items.
    const double level = 15 + 35 * unit(rng);
    const double f1 = 0.05 + 0.25 * unit(rng), f2 = 0.05 + 0.25 * unit(rng);
    const double p1 = 6.3 * unit(rng), p2 = 6.3 * unit(rng);
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x) {
        const double v = level + 12 * std::sin(f1 * x + 0.5 * f2 * y + p1) +
                         8 * std::sin(f2 * y - 0.3 * f1 * x + p2) + noise(rng);
        image[y * size + x] = static_cast<std::uint8_t>(std::clamp(v, 0.0, 255.0));
      }
    std::vector<box> boxes;
    const int wanted = 1 + static_cast<int>(rng() % static_cast<std::uint64_t>(most_items));
    for (int k = 0; k < wanted; ++k) {
      const std::int64_t item =
          first_item + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(item_count));
      const int scaled = static_cast<int>(std::lround(side * (0.8 + 0.6 * unit(rng))));
      const image_geometry to{1, scaled, scaled};
      const std::vector<std::uint8_t> original(
          source.items.pixels.begin() + item * side * side,
          source.items.pixels.begin() + (item + 1) * side * side);
      const std::vector<std::uint8_t> pixels =
          scaled == side ? original : resize_images(original, 1, item_geometry, to);
      // Tight box of the item's visible pixels.
      int x0 = scaled, y0 = scaled, x1 = -1, y1 = -1;
      for (int y = 0; y < scaled; ++y)
        for (int x = 0; x < scaled; ++x)
          if (pixels[static_cast<std::size_t>(y * scaled + x)] > 20) {
            x0 = std::min(x0, x);
            y0 = std::min(y0, y);
            x1 = std::max(x1, x);
            y1 = std::max(y1, y);
          }
      if (x1 < 0)
        continue;
      for (int attempt = 0; attempt < 20; ++attempt) {
        const int ox = static_cast<int>(rng() % static_cast<std::uint64_t>(size - scaled + 1));
        const int oy = static_cast<int>(rng() % static_cast<std::uint64_t>(size - scaled + 1));
        box b{source.labels[static_cast<std::size_t>(item)], static_cast<float>(ox + x0),
              static_cast<float>(oy + y0), static_cast<float>(x1 - x0 + 1),
              static_cast<float>(y1 - y0 + 1)};
        const bool crowded = std::any_of(boxes.begin(), boxes.end(),
                                         [&](const box& o) { return iou(o, b) >= 0.15f; });
        if (crowded)
          continue;
        for (int y = 0; y < scaled; ++y)
          for (int x = 0; x < scaled; ++x) {
            const std::uint8_t v = pixels[static_cast<std::size_t>(y * scaled + x)];
            if (v > 20)
              image[(oy + y) * size + ox + x] = v;
          }
        boxes.push_back(b);
        break;
      }
    }
    set.boxes.push_back(std::move(boxes));
  }
  return set;
}

}  // namespace trainyard::testing
