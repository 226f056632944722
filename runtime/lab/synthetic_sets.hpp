// Synthetic locate / segment / anomaly datasets made from the real Fashion-MNIST, for
// `trainyard make-datasets` and for tests. Deterministic: an own seeded RNG and a fixed order of
// work, so the same options give the same bytes on every run. OpenCV lives in synthetic_sets.cpp
// only; this header is torch- and OpenCV-free.
//
// Layout under `out`:
//   scenes/images/NNNNNN.png   gray scenes: Fashion-MNIST items pasted on textured backgrounds
//   scenes/boxes.json          COCO boxes of the items (category ids 1-10 = classes 0-9)
//   scenes/masks/NNNNNN.png    label masks: class + 1 where an item covers the pixel, else 0
//   scenes/labels.txt          label table of the masks (0 background, 1-10 the classes)
//   anomaly-C/good/*.png       28x28 images of class C (training images, then test images)
//   anomaly-C/defect/*.png     28x28 test images of the other nine classes
#pragma once

#include <cstdint>
#include <string>

#include "runtime/core/error.hpp"

namespace trainyard {

/// What to generate. Defaults are sized for two CPU cores (docs/datasets.md, "Synthetic datasets").
struct synthetic_options {
  std::string out;                 ///< output folder (created); required
  std::uint64_t seed = 1;          ///< seed of every random choice; default 1
  /// Fashion-MNIST folder (gzipped IDX files); default the Debian package's.
  std::string fashion_mnist = "/usr/share/datasets/fashion-mnist";
  int scenes = 20000;              ///< scene images (locate and segment); default 20,000
  int scene_size = 96;             ///< scene width and height in pixels; default 96
  int min_items = 1;               ///< items per scene, uniform in [min, max]; default 1
  int max_items = 4;               ///< default 4
  double min_scale = 0.8;          ///< item zoom of the 28x28 images, uniform; default 0.8
  double max_scale = 1.6;          ///< default 1.6
  /// Item pixels at or above this level (0-255) are pasted opaque; darker ones blend in
  /// proportionally (alpha = level / opaque_from). Default 32. An earlier version pasted with
  /// alpha = level / 255, which let the background show through every dark part of a garment
  /// and erased the detail that tells shirts from T-shirts (docs/performance.md, "Opaque items").
  int opaque_from = 32;
  int mask_threshold = 32;         ///< item pixels above this (0-255) are in the mask; default 32
  int anomaly_train_good = 2000;   ///< good images of class C from the training file; default 2,000
  int anomaly_test_good = 1000;    ///< good images of class C from the test file (at most 1,000); default 1,000
  int anomaly_defect = 1000;       ///< defect images: test images of the other classes, balanced; default 1,000
  bool scenes_only = false;        ///< skip the ten anomaly sets; default off
};

/// What was written.
struct synthetic_summary {
  int scenes = 0;
  int boxes = 0;            ///< items pasted over all scenes
  int anomaly_sets = 0;
  int anomaly_images = 0;   ///< over all anomaly sets
};

/// Writes the datasets. dataset_unreadable when Fashion-MNIST is missing; storage_failed when a
/// file cannot be written; invalid_config for options out of range (the message names the option).
expected<synthetic_summary> make_synthetic_datasets(const synthetic_options& options);

/// Fashion-MNIST class names as the synthetic sets write them (no spaces: "Ankle_boot").
const char* synthetic_class_name(int label);

}  // namespace trainyard
