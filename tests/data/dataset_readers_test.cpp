// Indexes of coco, masks and anomaly datasets built in a temporary folder, the zlib-only PNG
// reader of label masks, and the anomaly split rule (defects never train).
#include "runtime/data/dataset_readers.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "runtime/data/dataset_index.hpp"
#include "runtime/data/splits.hpp"
#include "tests/support/temp_folder.hpp"

namespace trainyard {
namespace {

namespace fs = std::filesystem;
using testing::temp_folder;

void write_bytes(const fs::path& p, const std::vector<unsigned char>& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

void write_text(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out << text;
}

void put_be32(std::vector<unsigned char>& v, std::uint32_t x) {
  for (int shift = 24; shift >= 0; shift -= 8) v.push_back(static_cast<unsigned char>(x >> shift));
}

void put_chunk(std::vector<unsigned char>& png, const char* type,
               const std::vector<unsigned char>& data) {
  put_be32(png, static_cast<std::uint32_t>(data.size()));
  std::vector<unsigned char> body(type, type + 4);
  body.insert(body.end(), data.begin(), data.end());
  png.insert(png.end(), body.begin(), body.end());
  put_be32(png, static_cast<std::uint32_t>(crc32(0, body.data(), static_cast<uInt>(body.size()))));
}

/// A minimal PNG encoder: 8-bit, `colour_type` (0 gray, 2 RGB), each row with filter `filter`
/// (0 none or 1 sub, so the reader's unfiltering is exercised).
std::vector<unsigned char> encode_png(int w, int h, const std::vector<unsigned char>& pixels,
                                      int colour_type = 0, int filter = 0) {
  int channels = colour_type == 2 ? 3 : 1;
  std::vector<unsigned char> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  std::vector<unsigned char> ihdr;
  put_be32(ihdr, static_cast<std::uint32_t>(w));
  put_be32(ihdr, static_cast<std::uint32_t>(h));
  ihdr.insert(ihdr.end(), {8, static_cast<unsigned char>(colour_type), 0, 0, 0});
  put_chunk(png, "IHDR", ihdr);
  std::vector<unsigned char> raw;
  std::size_t stride = static_cast<std::size_t>(w) * channels;
  for (int y = 0; y < h; ++y) {
    raw.push_back(static_cast<unsigned char>(filter));
    for (std::size_t x = 0; x < stride; ++x) {
      unsigned char v = pixels[y * stride + x];
      unsigned char left = x >= static_cast<std::size_t>(channels) ? pixels[y * stride + x - channels] : 0;
      raw.push_back(filter == 1 ? static_cast<unsigned char>(v - left) : v);
    }
  }
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  std::vector<unsigned char> z(size);
  compress(z.data(), &size, raw.data(), static_cast<uLong>(raw.size()));
  z.resize(size);
  put_chunk(png, "IDAT", z);
  put_chunk(png, "IEND", {});
  return png;
}

TEST(ReadGrayPng, ReadsPixelsWithAndWithoutRowFilters) {
  temp_folder dir("readers-test");
  std::vector<unsigned char> pixels;
  for (int i = 0; i < 5 * 3; ++i) pixels.push_back(static_cast<unsigned char>(i * 17 % 7));
  for (int filter : {0, 1}) {
    SCOPED_TRACE(filter);
    write_bytes(dir / "m.png", encode_png(5, 3, pixels, 0, filter));
    auto m = read_gray_png((dir / "m.png").string());
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(m->width, 5);
    EXPECT_EQ(m->height, 3);
    EXPECT_EQ(m->pixels, pixels);
  }
}

TEST(ReadGrayPng, RefusesColourAndNonPngFiles) {
  temp_folder dir("readers-test");
  write_bytes(dir / "rgb.png", encode_png(2, 2, std::vector<unsigned char>(12, 1), 2));
  auto m = read_gray_png((dir / "rgb.png").string());
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, error_code::image_corrupt);
  EXPECT_NE(m.error().message.find("is a colour PNG"), std::string::npos) << m.error().message;
  EXPECT_NE(m.error().message.find("8-bit single-channel"), std::string::npos);
  write_text(dir / "text.png", "hello");
  m = read_gray_png((dir / "text.png").string());
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("is not a PNG file"), std::string::npos);
  m = read_gray_png((dir / "none.png").string());
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, error_code::dataset_unreadable);
}

TEST(ReadGrayPng, RefusesASizeItsPixelDataCannotHoldWithoutAllocatingForIt) {
  temp_folder dir("readers-test");
  // A 1x1 mask whose header is rewritten to declare 65535x65535 pixels (4 GB unpacked).
  std::vector<unsigned char> png = encode_png(1, 1, {0});
  for (std::size_t at : {16, 20}) png[at + 2] = png[at + 3] = 0xff;
  write_bytes(dir / "huge.png", png);
  auto m = read_gray_png((dir / "huge.png").string());
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, error_code::image_corrupt);
  EXPECT_NE(m.error().message.find("declares 65535x65535 pixels but holds only"),
            std::string::npos) << m.error().message;
  // A large mask of one value compresses about as far as deflate can and still reads.
  write_bytes(dir / "flat.png", encode_png(2000, 2000, std::vector<unsigned char>(4000000, 0)));
  m = read_gray_png((dir / "flat.png").string());
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->pixels.size(), 4000000u);
}

TEST(CocoIndex, FilesSortedAndFirstBoxLabels) {
  temp_folder dir("readers-test");
  for (const char* f : {"c.png", "a.png", "b.png"}) write_text(dir / "img" / f, "x");
  write_text(dir / "boxes.json", R"({
    "images": [{"id": 1, "file_name": "c.png", "width": 10, "height": 10},
               {"id": 2, "file_name": "a.png", "width": 10, "height": 10},
               {"id": 3, "file_name": "b.png", "width": 10, "height": 10}],
    "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
    "annotations": [{"image_id": 1, "category_id": 2, "bbox": [0, 0, 2, 2]},
                    {"image_id": 1, "category_id": 1, "bbox": [0, 0, 2, 2]},
                    {"image_id": 2, "category_id": 1, "bbox": [1, 1, 2, 2]}]})");
  dataset_spec spec;
  spec.name = "boxes";
  spec.kind = dataset_kind::coco;
  spec.path = (dir / "img").string();
  spec.annotations = (dir / "boxes.json").string();
  auto index = load_dataset_index(spec);
  ASSERT_TRUE(index) << index.error().message;
  ASSERT_EQ(index->files.size(), 3u);
  EXPECT_EQ(fs::path(index->files[0]).filename(), "a.png");
  EXPECT_EQ(fs::path(index->files[2]).filename(), "c.png");
  EXPECT_EQ(index->labels, (std::vector<std::int32_t>{0, 2, 1}));  // b.png has no box
  EXPECT_EQ(index->class_names, (std::vector<std::string>{"cat", "dog", "(no objects)"}));
  auto boxes = load_boxes(spec);
  ASSERT_TRUE(boxes) << boxes.error().message;
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(boxes->images[i].file, index->files[i]);
  EXPECT_EQ(boxes->images[2].boxes.size(), 2u);
}

TEST(MasksIndex, LabelsSayWhetherTheMaskHasForeground) {
  temp_folder dir("readers-test");
  write_text(dir / "img/a.png", "x");
  write_text(dir / "img/b.jpg", "x");
  write_text(dir / "img/notes.txt", "not an image");
  write_bytes(dir / "masks/a.png", encode_png(2, 2, {0, 0, 0, 0}));
  write_bytes(dir / "masks/b.png", encode_png(2, 2, {0, 2, 0, 0}));
  write_text(dir / "labels.txt", "0 background\n1 x\n2 y\n");
  dataset_spec spec;
  spec.kind = dataset_kind::masks;
  spec.path = (dir / "img").string();
  spec.masks = (dir / "masks").string();
  spec.annotations = (dir / "labels.txt").string();
  auto index = load_dataset_index(spec);
  ASSERT_TRUE(index) << index.error().message;
  EXPECT_EQ(index->class_names, (std::vector<std::string>{"background", "x", "y"}));
  EXPECT_EQ(index->labels, (std::vector<std::int32_t>{0, 1}));
  ASSERT_EQ(index->mask_files.size(), 2u);
  EXPECT_EQ(index->mask_files[1], (dir / "masks/b.png").string());

  fs::remove(dir / "masks/b.png");
  index = load_dataset_index(spec);
  ASSERT_FALSE(index);
  EXPECT_EQ(index.error().code, error_code::dataset_unreadable);
  EXPECT_NE(index.error().message.find("b.jpg has no mask"), std::string::npos)
      << index.error().message;

  spec.annotations.clear();
  index = load_dataset_index(spec);
  ASSERT_FALSE(index);
  EXPECT_NE(index.error().message.find("no label table"), std::string::npos);
}

void write_anomaly(const fs::path& root, int good, int defect) {
  for (int i = 0; i < good; ++i) write_text(root / "good" / ("g" + std::to_string(1000 + i) + ".png"), "x");
  for (int i = 0; i < defect; ++i) write_text(root / "defect" / ("d" + std::to_string(1000 + i) + ".png"), "x");
}

TEST(AnomalyIndex, GoodThenDefectWithTheirMasks) {
  temp_folder dir("readers-test");
  write_anomaly(dir.path(), 3, 2);
  write_bytes(dir / "gt/d1001.png", encode_png(1, 1, {1}));
  dataset_spec spec;
  spec.kind = dataset_kind::anomaly;
  spec.path = dir.str();
  spec.masks = (dir / "gt").string();
  auto index = load_dataset_index(spec);
  ASSERT_TRUE(index) << index.error().message;
  EXPECT_EQ(index->class_names, (std::vector<std::string>{"good", "defect"}));
  EXPECT_EQ(index->labels, (std::vector<std::int32_t>{0, 0, 0, 1, 1}));
  EXPECT_EQ(fs::path(index->files[3]).filename(), "d1000.png");
  EXPECT_EQ(index->mask_files,
            (std::vector<std::string>{"", "", "", "", (dir / "gt/d1001.png").string()}));
}

TEST(AnomalyIndex, NoGoodImagesIsAnError) {
  temp_folder dir("readers-test");
  write_anomaly(dir.path(), 0, 2);
  dataset_spec spec;
  spec.name = "parts";
  spec.kind = dataset_kind::anomaly;
  spec.path = dir.str();
  auto index = load_dataset_index(spec);
  ASSERT_FALSE(index);
  EXPECT_EQ(index.error().code, error_code::dataset_unreadable);
  EXPECT_NE(index.error().message.find("dataset 'parts'"), std::string::npos);
  EXPECT_NE(index.error().message.find("holds no images"), std::string::npos)
      << index.error().message;
}

dataset_index anomaly_index(int good, int defect) {
  dataset_index index;
  index.spec.name = "parts";
  index.spec.kind = dataset_kind::anomaly;
  index.class_names = {"good", "defect"};
  index.labels.assign(static_cast<std::size_t>(good), 0);
  index.labels.insert(index.labels.end(), static_cast<std::size_t>(defect), 1);
  return index;
}

std::array<std::array<int, 4>, 2> count_sets(const dataset_index& index,
                                             const std::vector<std::uint8_t>& a) {
  std::array<std::array<int, 4>, 2> c{};
  for (std::size_t i = 0; i < a.size(); ++i) ++c[index.labels[i]][a[i]];
  return c;
}

TEST(AnomalySplit, DefectsNeverTrainAndSplitByValidationToTest) {
  auto index = anomaly_index(300, 100);
  for (bool stratified : {true, false}) {
    split_spec spec;
    spec.stratified = stratified;  // the rule holds either way
    spec.train = 0.8;
    spec.validation = 0.1;
    spec.test = 0.1;
    auto a = make_split(index, spec);
    ASSERT_TRUE(a) << a.error().message;
    auto c = count_sets(index, *a);
    EXPECT_EQ(c[1][train_set], 0);
    EXPECT_EQ(c[0][train_set], 240);
    EXPECT_EQ(c[0][validation_set], 30);
    EXPECT_EQ(c[0][test_set], 30);
    EXPECT_EQ(c[1][validation_set], 50);
    EXPECT_EQ(c[1][test_set], 50);
  }
  // 0.6 / 0.1 / 0.3: defects 1:3 between validation and test; half the dataset unused.
  split_spec spec;
  spec.train = 0.3;
  spec.validation = 0.05;
  spec.test = 0.15;
  auto a = make_split(index, spec);
  ASSERT_TRUE(a) << a.error().message;
  auto c = count_sets(index, *a);
  EXPECT_EQ(c[1][train_set], 0);
  EXPECT_EQ(c[0][train_set], 90);
  EXPECT_EQ(c[1][validation_set], 12);
  EXPECT_EQ(c[1][test_set], 38);
  EXPECT_EQ(c[1][unused], 50);
}

TEST(AnomalySplit, CountModeTrainsOnGoodImagesOnly) {
  auto index = anomaly_index(300, 100);
  split_spec spec;
  spec.mode = split_mode::count;
  spec.train = 250;
  spec.validation = 60;
  spec.test = 60;
  auto a = make_split(index, spec);
  ASSERT_TRUE(a) << a.error().message;
  auto c = count_sets(index, *a);
  EXPECT_EQ(c[0][train_set], 250);
  EXPECT_EQ(c[1][train_set], 0);
  EXPECT_EQ(c[0][validation_set] + c[1][validation_set], 60);
  EXPECT_EQ(c[0][test_set] + c[1][test_set], 60);
  EXPECT_GT(c[1][validation_set], 30);  // 100 of the 150 images left are defects
  EXPECT_GT(c[1][test_set], 30);

  spec.train = 301;
  spec.validation = 0;
  spec.test = 0;
  a = make_split(index, spec);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, error_code::invalid_config);
  EXPECT_NE(a.error().message.find("exceeds the 300 good images"), std::string::npos)
      << a.error().message;
}

TEST(AnomalySplit, SeededAndStable) {
  auto index = anomaly_index(50, 20);
  split_spec spec;
  auto a = make_split(index, spec);
  auto b = make_split(index, spec);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);
  spec.seed = 7;
  auto c = make_split(index, spec);
  ASSERT_TRUE(c);
  EXPECT_NE(*a, *c);
}

}  // namespace
}  // namespace trainyard
