// The synthetic datasets made from the real Fashion-MNIST: byte-identical reruns, COCO boxes that
// read back through read_coco, masks that agree with the boxes, and indexes of all three kinds;
// label masks read with OpenCV (read_mask) and their errors.
#include "runtime/lab/synthetic_sets.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "runtime/data/annotations.hpp"
#include "runtime/data/dataset_index.hpp"
#include "runtime/data/dataset_readers.hpp"
#include "runtime/train/images.hpp"
#include "runtime/tasks/common/masks.hpp"
#include "tests/support/torch_test_support.hpp"

namespace trainyard {
namespace {

namespace fs = std::filesystem;
using testing::temp_folder;

synthetic_options small_options(const fs::path& out) {
  synthetic_options o;
  o.out = out.string();
  o.seed = 3;
  o.scenes = 24;
  o.anomaly_train_good = 6;
  o.anomaly_test_good = 4;
  o.anomaly_defect = 10;
  return o;
}

std::map<std::string, std::string> read_tree(const fs::path& root) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    files[fs::relative(e.path(), root).string()] =
        std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return files;
}

/// One generated tree for the tests that only read it.
const fs::path& generated() {
  static temp_folder dir("synthetic-test");
  static bool made = [] {
    auto s = make_synthetic_datasets(small_options(dir.path()));
    EXPECT_TRUE(s) << s.error().message;
    return bool(s);
  }();
  EXPECT_TRUE(made);
  return dir.path();
}

TEST(SyntheticSets, SameOptionsSameBytes) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  temp_folder a("synthetic-test"), b("synthetic-test");
  auto sa = make_synthetic_datasets(small_options(a.path()));
  ASSERT_TRUE(sa) << sa.error().message;
  auto sb = make_synthetic_datasets(small_options(b.path()));
  ASSERT_TRUE(sb) << sb.error().message;
  EXPECT_EQ(sa->scenes, 24);
  EXPECT_EQ(sa->boxes, sb->boxes);
  EXPECT_GE(sa->boxes, 24);
  EXPECT_EQ(sa->anomaly_sets, 10);
  EXPECT_EQ(sa->anomaly_images, 10 * (6 + 4 + 10));
  auto ta = read_tree(a.path()), tb = read_tree(b.path());
  EXPECT_EQ(ta.size(), 2 * 24 + 2 + 10 * 20u);
  EXPECT_TRUE(ta == tb) << "two runs with the same options wrote different files";
  // Another seed gives other scenes.
  auto o = small_options(b.path());
  o.seed = 4;
  o.scenes_only = true;
  ASSERT_TRUE(make_synthetic_datasets(o));
  EXPECT_NE(read_tree(b.path() / "scenes"), read_tree(a.path() / "scenes"));
}

TEST(SyntheticSets, CocoFileReadsBackWithTightBoxesInsideTheImages) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  const fs::path root = generated() / "scenes";
  auto d = read_coco((root / "boxes.json").string(), (root / "images").string());
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_EQ(d->labels.size(), 10u);
  EXPECT_EQ(d->labels[9], "Ankle_boot");
  ASSERT_EQ(d->images.size(), 24u);
  for (const auto& image : d->images) {
    EXPECT_EQ(image.width, 96);
    EXPECT_GE(image.boxes.size(), 1u);
    EXPECT_LE(image.boxes.size(), 4u);
    auto summary = summarize_image(image.file);
    ASSERT_TRUE(summary) << summary.error().message;
    EXPECT_EQ(summary->width, 96);
    EXPECT_EQ(summary->channels, 1);
    for (const auto& b : image.boxes) {
      EXPECT_GE(b.x, 0);
      EXPECT_LE(b.x + b.width, 96);
      EXPECT_GE(b.width, 5);  // an item 0.8 x 28 pixels wide is no speck
      EXPECT_LE(b.width, 45);
    }
  }
}

TEST(SyntheticSets, MasksLieInsideTheBoxesOfTheirClass) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  const fs::path root = generated() / "scenes";
  auto d = read_coco((root / "boxes.json").string(), (root / "images").string());
  ASSERT_TRUE(d) << d.error().message;
  auto table = read_label_table((root / "labels.txt").string());
  ASSERT_TRUE(table) << table.error().message;
  ASSERT_EQ(table->size(), 11u);
  std::size_t foreground = 0;
  for (const auto& image : d->images) {
    std::string mask_file = (root / "masks" / fs::path(image.file).filename()).string();
    auto mask = read_mask(mask_file, 96, 96, static_cast<int>(table->size()));
    ASSERT_TRUE(mask) << mask.error().message;
    // The zlib-only reader of the dataset index sees the same pixels as OpenCV.
    auto gray = read_gray_png(mask_file);
    ASSERT_TRUE(gray) << gray.error().message;
    EXPECT_EQ(gray->pixels, *mask);
    for (int y = 0; y < 96; ++y) {
      for (int x = 0; x < 96; ++x) {
        int v = (*mask)[static_cast<std::size_t>(y) * 96 + x];
        if (v == 0) continue;
        ++foreground;
        bool inside = false;
        for (const auto& b : image.boxes) {
          inside |= b.label == v - 1 && x >= b.x && x < b.x + b.width && y >= b.y &&
                    y < b.y + b.height;
        }
        ASSERT_TRUE(inside) << mask_file << ": pixel (" << x << ", " << y << ") of label " << v
                            << " lies in no box of class " << v - 1;
      }
    }
    // Every box holds some of its item's mask (items may overlap only a little).
    for (const auto& b : image.boxes) {
      int count = 0;
      for (int y = static_cast<int>(b.y); y < b.y + b.height; ++y)
        for (int x = static_cast<int>(b.x); x < b.x + b.width; ++x)
          count += (*mask)[static_cast<std::size_t>(y) * 96 + x] == b.label + 1;
      EXPECT_GT(count, 0) << mask_file;
    }
  }
  EXPECT_GT(foreground, 24u * 50);
}

TEST(SyntheticSets, IndexesOfTheThreeKinds) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  const fs::path root = generated();
  dataset_spec coco;
  coco.kind = dataset_kind::coco;
  coco.path = (root / "scenes/images").string();
  coco.annotations = (root / "scenes/boxes.json").string();
  auto ci = load_dataset_index(coco);
  ASSERT_TRUE(ci) << ci.error().message;
  EXPECT_EQ(ci->size(), 24u);
  EXPECT_EQ(ci->class_names.size(), 10u);  // every scene has an item: no "(no objects)"

  dataset_spec masks;
  masks.kind = dataset_kind::masks;
  masks.path = coco.path;
  masks.masks = (root / "scenes/masks").string();
  masks.annotations = (root / "scenes/labels.txt").string();
  auto mi = load_dataset_index(masks);
  ASSERT_TRUE(mi) << mi.error().message;
  EXPECT_EQ(mi->size(), 24u);
  EXPECT_EQ(mi->files, ci->files);
  EXPECT_EQ(mi->class_names[0], "background");

  dataset_spec anomaly;
  anomaly.kind = dataset_kind::anomaly;
  anomaly.path = (root / "anomaly-3").string();
  auto ai = load_dataset_index(anomaly);
  ASSERT_TRUE(ai) << ai.error().message;
  EXPECT_EQ(ai->size(), 20u);
  EXPECT_EQ(std::count(ai->labels.begin(), ai->labels.end(), 1), 10);
  // Good images are class 3 and defects the others: read back the test labels to check.
  dataset_spec test_part;
  test_part.path = testing::fashion_mnist_folder();
  test_part.subset = "test";
  auto labels = load_dataset_index(test_part);
  ASSERT_TRUE(labels);
  for (std::size_t i = 0; i < ai->size(); ++i) {
    std::string name = fs::path(ai->files[i]).stem().string();
    if (name.rfind("test-", 0) != 0) continue;
    int label = labels->labels[std::stoul(name.substr(5))];
    EXPECT_EQ(label == 3, ai->labels[i] == 0) << ai->files[i];
  }
}

TEST(ReadMask, WrongSizeUnknownLabelAndColourAreRefused) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  const fs::path mask = generated() / "scenes/masks/000000.png";
  auto m = read_mask(mask.string(), 64, 96, 11);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, error_code::image_corrupt);
  EXPECT_NE(m.error().message.find("is 96x96 pixels but its image is 64x96"), std::string::npos)
      << m.error().message;
  m = read_mask(mask.string(), 96, 96, 1);  // only the background declared
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("pixel (x "), std::string::npos) << m.error().message;
  EXPECT_NE(m.error().message.find("has the value"), std::string::npos);
  EXPECT_NE(m.error().message.find(mask.string()), std::string::npos);
  // A colour image is not a mask.
  temp_folder dir("synthetic-test");
  std::vector<std::uint8_t> rgb(3 * 4 * 4, 0);
  ASSERT_TRUE(write_png((dir / "rgb.png").string(), image_geometry{3, 4, 4}, rgb.data()));
  m = read_mask((dir / "rgb.png").string(), 4, 4, 2);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("3 channel(s)"), std::string::npos) << m.error().message;
  m = read_mask((dir / "none.png").string(), 4, 4, 2);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, error_code::dataset_unreadable);
}

}  // namespace
}  // namespace trainyard
