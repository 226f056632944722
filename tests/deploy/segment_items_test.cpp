// trainyard_runtime's item finding and cut-out crops (deploy/segment_items.hpp) against the
// training runtime's (find_items and crop_items, through box_crops.hpp's array faces) on the same
// heatmaps, offsets and images: an exported two-stage segment tool must find and frame the items
// `trainyard predict` finds and frames.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include <opencv2/core.hpp>

#include "deploy/segment_items.hpp"
#include "runtime/tasks/common/box_crops.hpp"
#include "tests/support/generated_sets.hpp"

namespace trainyard {
namespace {

using testing::lcg;

float uniform(lcg& rng) { return static_cast<float>(rng.below(1 << 20)) / (1 << 20); }

/// A centre head's outputs on a scene of discs: heat bumps at the discs' centres (plus noise),
/// offsets towards them (plus noise up to `jitter` pixels), foreground on the discs.
struct centre_scene {
  int height, width;
  cv::Mat foreground, heat, offset_x, offset_y;
};

centre_scene make_scene(int height, int width, int discs, float jitter, std::uint64_t seed) {
  lcg rng(seed);
  centre_scene s{height, width, cv::Mat(height, width, CV_8UC1, cv::Scalar(0)),
                 cv::Mat(height, width, CV_32FC1), cv::Mat(height, width, CV_32FC1),
                 cv::Mat(height, width, CV_32FC1)};
  std::vector<cv::Point2f> centres;
  std::vector<float> radii;
  for (int d = 0; d < discs; ++d) {
    centres.emplace_back(static_cast<float>(rng.below(width)),
                         static_cast<float>(rng.below(height)));
    radii.push_back(3.0f + static_cast<float>(rng.below(8)));
  }
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      float heat = 0.05f * uniform(rng), best = 1e9f;
      cv::Point2f to(0, 0);
      for (std::size_t d = 0; d < centres.size(); ++d) {
        const float dx = centres[d].x - static_cast<float>(x);
        const float dy = centres[d].y - static_cast<float>(y);
        const float r2 = dx * dx + dy * dy;
        heat = std::max(heat, std::exp(-r2 / (2 * radii[d])));
        if (r2 <= radii[d] * radii[d] && r2 < best) {
          best = r2;
          to = cv::Point2f(dx, dy);
          s.foreground.at<std::uint8_t>(y, x) = 1;
        }
      }
      s.heat.at<float>(y, x) = heat;
      s.offset_x.at<float>(y, x) = to.x + jitter * (2 * uniform(rng) - 1);
      s.offset_y.at<float>(y, x) = to.y + jitter * (2 * uniform(rng) - 1);
    }
  return s;
}

template <typename T>
std::vector<T> values(const cv::Mat& m) {
  return std::vector<T>(m.ptr<T>(), m.ptr<T>() + m.total());
}

/// The training runtime's items of the scene, item number per pixel.
std::vector<std::int64_t> torch_items(const centre_scene& s) {
  std::vector<float> offset = values<float>(s.offset_x);
  const std::vector<float> y = values<float>(s.offset_y);
  offset.insert(offset.end(), y.begin(), y.end());
  return find_item_numbers(values<std::uint8_t>(s.foreground), values<float>(s.heat), offset, 1,
                           s.height, s.width);
}

void expect_same_items(const centre_scene& s, const deploy::found_items& found) {
  const std::vector<std::int64_t> expected = torch_items(s);
  const std::vector<int> got = values<int>(found.parts);
  ASSERT_EQ(got.size(), expected.size());
  std::int64_t items = 0, differ = 0;
  for (std::size_t k = 0; k < got.size(); ++k) {
    differ += got[k] != expected[k];
    items = std::max(items, expected[k] + 1);
  }
  EXPECT_EQ(differ, 0);
  EXPECT_EQ(static_cast<std::int64_t>(found.boxes.size()), items);
}

TEST(SegmentItems, FindsTheItemsOfTouchingDiscsAsTheTrainingRuntimeDoes) {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    const centre_scene s = make_scene(36, 44, 4, 1.5f, seed);
    const deploy::found_items found =
        deploy::find_items(s.foreground, s.heat, s.offset_x, s.offset_y, {});
    EXPECT_GE(found.boxes.size(), 2u) << "seed " << seed;
    expect_same_items(s, found);
  }
}

TEST(SegmentItems, KeepsTheBestCentresWhenThereAreTooManyAndTheBestPixelWhenThereIsNone) {
  // Noise everywhere over the threshold: far more than 32 peaks.
  centre_scene many = make_scene(40, 40, 3, 6.0f, 7);
  lcg rng(3);
  for (int y = 0; y < many.height; ++y)
    for (int x = 0; x < many.width; ++x)
      many.heat.at<float>(y, x) = 0.3f + 0.7f * uniform(rng);
  const deploy::found_items crowded =
      deploy::find_items(many.foreground, many.heat, many.offset_x, many.offset_y, {});
  EXPECT_LE(crowded.boxes.size(), 32u);
  EXPECT_GT(crowded.boxes.size(), 3u);
  expect_same_items(many, crowded);
  // No peak reaches the threshold: the best pixel is the one centre.
  centre_scene faint = make_scene(40, 40, 3, 1.0f, 8);
  faint.heat *= 0.25;
  const deploy::found_items one =
      deploy::find_items(faint.foreground, faint.heat, faint.offset_x, faint.offset_y, {});
  EXPECT_EQ(one.boxes.size(), 1u);
  expect_same_items(faint, one);
  // No foreground: no items at all.
  faint.foreground.setTo(0);
  EXPECT_TRUE(deploy::find_items(faint.foreground, faint.heat, faint.offset_x, faint.offset_y, {})
                  .boxes.empty());
}

TEST(SegmentItems, CutsOutTheItemsOnTheBackgroundAsTheTrainingRuntimeDoes) {
  const int channels = 3, height = 36, width = 44;
  const centre_scene s = make_scene(height, width, 5, 1.0f, 11);
  const deploy::found_items found =
      deploy::find_items(s.foreground, s.heat, s.offset_x, s.offset_y, {});
  ASSERT_GE(found.boxes.size(), 3u);
  lcg rng(5);
  std::vector<float> image(static_cast<std::size_t>(channels * height * width));
  for (float& v : image)
    v = 4 * uniform(rng) - 2;
  const std::vector<float> background = {-0.5f, -1.25f, 0.75f};
  deploy::item_cropping cropping;
  cropping.background = background;
  const cv::Mat crops = deploy::crop_items(image.data(), channels, height, width, found, cropping);
  ASSERT_EQ(crops.dims, 4);
  ASSERT_EQ(crops.size[0], static_cast<int>(found.boxes.size()));
  ASSERT_EQ(crops.size[1], channels);
  ASSERT_EQ(crops.size[2], box_crop_size);
  ASSERT_EQ(crops.size[3], box_crop_size);

  std::vector<std::vector<box>> items(1);
  bool at_edge = false;
  for (const cv::Rect& r : found.boxes) {
    items[0].push_back(box{0, static_cast<float>(r.x), static_cast<float>(r.y),
                           static_cast<float>(r.width), static_cast<float>(r.height)});
    at_edge = at_edge || r.x == 0 || r.y == 0 || r.br().x == width || r.br().y == height;
  }
  EXPECT_TRUE(at_edge) << "no crop reaches outside the image";
  std::vector<std::int64_t> parts;
  for (const int p : values<int>(found.parts))
    parts.push_back(p);
  const std::vector<float> expected =
      crop_item_pixels(image, channels, height, width, parts, items, background);
  ASSERT_EQ(expected.size(), crops.total());
  const float* got = crops.ptr<float>();
  double worst = 0;
  std::size_t on_ground = 0;
  for (std::size_t k = 0; k < expected.size(); ++k) {
    worst = std::max(worst, static_cast<double>(std::abs(got[k] - expected[k])));
    on_ground += got[k] == background[(k / (box_crop_size * box_crop_size)) % channels];
  }
  // The same formulas; the sampling grid's float rounding (torch's matrix product) moves a few
  // values by about 1e-5.
  EXPECT_LT(worst, 1e-4);
  EXPECT_GT(on_ground, expected.size() / 10);  // the cut-out shows the ground around items
  EXPECT_LT(on_ground, expected.size() * 9 / 10);
}

}  // namespace
}  // namespace trainyard
