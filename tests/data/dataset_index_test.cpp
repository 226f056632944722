// Dataset indexes on the real Fashion-MNIST files (Debian package dataset-fashion-mnist), small
// image folders and damaged IDX files written to a temporary folder; seeded, stratified splits
// and the locked-split rules.
#include "runtime/data/dataset_index.hpp"
#include "runtime/data/splits.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "tests/support/temp_folder.hpp"

namespace trainyard {
namespace {

namespace fs = std::filesystem;

const std::string fashion_mnist_dir = "/usr/share/datasets/fashion-mnist";

using testing::temp_folder;

std::vector<char> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& p, const std::vector<char>& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void put_be32(std::vector<unsigned char>& v, std::uint32_t x) {
  for (int shift = 24; shift >= 0; shift -= 8) v.push_back(static_cast<unsigned char>(x >> shift));
}

void write_gz(const fs::path& p, const std::vector<unsigned char>& bytes) {
  gzFile f = gzopen(p.string().c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  gzclose(f);
}

std::vector<unsigned char> idx_labels(std::uint32_t magic,
                                      const std::vector<unsigned char>& labels) {
  std::vector<unsigned char> v;
  put_be32(v, magic);
  put_be32(v, static_cast<std::uint32_t>(labels.size()));
  v.insert(v.end(), labels.begin(), labels.end());
  return v;
}

std::vector<unsigned char> idx_images(std::uint32_t count, std::uint32_t rows, std::uint32_t cols) {
  std::vector<unsigned char> v;
  put_be32(v, 0x803);
  put_be32(v, count);
  put_be32(v, rows);
  put_be32(v, cols);
  for (std::uint32_t i = 0; i < count * rows * cols; ++i)
    v.push_back(static_cast<unsigned char>(i));
  return v;
}

/// A small, valid Fashion-MNIST-shaped folder: 3 training and 2 test images of 2x2 pixels.
void write_small_fashion_mnist(const fs::path& dir) {
  write_gz(dir / "train-labels-idx1-ubyte.gz", idx_labels(0x801, {9, 0, 3}));
  write_gz(dir / "train-images-idx3-ubyte.gz", idx_images(3, 2, 2));
  write_gz(dir / "t10k-labels-idx1-ubyte.gz", idx_labels(0x801, {1, 2}));
  write_gz(dir / "t10k-images-idx3-ubyte.gz", idx_images(2, 2, 2));
}

dataset_spec fashion_spec(const std::string& path, const std::string& subset = "all") {
  dataset_spec spec;
  spec.name = "fm";
  spec.kind = dataset_kind::fashion_mnist;
  spec.path = path;
  spec.subset = subset;
  return spec;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::map<std::int32_t, int> count_labels(const std::vector<std::int32_t>& labels) {
  std::map<std::int32_t, int> counts;
  for (auto l : labels) ++counts[l];
  return counts;
}

/// Loaded once for the whole binary: the split tests share it.
const dataset_index& real_fashion_mnist() {
  static const dataset_index index = [] {
    auto loaded = load_dataset_index(fashion_spec(fashion_mnist_dir));
    if (!loaded) throw std::runtime_error(loaded.error().message);
    return *loaded;
  }();
  return index;
}

// --- Fashion-MNIST ------------------------------------------------------------------------------

TEST(DatasetIndexFashionMnist, AllHas70000ImagesWith7000PerClass) {
  const auto& index = real_fashion_mnist();
  ASSERT_EQ(index.size(), 70000u);
  EXPECT_TRUE(index.files.empty());
  ASSERT_EQ(index.class_names.size(), 10u);
  EXPECT_EQ(index.class_names[0], "T-shirt/top");
  EXPECT_EQ(index.class_names[9], "Ankle boot");
  auto counts = count_labels(index.labels);
  ASSERT_EQ(counts.size(), 10u);
  for (const auto& [label, count] : counts) EXPECT_EQ(count, 7000) << "label " << label;
  // Known first labels of the training file (9 0 0 3 0 2) and of the test file (9 2 1 1).
  EXPECT_EQ(std::vector<std::int32_t>(index.labels.begin(), index.labels.begin() + 6),
            (std::vector<std::int32_t>{9, 0, 0, 3, 0, 2}));
  EXPECT_EQ(std::vector<std::int32_t>(index.labels.begin() + 60000, index.labels.begin() + 60004),
            (std::vector<std::int32_t>{9, 2, 1, 1}));
}

TEST(DatasetIndexFashionMnist, SubsetsTrainAndTest) {
  auto train = load_dataset_index(fashion_spec(fashion_mnist_dir, "train"));
  ASSERT_TRUE(train) << train.error().message;
  EXPECT_EQ(train->size(), 60000u);
  EXPECT_EQ(train->labels.front(), 9);
  for (const auto& [label, count] : count_labels(train->labels)) EXPECT_EQ(count, 6000);
  auto test = load_dataset_index(fashion_spec(fashion_mnist_dir, "test"));
  ASSERT_TRUE(test) << test.error().message;
  EXPECT_EQ(test->size(), 10000u);
  EXPECT_EQ(std::vector<std::int32_t>(test->labels.begin(), test->labels.begin() + 4),
            (std::vector<std::int32_t>{9, 2, 1, 1}));
  for (const auto& [label, count] : count_labels(test->labels)) EXPECT_EQ(count, 1000);
}

TEST(DatasetIndexFashionMnist, UnknownSubsetIsInvalidConfig) {
  auto index = load_dataset_index(fashion_spec(fashion_mnist_dir, "validation"));
  ASSERT_FALSE(index);
  EXPECT_EQ(index.error().code, error_code::invalid_config);
  EXPECT_TRUE(contains(index.error().message, "validation"));
}

TEST(DatasetIndexFashionMnist, ImagesOfTheRealFiles) {
  auto images = load_idx_images(fashion_spec(fashion_mnist_dir));
  ASSERT_TRUE(images) << images.error().message;
  EXPECT_EQ(images->count, 70000);
  EXPECT_EQ(images->rows, 28);
  EXPECT_EQ(images->cols, 28);
  ASSERT_EQ(images->pixels.size(), 70000u * 28 * 28);
  auto image_sum = [&](std::size_t i) {
    long sum = 0;
    for (std::size_t p = 0; p < 784; ++p) sum += images->pixels[i * 784 + p];
    return sum;
  };
  // Pixel sums of the first training image and of the first test image.
  EXPECT_EQ(image_sum(0), 76247);
  EXPECT_EQ(image_sum(60000), 33456);
}

TEST(DatasetIndexFashionMnist, ImagesOfOneSubset) {
  temp_folder dir("dataset-index-test");
  write_small_fashion_mnist(dir.path());
  auto test = load_idx_images(fashion_spec(dir.path().string(), "test"));
  ASSERT_TRUE(test) << test.error().message;
  EXPECT_EQ(test->count, 2);
  EXPECT_EQ(test->pixels, (std::vector<std::uint8_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  auto all = load_idx_images(fashion_spec(dir.path().string()));
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(all->count, 5);
  EXPECT_EQ(all->pixels.size(), 20u);
}

TEST(DatasetIndexFashionMnist, SmallFolderAndUnzippedFiles) {
  temp_folder dir("dataset-index-test");
  write_small_fashion_mnist(dir.path());
  auto index = load_dataset_index(fashion_spec(dir.path().string()));
  ASSERT_TRUE(index) << index.error().message;
  EXPECT_EQ(index->labels, (std::vector<std::int32_t>{9, 0, 3, 1, 2}));
  // Unzipped copies are read too (what LibTorch's own MNIST reader wants).
  auto labels = dir.path() / "t10k-labels-idx1-ubyte";
  gzFile f = gzopen((dir.path() / "t10k-labels-idx1-ubyte.gz").string().c_str(), "rb");
  ASSERT_NE(f, nullptr);
  std::vector<char> raw(100);
  int got = gzread(f, raw.data(), 100);
  gzclose(f);
  raw.resize(static_cast<std::size_t>(got));
  write_file(labels, raw);
  fs::remove(dir.path() / "t10k-labels-idx1-ubyte.gz");
  auto again = load_dataset_index(fashion_spec(dir.path().string()));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->labels, index->labels);
}

TEST(DatasetIndexFashionMnist, MissingFolderSaysWhatToInstall) {
  temp_folder dir("dataset-index-test");
  auto missing = (dir.path() / "nowhere").string();
  auto index = load_dataset_index(fashion_spec(missing));
  ASSERT_FALSE(index);
  EXPECT_EQ(index.error().code, error_code::dataset_unreadable);
  EXPECT_TRUE(contains(index.error().message, missing)) << index.error().message;
  EXPECT_TRUE(contains(index.error().message, "dataset-fashion-mnist")) << index.error().message;
  EXPECT_TRUE(contains(index.error().message, "path =")) << index.error().message;
  auto images = load_idx_images(fashion_spec(missing));
  ASSERT_FALSE(images);
  EXPECT_EQ(images.error().code, error_code::dataset_unreadable);
}

TEST(DatasetIndexFashionMnist, MissingFileIsNamed) {
  temp_folder dir("dataset-index-test");
  write_small_fashion_mnist(dir.path());
  fs::remove(dir.path() / "t10k-images-idx3-ubyte.gz");
  auto index = load_dataset_index(fashion_spec(dir.path().string()));
  ASSERT_FALSE(index);
  EXPECT_EQ(index.error().code, error_code::dataset_unreadable);
  EXPECT_TRUE(contains(index.error().message, "t10k-images-idx3-ubyte.gz"))
      << index.error().message;
  EXPECT_TRUE(contains(index.error().message, "dataset-fashion-mnist"));
  // The training subset does not need the test files.
  EXPECT_TRUE(load_dataset_index(fashion_spec(dir.path().string(), "train")));
}

TEST(DatasetIndexFashionMnist, TruncatedGzipIsNamed) {
  temp_folder dir("dataset-index-test");
  for (const char* name : {"train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
                           "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"}) {
    fs::copy_file(fs::path(fashion_mnist_dir) / name, dir.path() / name);
  }
  auto labels = dir.path() / "train-labels-idx1-ubyte.gz";
  auto bytes = read_file(labels);
  bytes.resize(bytes.size() / 2);
  write_file(labels, bytes);
  auto index = load_dataset_index(fashion_spec(dir.path().string()));
  ASSERT_FALSE(index);
  EXPECT_EQ(index.error().code, error_code::dataset_unreadable);
  EXPECT_TRUE(contains(index.error().message, labels.string())) << index.error().message;
  EXPECT_TRUE(contains(index.error().message, "truncated")) << index.error().message;

  // Only the gzip trailer (checksum and length) missing: still caught.
  auto test_images = dir.path() / "t10k-images-idx3-ubyte.gz";
  bytes = read_file(test_images);
  bytes.resize(bytes.size() - 4);
  write_file(test_images, bytes);
  auto images = load_idx_images(fashion_spec(dir.path().string(), "test"));
  ASSERT_FALSE(images);
  EXPECT_EQ(images.error().code, error_code::dataset_unreadable);
  EXPECT_TRUE(contains(images.error().message, test_images.string())) << images.error().message;
}

TEST(DatasetIndexFashionMnist, CorruptGzipIsNamed) {
  temp_folder dir("dataset-index-test");
  write_small_fashion_mnist(dir.path());
  // A bigger label file, so that there is compressed data to damage.
  std::vector<unsigned char> labels(5000);
  for (std::size_t i = 0; i < labels.size(); ++i)
    labels[i] = static_cast<unsigned char>(i * 7 % 10);
  auto path = dir.path() / "train-labels-idx1-ubyte.gz";
  write_gz(path, idx_labels(0x801, labels));
  write_gz(dir.path() / "train-images-idx3-ubyte.gz", idx_images(5000, 1, 1));
  ASSERT_TRUE(load_dataset_index(fashion_spec(dir.path().string(), "train")));
  auto bytes = read_file(path);
  for (std::size_t i = bytes.size() / 3; i < bytes.size() / 3 + 8; ++i) bytes[i] ^= 0x5a;
  write_file(path, bytes);
  auto index = load_dataset_index(fashion_spec(dir.path().string(), "train"));
  ASSERT_FALSE(index);
  EXPECT_EQ(index.error().code, error_code::dataset_unreadable);
  EXPECT_TRUE(contains(index.error().message, path.string())) << index.error().message;
  EXPECT_TRUE(contains(index.error().message, "corrupt")) << index.error().message;
}

TEST(DatasetIndexFashionMnist, BadMagicIsNamed) {
  temp_folder dir("dataset-index-test");
  write_small_fashion_mnist(dir.path());
  auto labels = dir.path() / "train-labels-idx1-ubyte.gz";
  write_gz(labels, idx_labels(0x803, {1, 2, 3}));
  auto index = load_dataset_index(fashion_spec(dir.path().string()));
  ASSERT_FALSE(index);
  EXPECT_EQ(index.error().code, error_code::dataset_unreadable);
  EXPECT_TRUE(contains(index.error().message, labels.string())) << index.error().message;
  EXPECT_TRUE(contains(index.error().message, "magic")) << index.error().message;

  write_small_fashion_mnist(dir.path());
  auto images = dir.path() / "t10k-images-idx3-ubyte.gz";
  write_gz(images, idx_labels(0x801, {1, 2}));
  auto loaded = load_idx_images(fashion_spec(dir.path().string()));
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, error_code::dataset_unreadable);
  EXPECT_TRUE(contains(loaded.error().message, images.string())) << loaded.error().message;
  EXPECT_TRUE(contains(loaded.error().message, "magic")) << loaded.error().message;
}

TEST(DatasetIndexFashionMnist, InconsistentCountsAndLabels) {
  temp_folder dir("dataset-index-test");
  write_small_fashion_mnist(dir.path());
  write_gz(dir.path() / "train-images-idx3-ubyte.gz", idx_images(4, 2, 2));  // 4 images, 3 labels
  auto index = load_dataset_index(fashion_spec(dir.path().string()));
  ASSERT_FALSE(index);
  EXPECT_EQ(index.error().code, error_code::dataset_unreadable);
  EXPECT_TRUE(contains(index.error().message, "4 images")) << index.error().message;

  write_small_fashion_mnist(dir.path());
  write_gz(dir.path() / "train-labels-idx1-ubyte.gz", idx_labels(0x801, {9, 10, 3}));
  index = load_dataset_index(fashion_spec(dir.path().string()));
  ASSERT_FALSE(index);
  EXPECT_EQ(index.error().code, error_code::dataset_unreadable);
  EXPECT_TRUE(contains(index.error().message, "label 10")) << index.error().message;

  // The header declares more labels than the file holds.
  write_small_fashion_mnist(dir.path());
  auto short_labels = idx_labels(0x801, {1, 2, 3});
  short_labels[7] = 200;
  write_gz(dir.path() / "train-labels-idx1-ubyte.gz", short_labels);
  index = load_dataset_index(fashion_spec(dir.path().string()));
  ASSERT_FALSE(index);
  EXPECT_EQ(index.error().code, error_code::dataset_unreadable);
  EXPECT_TRUE(contains(index.error().message, "truncated")) << index.error().message;

  // Test images of another size than the training ones.
  write_small_fashion_mnist(dir.path());
  write_gz(dir.path() / "t10k-images-idx3-ubyte.gz", idx_images(2, 3, 3));
  auto images = load_idx_images(fashion_spec(dir.path().string()));
  ASSERT_FALSE(images);
  EXPECT_EQ(images.error().code, error_code::dataset_unreadable);
}

// --- image folders ------------------------------------------------------------------------------

TEST(DatasetIndexImageFolder, ClassesAndFilesSorted) {
  temp_folder dir("dataset-index-test");
  auto root = dir.path();
  for (const char* file : {"dog/d.bmp", "dog/c.jpeg", "cat/b.png", "cat/a.JPG", "cat/notes.txt",
                           "bird/x.Png", ".hidden/h.png", "cat/.thumb.png", "readme.png"}) {
    write_file(root / file, {'x'});
  }
  fs::create_directories(root / "empty");
  dataset_spec spec;
  spec.name = "pets";
  spec.kind = dataset_kind::image_folder;
  spec.path = root.string();
  auto index = load_dataset_index(spec);
  ASSERT_TRUE(index) << index.error().message;
  EXPECT_EQ(index->class_names, (std::vector<std::string>{"bird", "cat", "dog"}));
  EXPECT_EQ(index->labels, (std::vector<std::int32_t>{0, 1, 1, 2, 2}));
  ASSERT_EQ(index->files.size(), 5u);
  EXPECT_EQ(index->files[0], (root / "bird" / "x.Png").string());
  EXPECT_EQ(index->files[1], (root / "cat" / "a.JPG").string());
  EXPECT_EQ(index->files[2], (root / "cat" / "b.png").string());
  EXPECT_EQ(index->files[3], (root / "dog" / "c.jpeg").string());
  EXPECT_EQ(index->files[4], (root / "dog" / "d.bmp").string());
}

TEST(DatasetIndexImageFolder, MissingOrEmptyRootIsUnreadable) {
  temp_folder dir("dataset-index-test");
  dataset_spec spec;
  spec.name = "pets";
  spec.kind = dataset_kind::image_folder;
  spec.path = (dir.path() / "missing").string();
  auto index = load_dataset_index(spec);
  ASSERT_FALSE(index);
  EXPECT_EQ(index.error().code, error_code::dataset_unreadable);
  EXPECT_TRUE(contains(index.error().message, spec.path)) << index.error().message;
  EXPECT_TRUE(contains(index.error().message, "does not exist")) << index.error().message;

  spec.path = dir.path().string();
  write_file(dir.path() / "cat" / "notes.txt", {'x'});
  write_file(dir.path() / "loose.png", {'x'});
  index = load_dataset_index(spec);
  ASSERT_FALSE(index);
  EXPECT_EQ(index.error().code, error_code::dataset_unreadable);
  EXPECT_TRUE(contains(index.error().message, "no class folder with images"))
      << index.error().message;
}

// --- splits -------------------------------------------------------------------------------------

split_spec proportions(double train, double validation, double test, std::uint64_t seed = 42) {
  split_spec spec;
  spec.name = "s";
  spec.mode = split_mode::proportion;
  spec.train = train;
  spec.validation = validation;
  spec.test = test;
  spec.seed = seed;
  return spec;
}

split_spec counts(double train, double validation, double test, std::uint64_t seed = 42) {
  split_spec spec = proportions(train, validation, test, seed);
  spec.mode = split_mode::count;
  return spec;
}

/// An index with the given number of images per class, labels interleaved.
dataset_index synthetic_index(const std::vector<int>& class_sizes) {
  dataset_index index;
  index.spec.name = "synthetic";
  std::vector<int> left = class_sizes;
  for (bool more = true; more;) {
    more = false;
    for (std::size_t c = 0; c < left.size(); ++c) {
      if (left[c] > 0) {
        index.labels.push_back(static_cast<std::int32_t>(c));
        --left[c];
        more = true;
      }
    }
  }
  for (std::size_t c = 0; c < class_sizes.size(); ++c)
    index.class_names.push_back(std::to_string(c));
  return index;
}

/// per_class[set][label] = images of that label in that set.
std::map<int, std::map<int, int>> per_class(const dataset_index& index,
                                            const std::vector<std::uint8_t>& assignment) {
  std::map<int, std::map<int, int>> out;
  for (std::size_t i = 0; i < assignment.size(); ++i) ++out[assignment[i]][index.labels[i]];
  return out;
}

std::size_t in_set(const std::vector<std::uint8_t>& a, split_set set) {
  return static_cast<std::size_t>(std::count(a.begin(), a.end(), static_cast<std::uint8_t>(set)));
}

TEST(SplitDraw, SameSeedSameAssignmentOtherSeedOther) {
  const auto& index = real_fashion_mnist();
  auto a = make_split(index, proportions(0.8, 0.1, 0.1, 7));
  auto b = make_split(index, proportions(0.8, 0.1, 0.1, 7));
  auto c = make_split(index, proportions(0.8, 0.1, 0.1, 8));
  ASSERT_TRUE(a && b && c);
  ASSERT_EQ(a->size(), 70000u);
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
  std::size_t differ = 0;
  for (std::size_t i = 0; i < a->size(); ++i) differ += (*a)[i] != (*c)[i];
  EXPECT_GT(differ, 10000u);  // not a near copy
}

TEST(SplitDraw, FixedAssignmentForAFixedSeed) {
  // The draw must be the same on every machine and compiler (own RNG and shuffle): pin two.
  auto index = synthetic_index({5, 5});
  auto a = make_split(index, proportions(0.6, 0.2, 0.2, 1));
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, (std::vector<std::uint8_t>{1, 1, 1, 3, 3, 2, 1, 1, 2, 1}));
  auto b = make_split(real_fashion_mnist(), proportions(0.8, 0.1, 0.1, 42));
  ASSERT_TRUE(b);
  EXPECT_EQ(
      std::vector<std::uint8_t>(b->begin(), b->begin() + 20),
      (std::vector<std::uint8_t>{1, 1, 1, 1, 3, 1, 1, 1, 1, 1, 3, 1, 1, 2, 1, 1, 1, 1, 1, 1}));
}

TEST(SplitDraw, StratifiedProportionsOnFashionMnist) {
  const auto& index = real_fashion_mnist();
  auto a = make_split(index, proportions(0.8, 0.1, 0.1));
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(in_set(*a, train_set), 56000u);
  EXPECT_EQ(in_set(*a, validation_set), 7000u);
  EXPECT_EQ(in_set(*a, test_set), 7000u);
  EXPECT_EQ(in_set(*a, unused), 0u);
  auto classes = per_class(index, *a);
  for (int label = 0; label < 10; ++label) {
    EXPECT_EQ(classes[train_set][label], 5600);
    EXPECT_EQ(classes[validation_set][label], 700);
    EXPECT_EQ(classes[test_set][label], 700);
  }
}

TEST(SplitDraw, OfficialKeepsFashionMnistsOwnTestSetAndDrawsValidationFromTraining) {
  const auto& index = real_fashion_mnist();
  ASSERT_EQ(index.own_test_begin, 60000);
  split_spec spec = proportions(1, 5000, 0);
  spec.mode = split_mode::official;
  spec.train = 1;
  spec.validation = 5000;
  auto a = make_split(index, spec);
  ASSERT_TRUE(a) << a.error().message;
  // The 10,000 t10k images, and only they, are the test set: figures compare with published ones.
  for (std::size_t i = 60000; i < 70000; ++i)
    ASSERT_EQ((*a)[i], test_set) << i;
  EXPECT_EQ(in_set(*a, test_set), 10000u);
  EXPECT_EQ(in_set(*a, validation_set), 5000u);
  EXPECT_EQ(in_set(*a, train_set), 55000u);
  auto classes = per_class(index, *a);
  for (int label = 0; label < 10; ++label)
    EXPECT_EQ(classes[validation_set][label], 500);  // stratified, seeded
  EXPECT_EQ(*a, *make_split(index, spec));
  // Fractions: validation of the training part, train of what validation leaves.
  spec.train = 0.5;
  spec.validation = 0.1;
  auto b = make_split(index, spec);
  ASSERT_TRUE(b);
  EXPECT_EQ(in_set(*b, validation_set), 6000u);
  EXPECT_EQ(in_set(*b, train_set), 27000u);
  EXPECT_EQ(in_set(*b, unused), 27000u);
}

TEST(SplitDraw, OfficialIsRefusedForADatasetWithoutATestPartOfItsOwn) {
  auto index = synthetic_index({5, 5});
  split_spec spec = proportions(0.6, 0.2, 0.2, 1);
  spec.mode = split_mode::official;
  auto a = make_split(index, spec);
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().message.find("has no test part of its own"), std::string::npos)
      << a.error().message;
  EXPECT_NE(a.error().message.find("use mode = proportion or count"), std::string::npos);
}

TEST(SplitDraw, StratifiedKeepsClassProportionsWithinOne) {
  const std::vector<int> sizes{7, 13, 29, 1, 50, 3};
  auto index = synthetic_index(sizes);
  const double n = static_cast<double>(index.size());  // 103
  for (auto [train, validation, test] :
       {std::tuple{0.5, 0.3, 0.2}, std::tuple{0.29, 0.33, 0.17}, std::tuple{0.7, 0.15, 0.15},
        std::tuple{0.01, 0.0, 0.99}}) {
    auto spec = proportions(train, validation, test, 3);
    auto a = make_split(index, spec);
    ASSERT_TRUE(a) << a.error().message;
    const std::array<double, 3> fractions{train, validation, test};
    auto classes = per_class(index, *a);
    for (int s = 1; s <= 3; ++s) {
      std::size_t total = in_set(*a, static_cast<split_set>(s));
      EXPECT_EQ(total, static_cast<std::size_t>(std::floor(fractions[s - 1] * n + 1e-9)))
          << "set " << s << " of " << train << "/" << validation << "/" << test;
      for (std::size_t c = 0; c < sizes.size(); ++c) {
        double exact = fractions[s - 1] * sizes[c];
        EXPECT_LE(std::abs(classes[s][static_cast<int>(c)] - exact), 1.0 + 1e-9)
            << "set " << s << " class " << c;
      }
    }
  }
}

TEST(SplitDraw, CountsAreExactAndStratified) {
  const auto& index = real_fashion_mnist();
  auto a = make_split(index, counts(1000, 333, 77, 5));
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(in_set(*a, train_set), 1000u);
  EXPECT_EQ(in_set(*a, validation_set), 333u);
  EXPECT_EQ(in_set(*a, test_set), 77u);
  EXPECT_EQ(in_set(*a, unused), 70000u - 1410u);
  auto classes = per_class(index, *a);
  for (int label = 0; label < 10; ++label) {
    EXPECT_EQ(classes[train_set][label], 100);
    EXPECT_NEAR(classes[validation_set][label], 33.3, 1.0);
    EXPECT_NEAR(classes[test_set][label], 7.7, 1.0);
  }
  // Uneven classes: largest remainder per class.
  auto uneven = synthetic_index({10, 20, 70});
  auto b = make_split(uneven, counts(15, 7, 3));
  ASSERT_TRUE(b) << b.error().message;
  auto c = per_class(uneven, *b);
  EXPECT_EQ(in_set(*b, train_set), 15u);
  EXPECT_EQ(in_set(*b, validation_set), 7u);
  EXPECT_EQ(in_set(*b, test_set), 3u);
  EXPECT_NEAR(c[train_set][0], 1.5, 1.0);
  EXPECT_NEAR(c[train_set][1], 3.0, 1.0);
  EXPECT_NEAR(c[train_set][2], 10.5, 1.0);
}

TEST(SplitDraw, NotStratifiedHitsTheTotals) {
  const auto& index = real_fashion_mnist();
  auto spec = proportions(0.5, 0.25, 0.125);
  spec.stratified = false;
  auto a = make_split(index, spec);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(in_set(*a, train_set), 35000u);
  EXPECT_EQ(in_set(*a, validation_set), 17500u);
  EXPECT_EQ(in_set(*a, test_set), 8750u);
  auto stratified = make_split(index, proportions(0.5, 0.25, 0.125));
  EXPECT_NE(*a, *stratified);
}

TEST(SplitDraw, TinyClassesStillMeetTheTotals) {
  auto index = synthetic_index({1, 1});
  auto a = make_split(index, proportions(0.5, 0.5, 0));
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(in_set(*a, train_set), 1u);
  EXPECT_EQ(in_set(*a, validation_set), 1u);
  auto b = make_split(synthetic_index({1, 1, 1}), counts(1, 1, 1));
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(in_set(*b, unused), 0u);
  EXPECT_EQ(in_set(*b, test_set), 1u);
}

TEST(SplitDraw, InvalidSpecsAreInvalidConfig) {
  auto index = synthetic_index({10, 10});
  for (const auto& spec : {proportions(-0.1, 0.5, 0.1), proportions(0.8, 0.2, 0.1),
                           proportions(std::nan(""), 0.1, 0.1), counts(10, 10, 1), counts(-1, 0, 0),
                           counts(2.5, 1, 1)}) {
    auto a = make_split(index, spec);
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().code, error_code::invalid_config) << a.error().message;
  }
  EXPECT_TRUE(make_split(index, proportions(0.7, 0.2, 0.1)));  // sums to 1 up to rounding
  EXPECT_TRUE(make_split(index, counts(10, 5, 5)));            // exactly the whole dataset
  auto empty = make_split(dataset_index{}, proportions(0.8, 0.1, 0.1));
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, error_code::invalid_config);
}

TEST(SplitMove, UnlockedAllowsAnything) {
  std::vector<std::uint8_t> a{train_set, validation_set, test_set, unused};
  ASSERT_TRUE(move_images(a, {0, 1}, test_set, false));
  EXPECT_EQ(a, (std::vector<std::uint8_t>{test_set, test_set, test_set, unused}));
  ASSERT_TRUE(move_images(a, {2}, unused, false));
  EXPECT_EQ(images_in(a, unused), (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(images_in(a, test_set), (std::vector<std::int64_t>{0, 1}));
}

TEST(SplitMove, LockedOnlyGrowsTrainingAndValidation) {
  const std::vector<std::uint8_t> start{train_set, validation_set, test_set, unused, test_set};
  auto a = start;
  ASSERT_TRUE(move_images(a, {2}, train_set, true));
  ASSERT_TRUE(move_images(a, {3, 4}, validation_set, true));
  EXPECT_EQ(a, (std::vector<std::uint8_t>{train_set, validation_set, train_set, validation_set,
                                          validation_set}));
  EXPECT_TRUE(move_images(a, {0}, train_set, true));  // already there: nothing moves

  struct refused {
    std::vector<std::int64_t> images;
    split_set to;
  };
  for (const auto& r :
       {refused{{0}, validation_set}, refused{{1}, train_set}, refused{{0}, test_set},
        refused{{2}, unused}, refused{{4}, test_set}, refused{{2, 1}, train_set}}) {
    auto before = start;
    auto moved = move_images(before, r.images, r.to, true);
    ASSERT_FALSE(moved);
    EXPECT_EQ(moved.error().code, error_code::split_locked);
    EXPECT_TRUE(contains(moved.error().message, "locked")) << moved.error().message;
    EXPECT_TRUE(contains(moved.error().message, "move test images in")) << moved.error().message;
    EXPECT_EQ(before, start) << "a refused move changes nothing";
  }
}

TEST(SplitMove, OutOfRangeImageIsInvalidRequest) {
  std::vector<std::uint8_t> a{test_set, test_set};
  for (std::int64_t bad : {std::int64_t{2}, std::int64_t{-1}}) {
    auto moved = move_images(a, {0, bad}, train_set, false);
    ASSERT_FALSE(moved);
    EXPECT_EQ(moved.error().code, error_code::invalid_request);
    EXPECT_EQ(a, (std::vector<std::uint8_t>{test_set, test_set}));
  }
}

}  // namespace
}  // namespace trainyard
