// Annotation-aware augmentation, pixel-exact on synthetic cases: a white rectangle with its box
// and mask; after each transform the box must still be the bounding box of the white pixels and
// the mask the thresholded image. Plus the locate rule on rotation/shear, the draws and the
// photometric part.
#include "runtime/train/annotation_augment.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace trainyard {
namespace {

constexpr int W = 64, H = 48;
constexpr std::uint8_t label_value = 4;

struct scene {
  int channels = 1;
  std::vector<std::uint8_t> image, mask;
  std::vector<box> boxes;
};

/// A white rectangle [10, 30) x [8, 20) on black, its mask (value 4) and its box (label 3).
scene rectangle_scene(int channels = 1) {
  scene s;
  s.channels = channels;
  s.image.assign(static_cast<std::size_t>(channels) * W * H, 0);
  s.mask.assign(static_cast<std::size_t>(W) * H, 0);
  for (int y = 8; y < 20; ++y)
    for (int x = 10; x < 30; ++x) {
      for (int c = 0; c < channels; ++c) s.image[c * W * H + y * W + x] = 255;
      s.mask[y * W + x] = label_value;
    }
  s.boxes.push_back({3, 10, 8, 20, 12});
  return s;
}

expected<void> apply(const augmentation_draw& d, scene& s, bool with_boxes = true) {
  return apply_augmentation(d, image_ref{W, H, s.channels, s.image.data()}, s.mask.data(),
                            with_boxes ? &s.boxes : nullptr);
}

/// Bounding box of the pixels >= 128 in channel `c`; width 0 when there are none.
box white_box(const scene& s, int c = 0) {
  int x0 = W, y0 = H, x1 = -1, y1 = -1;
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x)
      if (s.image[c * W * H + y * W + x] >= 128) {
        x0 = std::min(x0, x), y0 = std::min(y0, y), x1 = std::max(x1, x), y1 = std::max(y1, y);
      }
  if (x1 < 0) return box{};
  return box{3, float(x0), float(y0), float(x1 - x0 + 1), float(y1 - y0 + 1)};
}

/// Pixels where the mask and the thresholded image disagree.
int mask_mismatches(const scene& s) {
  int n = 0;
  for (int i = 0; i < W * H; ++i) n += (s.image[i] >= 128 ? label_value : 0) != s.mask[i];
  return n;
}

void expect_box(const box& actual, const box& expected) {
  EXPECT_EQ(actual.label, expected.label);
  EXPECT_FLOAT_EQ(actual.x, expected.x);
  EXPECT_FLOAT_EQ(actual.y, expected.y);
  EXPECT_FLOAT_EQ(actual.width, expected.width);
  EXPECT_FLOAT_EQ(actual.height, expected.height);
}

struct exact_case {
  const char* name;
  augmentation_draw draw;
  box expected;  // where the rectangle must land (clipped to the image)
};

augmentation_draw make(bool fh, bool fv, double scale, double sx, double sy) {
  augmentation_draw d;
  d.flip_horizontal = fh;
  d.flip_vertical = fv;
  d.scale = scale;
  d.shift_x = sx;
  d.shift_y = sy;
  return d;
}

TEST(AnnotationAugment, FlipsScaleAndShiftKeepBoxesAndMasksExact) {
  const std::vector<exact_case> cases = {
      {"identity", make(false, false, 1, 0, 0), {3, 10, 8, 20, 12}},
      {"flip horizontal", make(true, false, 1, 0, 0), {3, 34, 8, 20, 12}},
      {"flip vertical", make(false, true, 1, 0, 0), {3, 10, 28, 20, 12}},
      {"flip both", make(true, true, 1, 0, 0), {3, 34, 28, 20, 12}},
      {"shift", make(false, false, 1, 0.125, -0.125), {3, 18, 2, 20, 12}},
      {"shift partly out", make(false, false, 1, -0.25, 0), {3, 0, 8, 14, 12}},
      {"zoom out 0.5", make(false, false, 0.5, 0, 0), {3, 21, 16, 10, 6}},
      {"zoom in 1.5, clipped", make(false, false, 1.5, 0, 0), {3, 0, 0, 29, 18}},
      {"zoom in 2, clipped", make(false, false, 2, 0, 0), {3, 0, 0, 28, 16}},
      {"flip, zoom, shift", make(true, false, 0.5, 0.125, 0.25), {3, 41, 28, 10, 6}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    scene s = rectangle_scene();
    auto ok = apply(c.draw, s);
    ASSERT_TRUE(ok) << ok.error().message;
    ASSERT_EQ(s.boxes.size(), 1u);
    expect_box(s.boxes[0], c.expected);
    expect_box(white_box(s), c.expected);
    EXPECT_EQ(mask_mismatches(s), 0);
  }
}

TEST(AnnotationAugment, EveryChannelMovesTogether) {
  scene s = rectangle_scene(3);
  ASSERT_TRUE(apply(make(true, false, 0.5, 0.125, 0.25), s));
  for (int c = 0; c < 3; ++c) expect_box(white_box(s, c), box{3, 41, 28, 10, 6});
}

TEST(AnnotationAugment, BoxMostlyOutsideIsDropped) {
  scene s = rectangle_scene();
  // Shifted left by 28 px: 2 of its 20 columns stay, under a quarter of its area.
  ASSERT_TRUE(apply(make(false, false, 1, -0.4375, 0), s));
  EXPECT_TRUE(s.boxes.empty());
  // By 24 px: 6 columns, 30 % of it, stay and keep their box.
  scene kept = rectangle_scene();
  ASSERT_TRUE(apply(make(false, false, 1, -0.375, 0), kept));
  ASSERT_EQ(kept.boxes.size(), 1u);
  expect_box(kept.boxes[0], box{3, 0, 8, 6, 12});
  expect_box(white_box(kept), box{3, 0, 8, 6, 12});
}

TEST(AnnotationAugment, QuarterTurnKeepsTheMaskExact) {
  scene s = rectangle_scene();
  augmentation_draw d;
  d.rotation = 90;
  ASSERT_TRUE(apply(d, s, false));
  EXPECT_EQ(mask_mismatches(s), 0);
  // Counter-clockwise on screen: x' = y + 8, y' = 55 - x.
  expect_box(white_box(s), box{3, 16, 26, 12, 20});
}

TEST(AnnotationAugment, RotationAndShearKeepMaskLabelsExact) {
  for (auto [rotation, shear] : {std::pair{30.0, 0.0}, {0.0, 15.0}, {-20.0, 10.0}}) {
    SCOPED_TRACE(std::to_string(rotation) + " / " + std::to_string(shear));
    scene s = rectangle_scene();
    augmentation_draw d;
    d.rotation = rotation;
    d.shear = shear;
    d.scale = 0.9;
    ASSERT_TRUE(apply(d, s, false));
    std::set<int> values(s.mask.begin(), s.mask.end());
    EXPECT_EQ(values, (std::set<int>{0, label_value}));  // nearest neighbour: no blended labels
    int white = 0;
    for (int i = 0; i < W * H; ++i) white += s.mask[i] != 0;
    // Bilinear and nearest neighbour may disagree along the edges only.
    EXPECT_GT(white, 150);
    EXPECT_LT(mask_mismatches(s), white / 8);
  }
}

TEST(AnnotationAugment, RotationAndShearAreRefusedForBoxes) {
  const std::string message =
      "rotation and shear cannot keep boxes exact; set them to 0 for locate tools";
  augmentation_settings settings;
  settings.rotation = 10;
  auto checked = check_augmentation(settings, /*boxes=*/true);
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error().code, error_code::invalid_config);
  EXPECT_EQ(checked.error().message, message);
  settings.rotation = 0;
  settings.shear = 5;
  EXPECT_FALSE(check_augmentation(settings, /*boxes=*/true));
  EXPECT_TRUE(check_augmentation(settings, /*boxes=*/false));
  EXPECT_TRUE(check_augmentation(settings, /*boxes=*/false));
  settings.shear = 0;
  settings.flip_horizontal = true;
  settings.scale = 0.2;
  settings.shift = 0.1;
  EXPECT_TRUE(check_augmentation(settings, /*boxes=*/true));

  scene s = rectangle_scene();
  augmentation_draw d;
  d.shear = 3;
  auto applied = apply(d, s);
  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().message, message);
}

TEST(AnnotationAugment, BadRangesNameTheKey) {
  augmentation_settings s;
  s.scale = 1.2;
  auto c = check_augmentation(s, /*boxes=*/false);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("scale"), std::string::npos);
  s.scale = 0;
  s.noise = -0.1;
  c = check_augmentation(s, /*boxes=*/false);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("noise"), std::string::npos);
}

TEST(AnnotationAugment, DrawsAreSeededAndWithinTheRanges) {
  augmentation_settings s;
  s.flip_horizontal = true;
  s.rotation = 10;
  s.scale = 0.2;
  s.shift = 0.1;
  s.brightness = 0.1;
  s.contrast = 0.3;
  int flipped = 0;
  for (std::uint64_t seed = 0; seed < 400; ++seed) {
    auto d = draw_augmentation(s, seed);
    auto again = draw_augmentation(s, seed);
    EXPECT_EQ(d.rotation, again.rotation);
    EXPECT_EQ(d.noise_seed, again.noise_seed);
    EXPECT_LE(std::abs(d.rotation), 10);
    EXPECT_GE(d.scale, 0.8);
    EXPECT_LE(d.scale, 1.2);
    EXPECT_LE(std::abs(d.shift_x), 0.1);
    EXPECT_LE(std::abs(d.brightness), 0.1);
    EXPECT_FALSE(d.flip_vertical);  // not enabled
    EXPECT_EQ(d.shear, 0);
    flipped += d.flip_horizontal;
  }
  EXPECT_GT(flipped, 150);
  EXPECT_LT(flipped, 250);
  EXPECT_NE(draw_augmentation(s, 1).rotation, draw_augmentation(s, 2).rotation);
  auto low = augmentation_limit(s, false), high = augmentation_limit(s, true);
  EXPECT_EQ(low.rotation, -10);
  EXPECT_EQ(high.rotation, 10);
  EXPECT_DOUBLE_EQ(low.scale, 0.8);
  EXPECT_DOUBLE_EQ(high.contrast, 1.3);
  EXPECT_FALSE(low.flip_horizontal);
  EXPECT_TRUE(high.flip_horizontal);
}

TEST(AnnotationAugment, PhotometricChangesTouchTheImageOnly) {
  scene s = rectangle_scene();
  augmentation_draw d;
  d.brightness = 0.2;
  ASSERT_TRUE(apply(d, s));
  EXPECT_EQ(s.image[0], 51);     // black + 0.2
  EXPECT_EQ(s.image[8 * W + 10], 255);  // white stays saturated
  expect_box(s.boxes[0], box{3, 10, 8, 20, 12});
  EXPECT_EQ(s.mask, rectangle_scene().mask);

  // Contrast 0.5 around the mean pulls black and white together.
  scene c = rectangle_scene();
  augmentation_draw dc;
  dc.contrast = 0.5;
  ASSERT_TRUE(apply(dc, c));
  EXPECT_GT(c.image[0], 0);
  EXPECT_LT(c.image[8 * W + 10], 255);

  // Noise: the same seed gives the same pattern, another seed another one.
  scene n1 = rectangle_scene(), n2 = rectangle_scene(), n3 = rectangle_scene();
  augmentation_draw dn;
  dn.noise = 0.05;
  dn.noise_seed = 9;
  ASSERT_TRUE(apply(dn, n1));
  ASSERT_TRUE(apply(dn, n2));
  dn.noise_seed = 10;
  ASSERT_TRUE(apply(dn, n3));
  EXPECT_EQ(n1.image, n2.image);
  EXPECT_NE(n1.image, n3.image);
  EXPECT_NE(n1.image, rectangle_scene().image);
  EXPECT_EQ(n1.mask, rectangle_scene().mask);
}

}  // namespace
}  // namespace trainyard
