// Image files (runtime/train/images.hpp): decoding as training and predict see it, the errors a
// user gets for bad files, PNG writing and the training curves.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "runtime/train/images.hpp"
#include "tests/support/huge_bmp.hpp"
#include "tests/support/torch_test_support.hpp"

namespace trainyard {
namespace {

using testing::temp_folder;

std::vector<std::uint8_t> gradient(const image_geometry& g) {
  std::vector<std::uint8_t> pixels(g.bytes());
  for (std::size_t i = 0; i < pixels.size(); ++i)
    pixels[i] = static_cast<std::uint8_t>((i * 7) % 251);
  return pixels;
}

TEST(ImagesDecode, GrayPngRoundTripsExactly) {
  temp_folder dir("images");
  const image_geometry g{1, 28, 28};
  const auto pixels = gradient(g);
  const std::string file = dir.str() + "/a.png";
  ASSERT_TRUE(write_png(file, g, pixels.data()));
  std::vector<std::uint8_t> back(g.bytes());
  auto decoded = decode_image_file(file, g, back.data());
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(back, pixels);
}

TEST(ImagesDecode, ResizesWithAreaAveraging) {
  temp_folder dir("images");
  // 4x4 image of 2x2 blocks 0, 100 / 200, 40: halving gives exactly the block values.
  const image_geometry big{1, 4, 4};
  const std::vector<std::uint8_t> pixels{0,   0,   100, 100, 0,   0,   100, 100,
                                         200, 200, 40,  40,  200, 200, 40,  40};
  const std::string file = dir.str() + "/blocks.png";
  ASSERT_TRUE(write_png(file, big, pixels.data()));
  const image_geometry small{1, 2, 2};
  std::vector<std::uint8_t> out(small.bytes());
  ASSERT_TRUE(decode_image_file(file, small, out.data()));
  EXPECT_EQ(out, (std::vector<std::uint8_t>{0, 100, 200, 40}));

  // The same through the in-memory path used for IDX images of another size.
  EXPECT_EQ(resize_images(pixels, 1, big, small), out);
}

TEST(ImagesDecode, ColourIsPlanarRgbAndGrayBecomesThreeEqualChannels) {
  temp_folder dir("images");
  const image_geometry rgb{3, 2, 1};
  // Planar R, G, B of two pixels: a red one and a blue one.
  const std::vector<std::uint8_t> planes{255, 0, 0, 0, 0, 255};
  const std::string file = dir.str() + "/rb.png";
  ASSERT_TRUE(write_png(file, rgb, planes.data()));
  std::vector<std::uint8_t> out(rgb.bytes());
  ASSERT_TRUE(decode_image_file(file, rgb, out.data()));
  EXPECT_EQ(out, planes);

  const image_geometry gray{1, 2, 1};
  const std::string gray_file = dir.str() + "/g.png";
  const std::vector<std::uint8_t> g{10, 250};
  ASSERT_TRUE(write_png(gray_file, gray, g.data()));
  ASSERT_TRUE(decode_image_file(gray_file, rgb, out.data()));
  EXPECT_EQ(out, (std::vector<std::uint8_t>{10, 250, 10, 250, 10, 250}));
}

TEST(ImagesErrors, CorruptAndMissingFilesAreToldApart) {
  temp_folder dir("images");
  const std::string bad = dir.str() + "/noise.png";
  {
    std::ofstream out(bad, std::ios::binary);
    std::mt19937 rng(5);
    for (int i = 0; i < 400; ++i)
      out.put(static_cast<char>(rng() & 0xff));
  }
  const image_geometry g{1, 28, 28};
  std::vector<std::uint8_t> out(g.bytes());
  auto corrupt = decode_image_file(bad, g, out.data());
  ASSERT_FALSE(corrupt);
  EXPECT_EQ(corrupt.error().code, error_code::image_corrupt);
  EXPECT_EQ(corrupt.error().message,
            "image " + bad + " could not be decoded: it is not a PNG, JPEG, BMP or PNM file "
            "(the formats trainyard reads); remove or replace it");
  // A PNG signature with nothing decodable after it: the decoder's own refusal.
  const std::string broken = dir.str() + "/broken.png";
  std::ofstream(broken, std::ios::binary)
    << std::string("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x1c\0\0\0\x1c", 24)
    << std::string(40, '\x7f');
  auto undecodable = decode_image_file(broken, g, out.data());
  ASSERT_FALSE(undecodable);
  EXPECT_EQ(undecodable.error().message,
            "image " + broken + " could not be decoded; remove or replace it");

  const std::string empty = dir.str() + "/empty.png";
  std::ofstream(empty).close();
  auto nothing = decode_image_file(empty, g, out.data());
  ASSERT_FALSE(nothing);
  EXPECT_EQ(nothing.error().code, error_code::image_corrupt);

  auto missing = decode_image_file(dir.str() + "/gone.png", g, out.data());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, error_code::dataset_unreadable);
  EXPECT_NE(missing.error().message.find("gone.png is missing"), std::string::npos);
}

// A BMP header that declares 20,000 x 20,000 pixels in 62 bytes is refused by the pixel bound,
// with what to do, before OpenCV allocates anything.
TEST(ImagesErrors, AHeaderDeclaringMoreThanTheBoundIsRefusedBeforeItsPixelsAreAllocated) {
  temp_folder dir("images");
  const std::string huge = dir.str() + "/huge.bmp";
  testing::write_huge_bmp(huge);
  for (int channels : {1, 3}) {
    const image_geometry g{channels, 28, 28};
    std::vector<std::uint8_t> out(g.bytes());
    auto refused = decode_image_file(huge, g, out.data());
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, error_code::image_corrupt);
    EXPECT_EQ(refused.error().message, testing::huge_bmp_refusal(huge));
  }
}

// The degenerate sizes a dataset may hold: one pixel, and 10,000 pixels a side (the bound), are
// decoded and resized to the tool's input like any other.
TEST(ImagesDecode, OnePixelAndTenThousandPixelsASideAreResizedToTheInput) {
  temp_folder dir("images");
  const image_geometry g{1, 28, 28};
  for (int side : {1, 10000}) {
    const image_geometry file_geometry{1, side, side};
    const std::vector<std::uint8_t> pixels(file_geometry.bytes(), 200);
    const std::string file = dir.str() + "/side" + std::to_string(side) + ".png";
    ASSERT_TRUE(write_png(file, file_geometry, pixels.data()));
    std::vector<std::uint8_t> out(g.bytes(), 0);
    auto decoded = decode_image_file(file, g, out.data());
    ASSERT_TRUE(decoded) << side << ": " << decoded.error().message;
    EXPECT_EQ(out, std::vector<std::uint8_t>(g.bytes(), 200)) << side;
  }
}

TEST(ImagesErrors, BatchDecodingReportsTheFirstBadFileAndHowManyMore) {
  temp_folder dir("images");
  const image_geometry g{1, 8, 8};
  const auto pixels = gradient(g);
  std::vector<std::string> files;
  for (int i = 0; i < 20; ++i) {
    files.push_back(dir.str() + "/img" + std::to_string(100 + i) + ".png");
    ASSERT_TRUE(write_png(files.back(), g, pixels.data()));
  }
  auto all = decode_image_files(files, g, 2);
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 20 * g.bytes());
  EXPECT_TRUE(std::equal(pixels.begin(), pixels.end(), all->begin() + 7 * g.bytes()));

  for (int i : {5, 12, 17})
    std::ofstream(files[static_cast<std::size_t>(i)], std::ios::trunc) << "not an image";
  auto broken = decode_image_files(files, g, 2);
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().code, error_code::image_corrupt);
  EXPECT_NE(broken.error().message.find("img105.png"), std::string::npos) << broken.error().message;
  EXPECT_NE(broken.error().message.find("2 more"), std::string::npos) << broken.error().message;
}

TEST(ImagesCurves, CurvesAreDrawnAsANonTrivialPng) {
  temp_folder dir("images");
  const std::string file = dir.str() + "/curves.png";
  const std::vector<curve_point> points{
      {1, 0.62, 0.48, 0.83}, {2, 0.41, 0.39, 0.86}, {3, 0.35, 0.37, 0.87}, {4, 0.31, 0.36, 0.88}};
  ASSERT_TRUE(draw_training_curves(points, "tool t", file));
  auto summary = summarize_image(file);
  ASSERT_TRUE(summary) << summary.error().message;
  EXPECT_EQ(summary->width, 1000);
  EXPECT_EQ(summary->height, 520);
  EXPECT_EQ(summary->channels, 3);
  EXPECT_GT(summary->distinct_colors, 20);
  EXPECT_FALSE(std::filesystem::exists(dir.str() + "/curves.tmp.png"));

  // One iteration and non-finite values still draw (a diverged loss must not break the run).
  const std::vector<curve_point> one{{7, std::nan(""), 0.5, 0.5}};
  EXPECT_TRUE(draw_training_curves(one, "tool t", file));
  EXPECT_FALSE(draw_training_curves({}, "tool t", file));
}

}  // namespace
}  // namespace trainyard
