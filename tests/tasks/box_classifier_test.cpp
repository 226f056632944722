// The second stage of locate and segment (runtime/tasks/common/box_classifier.hpp, through its
// torch-free face box_crops.hpp): crops that frame the box exactly, jitter that stays within its
// bounds, and the items of label masks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "runtime/tasks/common/box_crops.hpp"

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

// Sets rows [r0, r1) x columns [c0, c1) of a row-major plane `width` wide to `value`.
void fill_rows(std::vector<std::int64_t>& plane, int width, int r0, int r1, int c0, int c1,
               std::int64_t value) {
  for (int r = r0; r < r1; ++r)
    for (int c = c0; c < c1; ++c)
      plane[static_cast<std::size_t>(r * width + c)] = value;
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
    fill_rows(mask, w, r0, r1, c0, c1, v);
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

TEST(MaskItems, SeparateLabelsSplitTouchingItemsOfDifferentLabelsOnly) {
  // A 12 x 20 mask: labels 1 and 4 side by side, touching; two blocks of label 2 a pixel apart.
  constexpr int h = 12, w = 20;
  std::vector<std::int64_t> mask(h * w, 0);
  auto fill = [&](int r0, int r1, int c0, int c1, std::int64_t v) {
    fill_rows(mask, w, r0, r1, c0, c1, v);
  };
  fill(1, 6, 1, 5, 1);
  fill(1, 6, 5, 9, 4);
  fill(7, 11, 2, 6, 2);
  fill(7, 11, 7, 10, 2);
  std::vector<std::int64_t> parts(h * w, 99);
  // Linked by any label, all four blocks (at most two pixels apart) are one item.
  EXPECT_EQ(mask_items(mask.data(), 1, h, w, 1, parts.data())[0].size(), 1u);
  const auto items = mask_items(mask.data(), 1, h, w, 1, parts.data(), /*separate_labels=*/true);
  ASSERT_EQ(items[0].size(), 3u);
  EXPECT_EQ(items[0][0].label, 0);
  EXPECT_FLOAT_EQ(items[0][0].x, 1);
  EXPECT_FLOAT_EQ(items[0][0].width, 4);
  EXPECT_EQ(items[0][1].label, 3);
  EXPECT_FLOAT_EQ(items[0][1].x, 5);
  EXPECT_FLOAT_EQ(items[0][1].width, 4);
  EXPECT_EQ(items[0][2].label, 1);  // the two label-2 blocks, one item
  EXPECT_FLOAT_EQ(items[0][2].width, 8);
  for (int r = 0; r < h; ++r)
    for (int c = 0; c < w; ++c) {
      const std::int64_t v = mask[static_cast<std::size_t>(r * w + c)];
      const std::int64_t want = v == 0 ? -1 : v == 1 ? 0 : v == 4 ? 1 : 2;
      EXPECT_EQ(parts[static_cast<std::size_t>(r * w + c)], want) << r << "," << c;
    }
}

TEST(ItemCrops, ShowOnlyTheItemsOwnPixelsOnTheBackgroundValue) {
  // Two touching items on a textured image (values from a fixed pattern): each item's crop must
  // equal the crop of an image holding that item alone on the background value, pixel for pixel.
  constexpr int h = 32, w = 40;
  constexpr float ground = -0.75f;
  std::vector<float> image(h * w);
  for (int i = 0; i < h * w; ++i)
    image[static_cast<std::size_t>(i)] = static_cast<float>((i * 37) % 101) / 50.0f - 1.0f;
  std::vector<std::int64_t> parts(h * w, -1);
  fill_rows(parts, w, 4, 20, 6, 18, 0);
  fill_rows(parts, w, 8, 26, 18, 33, 1);
  const std::vector<std::vector<box>> items{{box{0, 6, 4, 12, 16}, box{0, 18, 8, 15, 18}}};
  const auto crops = crop_item_pixels(image, 1, h, w, parts, items, {ground});
  ASSERT_EQ(crops.size(), 2u * crop_pixels);
  for (int item = 0; item < 2; ++item) {
    std::vector<float> alone(h * w, ground);
    for (int i = 0; i < h * w; ++i)
      if (parts[static_cast<std::size_t>(i)] == item)
        alone[static_cast<std::size_t>(i)] = image[static_cast<std::size_t>(i)];
    // crop_box_pixels reads 0 outside the image; the item crops read the background there too,
    // so compare against the alone image shifted by the background.
    for (float& v : alone)
      v -= ground;
    const auto expected =
        crop_box_pixels(alone, 1, h, w, {{items[0][static_cast<std::size_t>(item)]}});
    for (int k = 0; k < crop_pixels; ++k)
      ASSERT_NEAR(crops[static_cast<std::size_t>(item * crop_pixels + k)],
                  expected[static_cast<std::size_t>(k)] + ground, 1e-5)
          << "item " << item << " pixel " << k;
  }
  // Dilating item 0's part by a pixel lets its neighbours in: the crop changes near the edge.
  const auto grown = crop_item_pixels(image, 1, h, w, parts, items, {ground}, {1, 0});
  double changed = 0;
  for (int k = 0; k < crop_pixels; ++k)
    changed += std::abs(grown[static_cast<std::size_t>(k)] - crops[static_cast<std::size_t>(k)]);
  EXPECT_GT(changed, 1.0);
  for (int k = crop_pixels; k < 2 * crop_pixels; ++k)
    ASSERT_FLOAT_EQ(grown[static_cast<std::size_t>(k)], crops[static_cast<std::size_t>(k)]);
}

TEST(ItemCentres, APerfectCentreHeadGivesBackTouchingItemsPixelForPixel) {
  // Two images of 48 x 64. Image 0: a coat (5) and a bag (9) whose masks touch along a column,
  // a trouser (2) apart, and a two-pixel stray of label 7. Image 1: nothing. Items touching
  // within one connected foreground must come back apart, each pixel with its own item.
  constexpr int n = 2, h = 48, w = 64;
  std::vector<std::int64_t> mask(n * h * w, 0);
  auto fill = [&](int r0, int r1, int c0, int c1, std::int64_t v) {
    fill_rows(mask, w, r0, r1, c0, c1, v);
  };
  fill(4, 30, 3, 25, 5);
  fill(10, 40, 25, 50, 9);
  fill(6, 16, 30, 34, 9);  // a handle: part of the bag's item (linked within the label)
  fill(30, 46, 54, 62, 2);
  fill(44, 45, 4, 6, 7);
  std::vector<std::int64_t> truth;
  const auto found = find_items_from_targets(mask, n, h, w, &truth);
  ASSERT_EQ(found.size(), mask.size());
  // Same partition: each true item maps to one found item and back, and off-item pixels agree.
  std::map<std::int64_t, std::int64_t> to_found, to_truth;
  for (std::size_t k = 0; k < mask.size(); ++k) {
    ASSERT_EQ(found[k] < 0, truth[k] < 0) << "pixel " << k;
    if (truth[k] < 0)
      continue;
    const auto [a, fresh_a] = to_found.emplace(truth[k], found[k]);
    EXPECT_EQ(a->second, found[k]) << "true item " << truth[k] << " split at pixel " << k;
    const auto [b, fresh_b] = to_truth.emplace(found[k], truth[k]);
    EXPECT_EQ(b->second, truth[k]) << "found item " << found[k] << " merges at pixel " << k;
  }
  EXPECT_EQ(to_found.size(), 4u);  // coat, bag with its handle, trouser, stray
  // The coat and the bag, touching, are different items.
  EXPECT_NE(found[static_cast<std::size_t>(20 * w + 24)], found[static_cast<std::size_t>(20 * w + 25)]);
}

}  // namespace
}  // namespace trainyard
