// Synthetic datasets from Fashion-MNIST (see synthetic_sets.hpp): scenes with boxes and masks,
// and the ten one-class anomaly sets. Runs on the caller's thread, one file after another: the
// order of the random draws is the order of the work, which keeps the output byte-identical from
// run to run (no std distributions, whose results differ between standard libraries).
#include "runtime/lab/synthetic_sets.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "runtime/data/dataset_index.hpp"
#include "runtime/core/seeded_rng.hpp"

namespace trainyard {

namespace fs = std::filesystem;

namespace {

constexpr int item_size = 28;  // Fashion-MNIST images are 28x28
constexpr int class_count = 10;
constexpr double pi = 3.14159265358979323846;

// Own RNG: the same draws on every machine, so the same bytes.

using synthetic_rng = seeded_rng;

const char* const class_names[class_count] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                              "Coat",        "Sandal",  "Shirt",    "Sneaker",
                                              "Bag",         "Ankle_boot"};

failure invalid(const std::string& what) {
  return make_failure(error_code::invalid_config, "make-datasets: " + what);
}

expected<void> write_png(const fs::path& path, const cv::Mat& image) {
  try {
    if (cv::imwrite(path.string(), image, {cv::IMWRITE_PNG_COMPRESSION, 3})) return {};
  } catch (const cv::Exception& e) {
    return make_failure(error_code::storage_failed, "could not write " + path.string() + ": " + e.what());
  }
  return make_failure(error_code::storage_failed,
                      "could not write " + path.string() + "; check the folder is writable and the disk has room");
}

expected<void> write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) {
    return make_failure(error_code::storage_failed,
                        "could not write " + path.string() + "; check the folder is writable and the disk has room");
  }
  return {};
}

expected<void> fresh_folder(const fs::path& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) return make_failure(error_code::storage_failed, "could not replace " + dir.string() + ": " + ec.message());
  fs::create_directories(dir, ec);
  if (ec) return make_failure(error_code::storage_failed, "could not create " + dir.string() + ": " + ec.message());
  return {};
}

/// Fashion-MNIST images and labels of one subset ("train" or "test").
struct fashion_part {
  std::vector<std::uint8_t> pixels;
  std::vector<std::int32_t> labels;
  std::size_t size() const { return labels.size(); }
  cv::Mat image(std::size_t i) const {
    return cv::Mat(item_size, item_size, CV_8UC1,
                   const_cast<std::uint8_t*>(pixels.data() + i * item_size * item_size));
  }
};

expected<fashion_part> load_part(const std::string& folder, const char* subset) {
  dataset_spec spec;
  spec.name = std::string("fashion-mnist ") + subset;
  spec.kind = dataset_kind::fashion_mnist;
  spec.path = folder;
  spec.subset = subset;
  auto index = load_dataset_index(spec);
  if (!index) return index.error();
  auto images = load_idx_images(spec);
  if (!images) return images.error();
  if (images->rows != item_size || images->cols != item_size) {
    return make_failure(error_code::dataset_unreadable,
                        folder + " holds " + std::to_string(images->rows) + "x" +
                            std::to_string(images->cols) + " images, not Fashion-MNIST's 28x28");
  }
  return fashion_part{std::move(images->pixels), std::move(index->labels)};
}

/// A textured background: a level, a linear gradient, smooth blotches, a few lines and noise.
cv::Mat make_background(int size, synthetic_rng& rng) {
  cv::Mat bg(size, size, CV_32FC1);
  double base = rng.uniform(30, 110);
  double angle = rng.uniform(0, 2 * pi);
  double amplitude = rng.uniform(-40, 40);
  double cx = std::cos(angle), cy = std::sin(angle);
  for (int y = 0; y < size; ++y) {
    float* row = bg.ptr<float>(y);
    for (int x = 0; x < size; ++x) {
      row[x] = static_cast<float>(base + amplitude * ((x * cx + y * cy) / size - 0.5));
    }
  }
  // Smooth blotches: a coarse random grid, upsampled.
  cv::Mat coarse(6, 6, CV_32FC1);
  double blotch = rng.uniform(5, 25);
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 6; ++x) coarse.at<float>(y, x) = static_cast<float>(rng.uniform(-blotch, blotch));
  cv::Mat smooth;
  cv::resize(coarse, smooth, cv::Size(size, size), 0, 0, cv::INTER_LINEAR);
  bg += smooth;
  // Lines of varying intensity and thickness.
  int lines = rng.between(2, 5);
  for (int i = 0; i < lines; ++i) {
    cv::Point a(rng.between(-size / 4, size + size / 4), rng.between(-size / 4, size + size / 4));
    cv::Point b(rng.between(-size / 4, size + size / 4), rng.between(-size / 4, size + size / 4));
    double delta = rng.uniform(15, 50) * (rng.below(2) ? 1 : -1);
    int thickness = rng.between(1, 3);
    cv::Mat layer = cv::Mat::zeros(size, size, CV_32FC1);
    cv::line(layer, a, b, cv::Scalar(delta), thickness, cv::LINE_8);
    bg += layer;
  }
  double sigma = rng.uniform(3, 10);
  for (int y = 0; y < size; ++y) {
    float* row = bg.ptr<float>(y);
    for (int x = 0; x < size; ++x) row[x] += static_cast<float>(sigma * rng.normal());
  }
  return bg;
}

struct placed_item {
  int label = 0;
  cv::Rect box;  // tight box of the item's non-zero pixels, in scene pixels
};

/// Overlap of two boxes relative to the smaller one.
double overlap(const cv::Rect& a, const cv::Rect& b) {
  double inter = (a & b).area();
  return inter / std::max(1, std::min(a.area(), b.area()));
}

expected<synthetic_summary> make_scenes(const synthetic_options& o, const fashion_part& train,
                                        synthetic_summary summary) {
  const fs::path root = fs::path(o.out) / "scenes";
  if (auto ok = fresh_folder(root / "images"); !ok) return ok.error();
  if (auto ok = fresh_folder(root / "masks"); !ok) return ok.error();
  synthetic_rng rng(o.seed);
  nlohmann::json images = nlohmann::json::array(), annotations = nlohmann::json::array(),
                 categories = nlohmann::json::array();
  for (int c = 0; c < class_count; ++c) {
    categories.push_back({{"id", c + 1}, {"name", class_names[c]}});
  }
  const int size = o.scene_size;
  char name[32];
  std::int64_t annotation_id = 0;
  // Items are drawn without replacement (a seeded shuffle of the 60,000, reshuffled only when
  // used up), so that up to ~24,000 scenes no item appears twice: a campaign's test scenes then
  // hold no item its training scenes showed.
  std::vector<std::size_t> deck(train.size());
  std::size_t dealt = deck.size();
  auto next_item = [&]() {
    if (dealt == deck.size()) {
      for (std::size_t i = 0; i < deck.size(); ++i) deck[i] = i;
      for (std::size_t i = deck.size(); i > 1; --i)
        std::swap(deck[i - 1], deck[static_cast<std::size_t>(rng.below(i))]);
      dealt = 0;
    }
    return deck[dealt++];
  };
  for (int s = 0; s < o.scenes; ++s) {
    cv::Mat canvas = make_background(size, rng);
    cv::Mat mask = cv::Mat::zeros(size, size, CV_8UC1);
    std::vector<placed_item> placed;
    int wanted = rng.between(o.min_items, o.max_items);
    for (int k = 0; k < wanted; ++k) {
      const std::size_t index = next_item();
      int label = train.labels[index];
      double scale = rng.uniform(o.min_scale, o.max_scale);
      int side = std::max(1, static_cast<int>(std::lround(item_size * scale)));
      side = std::min(side, size);
      cv::Mat item;
      cv::resize(train.image(index), item, cv::Size(side, side), 0, 0, cv::INTER_LINEAR);
      cv::Rect tight = cv::boundingRect(item);  // non-zero pixels
      if (tight.area() == 0) continue;
      // Up to 30 positions; the item is dropped when none keeps the overlap small, so that no
      // item hides another.
      for (int attempt = 0; attempt < 30; ++attempt) {
        int x = rng.between(0, size - side), y = rng.between(0, size - side);
        cv::Rect box(tight.x + x, tight.y + y, tight.width, tight.height);
        bool fits = std::all_of(placed.begin(), placed.end(),
                                [&](const placed_item& p) { return overlap(p.box, box) <= 0.2; });
        if (!fits) continue;
        // Paste as an opaque object: alpha rises from 0 at black to 1 at o.opaque_from, so only
        // the item's black surround (Fashion-MNIST's background) and its soft edge let the
        // background through, and a dark garment stays dark.
        const float ramp = static_cast<float>(std::max(1, o.opaque_from));
        for (int r = 0; r < side; ++r) {
          const std::uint8_t* src = item.ptr<std::uint8_t>(r);
          float* dst = canvas.ptr<float>(r + y);
          std::uint8_t* m = mask.ptr<std::uint8_t>(r + y);
          for (int c = 0; c < side; ++c) {
            float alpha = std::min(1.0f, src[c] / ramp);
            dst[c + x] = alpha * src[c] + (1 - alpha) * dst[c + x];
            if (src[c] > o.mask_threshold) m[c + x] = static_cast<std::uint8_t>(label + 1);
          }
        }
        placed.push_back({label, box});
        break;
      }
    }
    cv::Mat image;
    canvas.convertTo(image, CV_8UC1);  // rounds and saturates to 0-255
    std::snprintf(name, sizeof name, "%06d.png", s);
    if (auto ok = write_png(root / "images" / name, image); !ok) return ok.error();
    if (auto ok = write_png(root / "masks" / name, mask); !ok) return ok.error();
    images.push_back({{"id", s + 1}, {"file_name", name}, {"width", size}, {"height", size}});
    for (const auto& p : placed) {
      annotations.push_back({{"id", ++annotation_id},
                             {"image_id", s + 1},
                             {"category_id", p.label + 1},
                             {"bbox", {p.box.x, p.box.y, p.box.width, p.box.height}},
                             {"area", p.box.area()},
                             {"iscrowd", 0}});
    }
    summary.boxes += static_cast<int>(placed.size());
  }
  nlohmann::json coco = {{"info", {{"description", "trainyard synthetic scenes from Fashion-MNIST"},
                                   {"seed", o.seed}}},
                         {"images", images},
                         {"annotations", annotations},
                         {"categories", categories}};
  if (auto ok = write_text(root / "boxes.json", coco.dump(1) + "\n"); !ok) return ok.error();
  std::string table = "# label table of the masks: INDEX NAME (0 is the background)\n0 background\n";
  for (int c = 0; c < class_count; ++c) table += std::to_string(c + 1) + " " + class_names[c] + "\n";
  if (auto ok = write_text(root / "labels.txt", table); !ok) return ok.error();
  summary.scenes = o.scenes;
  return summary;
}

expected<synthetic_summary> make_anomaly_sets(const synthetic_options& o, const fashion_part& train,
                                              const fashion_part& test, synthetic_summary summary) {
  std::array<std::vector<std::size_t>, class_count> train_of{}, test_of{};
  for (std::size_t i = 0; i < train.size(); ++i) train_of[train.labels[i]].push_back(i);
  for (std::size_t i = 0; i < test.size(); ++i) test_of[test.labels[i]].push_back(i);
  char name[48];
  for (int c = 0; c < class_count; ++c) {
    const fs::path root = fs::path(o.out) / ("anomaly-" + std::to_string(c));
    if (auto ok = fresh_folder(root / "good"); !ok) return ok.error();
    if (auto ok = fresh_folder(root / "defect"); !ok) return ok.error();
    // Good: the first images of class c in file order, from the training then the test file.
    auto n_train = std::min<std::size_t>(static_cast<std::size_t>(o.anomaly_train_good), train_of[c].size());
    for (std::size_t k = 0; k < n_train; ++k) {
      std::snprintf(name, sizeof name, "train-%05zu.png", train_of[c][k]);
      if (auto ok = write_png(root / "good" / name, train.image(train_of[c][k])); !ok) return ok.error();
    }
    auto n_test = std::min<std::size_t>(static_cast<std::size_t>(o.anomaly_test_good), test_of[c].size());
    for (std::size_t k = 0; k < n_test; ++k) {
      std::snprintf(name, sizeof name, "test-%05zu.png", test_of[c][k]);
      if (auto ok = write_png(root / "good" / name, test.image(test_of[c][k])); !ok) return ok.error();
    }
    // Defects: test images of the other classes, as balanced as the count allows, drawn by a
    // generator of this class's own (so each set does not depend on the options of the others).
    synthetic_rng rng(o.seed * 0x100000001b3ULL + static_cast<std::uint64_t>(c) + 1);
    std::vector<std::size_t> defects;
    int others = class_count - 1;
    int per_class = o.anomaly_defect / others, extra = o.anomaly_defect % others;
    int seen = 0;
    for (int d = 0; d < class_count; ++d) {
      if (d == c) continue;
      std::vector<std::size_t> pool = test_of[d];
      for (std::size_t i = pool.size(); i > 1; --i) std::swap(pool[i - 1], pool[rng.below(i)]);
      auto take = std::min<std::size_t>(pool.size(), static_cast<std::size_t>(per_class + (seen < extra ? 1 : 0)));
      defects.insert(defects.end(), pool.begin(), pool.begin() + static_cast<std::ptrdiff_t>(take));
      ++seen;
    }
    std::sort(defects.begin(), defects.end());
    for (std::size_t i : defects) {
      std::snprintf(name, sizeof name, "test-%05zu.png", i);
      if (auto ok = write_png(root / "defect" / name, test.image(i)); !ok) return ok.error();
    }
    summary.anomaly_images += static_cast<int>(n_train + n_test + defects.size());
    ++summary.anomaly_sets;
  }
  return summary;
}

}  // namespace

const char* synthetic_class_name(int label) {
  return label >= 0 && label < class_count ? class_names[label] : "?";
}

expected<synthetic_summary> make_synthetic_datasets(const synthetic_options& o) {
  if (o.out.empty()) return invalid("--out is required: the folder to write the datasets into");
  if (o.scenes < 0) return invalid("--images must be >= 0");
  if (o.scene_size < item_size * 2 || o.scene_size > 4096) {
    return invalid("scene size must be 56-4096 pixels, got " + std::to_string(o.scene_size));
  }
  if (o.min_items < 1 || o.max_items < o.min_items) return invalid("items per scene must be 1 <= min <= max");
  if (!(o.min_scale > 0) || o.max_scale < o.min_scale || o.max_scale * item_size > o.scene_size) {
    return invalid("item scales must be 0 < min <= max and fit the scene");
  }
  if (o.anomaly_train_good < 0 || o.anomaly_test_good < 0 || o.anomaly_defect < 0) {
    return invalid("anomaly image counts must be >= 0");
  }
  cv::setNumThreads(0);  // one thread: the work is small and the order of draws is fixed anyway
  auto train = load_part(o.fashion_mnist, "train");
  if (!train) return train.error();
  synthetic_summary summary;
  auto scenes = make_scenes(o, *train, summary);
  if (!scenes) return scenes.error();
  summary = *scenes;
  if (o.scenes_only) return summary;
  auto test = load_part(o.fashion_mnist, "test");
  if (!test) return test.error();
  return make_anomaly_sets(o, *train, *test, summary);
}

}  // namespace trainyard
