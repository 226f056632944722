// The second stage of locate and segment (runtime/torch/box_classifier.hpp, through its
// torch-free face box_crops.hpp): crops that frame the box exactly, jitter that stays within its
// bounds, and the items of label masks.
#include <gtest/gtest.h>

#include <algorithm>

#include "runtime/torch/box_crops.hpp"

namespace trainyard {
namespace {

constexpr int image_height = 64, image_width = 80;
constexpr int crop_pixels = box_crop_size * box_crop_size;

// `count` gray images of 64 x 80, 0 except a bright (1) rectangle in image `which`.
std::vector<float> images_with_rectangle(int count, int which, int x, int y, int width,
                                         int height) {
  std::vector<float> pixels(static_cast<std::size_t>(count * image_height * image_width), 0.0f);
  for (int r = y; r < y + height; ++r)
    for (int c = x; c < x + width; ++c)
      pixels[static_cast<std::size_t>((which * image_height + r) * image_width + c)] = 1.0f;
  return pixels;
}

// Sum of the crop's pixels in rows [r0, r1) and columns [c0, c1).
double mass(const std::vector<float>& crop, int r0, int r1, int c0, int c1) {
  double sum = 0;
  for (int r = r0; r < r1; ++r)
    for (int c = c0; c < c1; ++c)
      sum += crop[static_cast<std::size_t>(r * box_crop_size + c)];
  return sum;
}

TEST(BoxCrops, FrameTheBoxSquareWithItsMarginAtTheCropSize) {
  // A 20 wide, 10 high box: the crop's side is 1.15 x 20 = 23 pixels around its centre, so the
  // rectangle fills 20/23 of the crop's width and 10/23 of its height, centred.
  const auto image = images_with_rectangle(1, 0, 30, 20, 20, 10);
  const auto crop =
      crop_box_pixels(image, 1, image_height, image_width, {{box{0, 30, 20, 20, 10}}});
  ASSERT_EQ(crop.size(), static_cast<std::size_t>(crop_pixels));
  const double expected_width = box_crop_size * 20.0 / (box_crop_margin * 20.0);
  const double expected_height = box_crop_size * 10.0 / (box_crop_margin * 20.0);
  const int s = box_crop_size, half = s / 2;
  // Bilinear sampling: the sums along the middle row and column are the covered lengths.
  EXPECT_NEAR(mass(crop, half, half + 1, 0, s), expected_width, 0.6);
  EXPECT_NEAR(mass(crop, 0, s, half, half + 1), expected_height, 0.6);
  // The area, within the 2% that bilinear sampling blurs at the edges.
  EXPECT_NEAR(mass(crop, 0, s, 0, s), expected_width * expected_height,
              0.02 * expected_width * expected_height);
  // Centred: left and right halves, top and bottom halves hold the same mass.
  EXPECT_NEAR(mass(crop, 0, s, 0, half), mass(crop, 0, s, half, s), 0.5);
  EXPECT_NEAR(mass(crop, 0, half, 0, s), mass(crop, half, s, 0, s), 0.5);
  EXPECT_EQ(crop[0], 0.0f);
}

TEST(BoxCrops, TakeEachBoxFromItsOwnImageAndReadZeroOutside) {
  // Two images; the rectangle is in image 1 only. Image 0 has no box; image 1 has its
  // rectangle's box and an empty corner box half outside the image.
  const auto images = images_with_rectangle(2, 1, 60, 40, 10, 10);
  const auto crops = crop_box_pixels(images, 1, image_height, image_width,
                                     {{}, {box{3, 60, 40, 10, 10}, box{1, -5, -5, 10, 10}}});
  ASSERT_EQ(crops.size(), static_cast<std::size_t>(2 * crop_pixels));
  const std::vector<float> first(crops.begin(), crops.begin() + crop_pixels);
  const std::vector<float> second(crops.begin() + crop_pixels, crops.end());
  const double side = box_crop_size / box_crop_margin;  // the rectangle's side in the crop
  EXPECT_NEAR(mass(first, 0, box_crop_size, 0, box_crop_size), side * side, 0.02 * side * side);
  EXPECT_EQ(mass(second, 0, box_crop_size, 0, box_crop_size), 0.0);
  EXPECT_TRUE(crop_box_pixels(images, 1, image_height, image_width, {{}, {}}).empty());
}

TEST(BoxCrops, JitterStaysWithinItsBoundsIsReproducibleAndMovesTheCrop) {
  const auto a = crop_jitter_values(64, 7), b = crop_jitter_values(64, 7);
  ASSERT_EQ(a.size(), 192u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, crop_jitter_values(64, 8));
  for (const float v : a) {
    EXPECT_GE(v, -1.0f);
    EXPECT_LE(v, 1.0f);
  }
  // The extreme (+1 on every axis): the crop's centre moves 10% of its side right and down and
  // its side grows 15%, so the rectangle sits up and left in the crop and covers less of it.
  const auto image = images_with_rectangle(1, 0, 30, 20, 20, 20);
  const std::vector<std::vector<box>> boxes{{box{0, 30, 20, 20, 20}}};
  const auto exact = crop_box_pixels(image, 1, image_height, image_width, boxes);
  const auto moved = crop_box_pixels(image, 1, image_height, image_width, boxes, {1, 1, 1});
  const int s = box_crop_size, half = s / 2;
  EXPECT_GT(mass(moved, 0, s, 0, half), mass(moved, 0, s, half, s) + 5);
  EXPECT_GT(mass(moved, 0, half, 0, s), mass(moved, half, s, 0, s) + 5);
  EXPECT_LT(mass(moved, 0, s, 0, s), mass(exact, 0, s, 0, s) - 20);
}

TEST(MaskItems, JoinPiecesOfOneItemAndNameItByItsMostFrequentLabel) {
  // One 20 x 30 mask: item A (label 3) in two pieces one pixel apart, with two pixels of label 5
  // inside; item B (label 7) far away; a lone pixel of label 2.
  constexpr int h = 20, w = 30;
  std::vector<std::int64_t> mask(h * w, 0);
  auto fill = [&](int r0, int r1, int c0, int c1, std::int64_t v) {
    for (int r = r0; r < r1; ++r)
      for (int c = c0; c < c1; ++c)
        mask[static_cast<std::size_t>(r * w + c)] = v;
  };
  fill(2, 6, 2, 6, 3);
  fill(2, 6, 7, 9, 3);  // column 6 stays empty: a one-pixel gap
  fill(3, 4, 3, 5, 5);
  fill(10, 18, 20, 25, 7);
  fill(18, 19, 2, 3, 2);
  std::vector<std::int64_t> parts(h * w, 99);
  const auto items = mask_items(mask.data(), 1, h, w, 2, parts.data());
  ASSERT_EQ(items.size(), 1u);
  ASSERT_EQ(items[0].size(), 2u);
  const box a = items[0][0], b = items[0][1];
  EXPECT_EQ(a.label, 2);  // mask label 3 is class 2: the classifier's classes leave out 0
  EXPECT_FLOAT_EQ(a.x, 2);
  EXPECT_FLOAT_EQ(a.y, 2);
  EXPECT_FLOAT_EQ(a.width, 7);
  EXPECT_FLOAT_EQ(a.height, 4);
  EXPECT_EQ(b.label, 6);
  EXPECT_FLOAT_EQ(b.x, 20);
  EXPECT_FLOAT_EQ(b.y, 10);
  EXPECT_FLOAT_EQ(b.width, 5);
  EXPECT_FLOAT_EQ(b.height, 8);
  // Both pieces of A are part 0, B is part 1; the lone pixel, the gap and the background -1.
  auto part = [&](int r, int c) { return parts[static_cast<std::size_t>(r * w + c)]; };
  EXPECT_EQ(part(2, 2), 0);
  EXPECT_EQ(part(5, 8), 0);
  EXPECT_EQ(part(3, 3), 0);
  EXPECT_EQ(part(17, 24), 1);
  EXPECT_EQ(part(18, 2), -1);
  EXPECT_EQ(part(2, 6), -1);
  EXPECT_EQ(part(0, 0), -1);
  const auto labelled = std::count_if(parts.begin(), parts.end(), [](auto p) { return p >= 0; });
  const auto foreground = std::count_if(mask.begin(), mask.end(), [](auto v) { return v > 0; });
  EXPECT_EQ(labelled, foreground - 1);
  // With no size floor the lone pixel is an item of its own, numbered after the others.
  const auto all = mask_items(mask.data(), 1, h, w, 1, parts.data());
  ASSERT_EQ(all[0].size(), 3u);
  EXPECT_EQ(part(18, 2), 2);
}

}  // namespace
}  // namespace trainyard
