// The locate runtime's post-processing (deploy/locate_boxes.hpp) against the training runtime's
// own: decoding of heads as decode_detections does, crops as crop_boxes makes them, NMS and the
// box classifier's labels as detect_boxes reports them.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "deploy/item_views.hpp"
#include "deploy/locate_boxes.hpp"
#include "runtime/lab/detector_training.hpp"
#include "runtime/tasks/common/box_crops.hpp"
#include "tests/support/generated_sets.hpp"

namespace trainyard::deploy {
namespace {

using trainyard::testing::lcg;

// A uniform draw in [low, high).
float uniform(lcg& random, float low, float high) {
  return low + (high - low) * static_cast<float>(random.next() % 100000) / 100000.0f;
}

std::vector<float> uniform_values(lcg& random, std::size_t count, float low, float high) {
  std::vector<float> v(count);
  for (float& x : v)
    x = uniform(random, low, high);
  return v;
}

// A 4-d CV_32F Mat holding a copy of `values`.
cv::Mat mat4(const std::vector<float>& values, int n, int c, int h, int w) {
  const int sizes[] = {n, c, h, w};
  cv::Mat m(4, sizes, CV_32F);
  std::copy(values.begin(), values.end(), m.ptr<float>());
  return m;
}

found_box make_box(int label, float x, float y, float w, float h, float score) {
  found_box b;
  b.label = label;
  b.x = x;
  b.y = y;
  b.width = w;
  b.height = h;
  b.score = score;
  return b;
}

TEST(LocateBoxes, DecodesHeadsAsDecodeDetectionsDoes) {
  lcg random(7);
  const int n = 3, classes = 4, h = 13, w = 11;
  const std::size_t plane = static_cast<std::size_t>(h) * w;
  // Mostly background logits with scattered strong ones, so there are peaks of every kind:
  // isolated, touching, on the border, overlapping boxes of one label and of two.
  std::vector<float> heat = uniform_values(random, n * classes * plane, -6.0f, -1.0f);
  for (int i = 0; i < 60; ++i)
    heat[random.next() % heat.size()] = uniform(random, -1.0f, 4.0f);
  const std::vector<float> size = uniform_values(random, n * 2 * plane, -0.5f, 7.0f);
  const std::vector<float> offset = uniform_values(random, n * 2 * plane, 0.0f, 1.0f);
  const struct {
    float threshold;
    int max_objects;
    float nms;
  } cases[] = {{0.3f, 10, 0.5f}, {0.05f, 100, 0.5f}, {0.5f, 3, 0.2f}, {0.2f, 0, 0.7f}};
  std::size_t compared = 0;
  for (const auto& c : cases) {
    const auto want = decode_head_values(heat, size, offset, n, classes, h, w, c.threshold,
                                         c.max_objects, c.nms);
    const box_decoding d{c.threshold, c.max_objects, c.nms, 4};
    const auto got = decode_boxes(mat4(heat, n, classes, h, w), mat4(size, n, 2, h, w),
                                  mat4(offset, n, 2, h, w), d);
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(got[i].size(), want[i].size()) << "image " << i << " threshold " << c.threshold;
      for (std::size_t j = 0; j < want[i].size(); ++j) {
        const box& b = want[i][j].b;
        EXPECT_EQ(got[i][j].label, b.label);
        EXPECT_FLOAT_EQ(got[i][j].score, want[i][j].score);
        EXPECT_FLOAT_EQ(got[i][j].x, b.x);
        EXPECT_FLOAT_EQ(got[i][j].y, b.y);
        EXPECT_FLOAT_EQ(got[i][j].width, b.width);
        EXPECT_FLOAT_EQ(got[i][j].height, b.height);
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, 40u);  // the cases found boxes to compare
}

TEST(LocateBoxes, CropsAsCropBoxesDoes) {
  lcg random(11);
  const int n = 2, channels = 3, h = 40, w = 52;
  const std::vector<float> images =
      uniform_values(random, static_cast<std::size_t>(n) * channels * h * w, -2.0f, 2.0f);
  // Inside, across the borders, tiny, tall, wide, and one wider than the image.
  const std::vector<std::vector<found_box>> boxes = {
      {make_box(0, 10, 8, 14, 20, 1), make_box(1, -6, -4, 12, 10, 1),
       make_box(2, 45, 30, 12, 15, 1), make_box(0, 20.5f, 17.25f, 0.3f, 0.4f, 1)},
      {make_box(3, 3.7f, 2.2f, 40, 6, 1), make_box(1, -10, 5, 70, 30, 1)}};
  std::vector<std::vector<box>> torch_boxes;
  for (const auto& image : boxes) {
    torch_boxes.emplace_back();
    for (const found_box& b : image)
      torch_boxes.back().push_back(box{b.label, b.x, b.y, b.width, b.height});
  }
  const std::vector<float> want = crop_box_pixels(images, channels, h, w, torch_boxes);
  const cv::Mat got = crop_boxes(mat4(images, n, channels, h, w), boxes, box_crop_size,
                                 box_crop_margin);
  ASSERT_EQ(got.dims, 4);
  EXPECT_EQ(got.size[0], 6);
  EXPECT_EQ(got.size[1], channels);
  EXPECT_EQ(got.size[2], box_crop_size);
  EXPECT_EQ(got.size[3], box_crop_size);
  ASSERT_EQ(got.total(), want.size());
  double worst = 0, sum = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    worst = std::max(worst, static_cast<double>(std::abs(got.ptr<float>()[i] - want[i])));
    sum += std::abs(want[i]);
  }
  // Source positions run to ~50 pixels, where a float's last bit is ~4e-6 pixel: LibTorch's
  // batched matrix product rounds them in its own order, and a step of up to 4 between
  // neighbouring pixels turns that into ~1e-5.
  EXPECT_LT(worst, 1e-4);
  EXPECT_GT(sum, 100.0);  // the crops hold pixels, not only the zeros from outside
  EXPECT_TRUE(crop_boxes(mat4(images, n, channels, h, w), {{}, {}}, 28, 1.15f).empty());
}

TEST(LocateBoxes, NmsDropsOverlapsOfOneLabelOnlyAndKeepsTheMost) {
  const std::vector<found_box> boxes = {
      make_box(0, 0, 0, 10, 10, 0.6f), make_box(0, 1, 1, 10, 10, 0.9f),
      make_box(1, 1, 0, 10, 10, 0.7f), make_box(0, 30, 30, 5, 5, 0.4f)};
  const auto kept = suppress_overlaps(boxes, 0.5f, 0);
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_FLOAT_EQ(kept[0].score, 0.9f);
  EXPECT_EQ(kept[1].label, 1);
  EXPECT_FLOAT_EQ(kept[2].score, 0.4f);
  EXPECT_EQ(suppress_overlaps(boxes, 0.5f, 2).size(), 2u);
  EXPECT_EQ(suppress_overlaps(boxes, 0.99f, 0).size(), 4u);
  EXPECT_FLOAT_EQ(box_iou(boxes[0], boxes[0]), 1.0f);
  EXPECT_FLOAT_EQ(box_iou(boxes[0], boxes[3]), 0.0f);
}

TEST(LocateBoxes, LabelsEachBoxWithItsLikeliestLabelsScoredByObjectness) {
  const std::vector<std::vector<found_box>> boxes = {
      {make_box(0, 0, 0, 10, 10, 0.9f), make_box(0, 20, 20, 8, 8, 0.5f)}, {},
      {make_box(0, 5, 5, 6, 6, 0.8f)}};
  const cv::Mat p = (cv::Mat_<float>(3, 4) << 0.1f, 0.6f, 0.25f, 0.05f,  //
                     0.7f, 0.1f, 0.1f, 0.1f,                          //
                     0.25f, 0.25f, 0.4f, 0.1f);
  const box_decoding d{0.1f, 10, 0.5f, 4};
  const auto got = label_boxes(boxes, p, 3, d);
  ASSERT_EQ(got.size(), 3u);
  // Image 0: 0.9 x {0.6, 0.25} and 0.5 x {0.7} (0.9 x 0.1 and 0.5 x 0.1 are under the
  // threshold), best first.
  ASSERT_EQ(got[0].size(), 3u);
  EXPECT_EQ(got[0][0].label, 1);
  EXPECT_FLOAT_EQ(got[0][0].score, 0.9f * 0.6f);
  EXPECT_EQ(got[0][1].label, 0);
  EXPECT_FLOAT_EQ(got[0][1].score, 0.5f * 0.7f);
  EXPECT_FLOAT_EQ(got[0][1].x, 20.0f);
  EXPECT_EQ(got[0][2].label, 2);
  EXPECT_FLOAT_EQ(got[0][2].x, 0.0f);
  EXPECT_TRUE(got[1].empty());
  // Image 2: equal probabilities keep the lower label first.
  ASSERT_EQ(got[2].size(), 3u);
  EXPECT_EQ(got[2][0].label, 2);
  EXPECT_EQ(got[2][1].label, 0);
  EXPECT_EQ(got[2][2].label, 1);
  const box_decoding two{0.1f, 2, 0.5f, 4};
  EXPECT_EQ(label_boxes(boxes, p, 3, two)[0].size(), 2u);
  EXPECT_EQ(label_boxes(boxes, p, 1, d)[0].size(), 2u);
}

TEST(LocateBoxes, MirrorsCropsLeftToRightAndSoftmaxesRows) {
  const std::vector<float> values = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  const cv::Mat flipped = mirrored(mat4(values, 2, 1, 2, 3));
  const std::vector<float> want = {3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10};
  for (std::size_t i = 0; i < want.size(); ++i)
    EXPECT_FLOAT_EQ(flipped.ptr<float>()[i], want[i]);
  const cv::Mat p = softmax_rows((cv::Mat_<float>(2, 3) << 0, 0, std::log(2.0f), 100, 0, 0));
  EXPECT_FLOAT_EQ(p.at<float>(0, 0), 0.25f);
  EXPECT_FLOAT_EQ(p.at<float>(0, 2), 0.5f);
  EXPECT_FLOAT_EQ(p.at<float>(1, 0), 1.0f);
}

}  // namespace
}  // namespace trainyard::deploy
