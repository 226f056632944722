// Small segment, anomaly and scene (locate) datasets generated from Fashion-MNIST, and job
// requests that train a tool kind on one, for the tool-kind and export tests and the benches. Test-local stand-ins for the data side's generator (`trainyard
// make-datasets`): both write image-folder datasets whose extra files follow the dataset kinds'
// contract (masks under `masks` with the image's file stem, a label table in `annotations`).
// Deterministic: a fixed LCG, no std::random. Torch-free.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/core/training_engine.hpp"
#include "runtime/data/dataset_index.hpp"
#include "runtime/data/splits.hpp"
#include "runtime/lab/synthetic_sets.hpp"
#include "runtime/train/images.hpp"

namespace trainyard::testing {

/// A generated dataset with a drawn split.
struct generated_set {
  dataset_spec dataset;
  dataset_index index;
  std::vector<std::uint8_t> assignment;
};

class lcg {
 public:
  explicit lcg(std::uint64_t seed) : x_(seed * 2862933555777941757ULL + 3037000493ULL) {}
  std::uint32_t next() {
    x_ = x_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::uint32_t>(x_ >> 33);
  }
  int below(int n) { return static_cast<int>(next() % static_cast<std::uint32_t>(n)); }

 private:
  std::uint64_t x_;
};

/// Fashion-MNIST's test subset: 10,000 28x28 items and their classes.
struct fashion_items {
  idx_images pixels;
  std::vector<std::int32_t> labels;
};
inline const fashion_items& fashion_test_items(const std::string& folder) {
  static const fashion_items items = [&folder] {
    dataset_spec spec;
    spec.name = "fashion-test";
    spec.path = folder;
    spec.subset = "test";
    auto index = load_dataset_index(spec);
    auto pixels = load_idx_images(spec);
    if (!index || !pixels)
      throw std::runtime_error("Fashion-MNIST test files are unreadable");
    return fashion_items{std::move(*pixels), index->labels};
  }();
  return items;
}

inline std::vector<std::uint8_t> split_counts(const dataset_index& index, double train,
                                              double validation, double test) {
  split_spec split;
  split.name = "generated";
  split.dataset = index.spec.name;
  split.mode = split_mode::count;
  split.train = train;
  split.validation = validation;
  split.test = test;
  auto a = make_split(index, split);
  if (!a)
    throw std::runtime_error(a.error().message);
  return *a;
}

/// Segment set: `count` images of size x size on a textured gray background; four in five carry
/// one Fashion-MNIST item at a random place, whose pixels (> 30) are labelled 1 "shoe" (sandal,
/// sneaker, ankle boot) or 2 "bag". Folders: root/images/{object,empty}, root/masks,
/// root/labels.txt. Split 70/15/15 by count.
inline generated_set make_segment_set(const std::string& root, const std::string& fashion_folder,
                                      int count = 400, int size = 40) {
  namespace fs = std::filesystem;
  const fashion_items& items = fashion_test_items(fashion_folder);
  std::vector<std::int64_t> shoes, bags;
  for (std::size_t i = 0; i < items.labels.size(); ++i) {
    const int c = items.labels[i];
    if (c == 5 || c == 7 || c == 9)
      shoes.push_back(static_cast<std::int64_t>(i));
    else if (c == 8)
      bags.push_back(static_cast<std::int64_t>(i));
  }
  fs::create_directories(fs::path(root) / "images" / "object");
  fs::create_directories(fs::path(root) / "images" / "empty");
  fs::create_directories(fs::path(root) / "masks");
  std::ofstream(fs::path(root) / "labels.txt") << "# index name r g b\n0 background 0 0 0\n"
                                                  "1 shoe 230 25 75\n2 bag 0 130 200\n";
  lcg rng(11);
  const image_geometry gray{1, size, size};
  for (int n = 0; n < count; ++n) {
    std::vector<std::uint8_t> image(gray.bytes()), mask(gray.bytes(), 0);
    for (auto& p : image)
      p = static_cast<std::uint8_t>(25 + rng.below(20));
    const bool has_object = rng.below(5) != 0;
    if (has_object) {
      const bool bag = rng.below(2) == 0;
      const auto& pool = bag ? bags : shoes;
      const std::int64_t item = pool[static_cast<std::size_t>(rng.below(static_cast<int>(pool.size())))];
      const std::uint8_t* src = items.pixels.pixels.data() + item * 28 * 28;
      const int ox = rng.below(size - 28 + 1), oy = rng.below(size - 28 + 1);
      for (int y = 0; y < 28; ++y)
        for (int x = 0; x < 28; ++x)
          if (src[y * 28 + x] > 30) {
            const std::size_t at = static_cast<std::size_t>((oy + y) * size + ox + x);
            image[at] = src[y * 28 + x];
            mask[at] = bag ? 2 : 1;
          }
    }
    const std::string stem = "seg" + std::to_string(100000 + n);
    const fs::path file =
        fs::path(root) / "images" / (has_object ? "object" : "empty") / (stem + ".png");
    if (!write_png(file.string(), gray, image.data()) ||
        !write_png((fs::path(root) / "masks" / (stem + ".png")).string(), gray, mask.data()))
      throw std::runtime_error("cannot write the generated segment set under " + root);
  }
  generated_set g;
  g.dataset.name = "segment-set";
  g.dataset.kind = dataset_kind::image_folder;
  g.dataset.path = (fs::path(root) / "images").string();
  g.dataset.masks = (fs::path(root) / "masks").string();
  g.dataset.annotations = (fs::path(root) / "labels.txt").string();
  auto index = load_dataset_index(g.dataset);
  if (!index)
    throw std::runtime_error(index.error().message);
  g.index = *index;
  g.assignment = split_counts(g.index, count * 0.7, count * 0.15, count * 0.15);
  return g;
}

/// One-class anomaly set: `goods` images of Fashion-MNIST class `good_class` under root/good and
/// `defects` images of the other classes under root/defect (the anomaly dataset layout). Split
/// by count, stratified: half for training (its defects are dropped by the tool), a quarter each
/// for validation and test.
inline generated_set make_anomaly_set(const std::string& root, const std::string& fashion_folder,
                                      int good_class, int goods = 600, int defects = 300) {
  namespace fs = std::filesystem;
  const fashion_items& items = fashion_test_items(fashion_folder);
  fs::create_directories(fs::path(root) / "good");
  fs::create_directories(fs::path(root) / "defect");
  const image_geometry gray{1, 28, 28};
  int written_good = 0, written_defect = 0;
  for (std::size_t i = 0; i < items.labels.size(); ++i) {
    const bool good = items.labels[i] == good_class;
    if (good ? written_good >= goods : written_defect >= defects)
      continue;
    const std::string stem = "item" + std::to_string(100000 + i);
    const fs::path file = fs::path(root) / (good ? "good" : "defect") / (stem + ".png");
    if (!write_png(file.string(), gray, items.pixels.pixels.data() + i * 28 * 28))
      throw std::runtime_error("cannot write the generated anomaly set under " + root);
    (good ? written_good : written_defect)++;
  }
  generated_set g;
  g.dataset.name = "anomaly-set";
  g.dataset.kind = dataset_kind::image_folder;
  g.dataset.path = root;
  auto index = load_dataset_index(g.dataset);
  if (!index)
    throw std::runtime_error(index.error().message);
  g.index = *index;
  const double n = written_good + written_defect;
  g.assignment = split_counts(g.index, n / 2, n / 4, n / 4);
  return g;
}

/// A request that trains a `kind` tool named `tool` on `set` (its split "generated") in
/// `workspace`: `iterations` at batch `batch`, learning rate 0.003, inputs of size x size, model
/// width `width`.
inline training_request kind_request(job_id id, const std::string& kind, const std::string& tool,
                                     const generated_set& set, const std::string& workspace,
                                     int iterations, int batch, int width, int size) {
  training_request r;
  r.job = id;
  r.spec.name = "job-" + std::to_string(id);
  r.spec.tool.name = tool;
  r.spec.tool.kind = kind;
  r.spec.tool.dataset = set.dataset.name;
  r.spec.tool.input_width = size;
  r.spec.tool.input_height = size;
  r.spec.tool.model_width = width;
  r.spec.split = "generated";
  r.spec.settings.iterations = iterations;
  r.spec.settings.batch_size = batch;
  r.spec.settings.learning_rate = 3e-3;
  r.dataset = set.dataset;
  r.assignment = set.assignment;
  r.workspace = workspace;
  return r;
}

/// Scenes written by the data side's generator (`trainyard make-datasets`, scenes only) with
/// `options`, as a COCO dataset "scenes" split by count (needs trainyard_lab).
inline generated_set make_scene_set(synthetic_options options, double train, double validation,
                                    double test) {
  options.scenes_only = true;
  auto made = make_synthetic_datasets(options);
  if (!made)
    throw std::runtime_error(made.error().message);
  generated_set set;
  set.dataset.name = "scenes";
  set.dataset.kind = dataset_kind::coco;
  set.dataset.path = options.out + "/scenes/images";
  set.dataset.annotations = options.out + "/scenes/boxes.json";
  auto index = load_dataset_index(set.dataset);
  if (!index)
    throw std::runtime_error(index.error().message);
  set.index = std::move(*index);
  set.assignment = split_counts(set.index, train, validation, test);
  return set;
}

/// The tests' small scenes: `scenes` 64x64 images with one or two items at zoom 0.9 to 1.3.
inline synthetic_options small_scenes(const std::string& root, int scenes) {
  synthetic_options o;
  o.out = root;
  o.scenes = scenes;
  o.scene_size = 64;
  o.min_items = 1;
  o.max_items = 2;
  o.min_scale = 0.9;
  o.max_scale = 1.3;
  return o;
}

/// The class an anomaly tool takes as good: the one named "good".
inline int good_class_of(const dataset_index& index) {
  for (std::size_t c = 0; c < index.class_names.size(); ++c)
    if (index.class_names[c] == "good")
      return static_cast<int>(c);
  return 0;
}

}  // namespace trainyard::testing
