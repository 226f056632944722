// The locate detector (runtime/tasks/locate/detector.hpp through detector_training.hpp): its target
// encoding decodes back to the boxes, and real training on Fashion-MNIST scenes finds the items
// far better than a trivial baseline.
#include <gtest/gtest.h>

#include <chrono>

#include "runtime/metrics/detection_metrics.hpp"
#include "runtime/lab/detector_training.hpp"
#include "tests/support/box_scenes.hpp"
#include "tests/support/torch_test_support.hpp"

namespace trainyard {
namespace {

TEST(DetectorEncoding, DecodesBackTheEncodedBoxes) {
  const image_geometry g{1, 96, 96};
  const std::vector<std::vector<box>> boxes{
      {box{3, 10, 12, 28, 20}, box{0, 50.5f, 40.25f, 33, 39}},
      {},
      // Touching the borders, a small one, and two labels at one place.
      {box{9, 0, 0, 30, 30}, box{1, 70, 66, 26, 30}, box{2, 40, 40, 6, 5}, box{5, 40, 40, 6, 5}},
  };
  const auto decoded = decode_encoded_boxes(boxes, g, 10);
  ASSERT_EQ(decoded.size(), boxes.size());
  for (std::size_t i = 0; i < boxes.size(); ++i) {
    ASSERT_EQ(decoded[i].size(), boxes[i].size()) << "image " << i;
    for (const box& truth : boxes[i]) {
      float best = 0;
      for (const scored_box& d : decoded[i])
        if (d.b.label == truth.label)
          best = std::max(best, iou(d.b, truth));
      EXPECT_GT(best, 0.999f) << "image " << i << " label " << truth.label;
    }
    for (const scored_box& d : decoded[i])
      EXPECT_GT(d.score, 0.99f);
  }
  const detection_evaluation e = evaluate_detections(boxes, decoded, 10);
  EXPECT_NEAR(e.ap, 1.0, 1e-9);
}

TEST(DetectorAugmentation, ZoomAndShiftMovesBoxesWithThePixels) {
  // White rectangles on black: after the transform, pixels well inside each moved box are white
  // and pixels well outside all boxes are black.
  detection_set set;
  set.geometry = image_geometry{1, 64, 48};  // 64 wide, 48 high
  const std::vector<box> rectangles{box{1, 8, 6, 20, 14}, box{4, 36, 24, 18, 16}};
  for (int image = 0; image < 6; ++image) {
    std::vector<std::uint8_t> pixels(set.geometry.bytes(), 0);
    for (const box& b : rectangles)
      for (int y = static_cast<int>(b.y); y < static_cast<int>(b.y + b.height); ++y)
        for (int x = static_cast<int>(b.x); x < static_cast<int>(b.x + b.width); ++x)
          pixels[static_cast<std::size_t>(y * 64 + x)] = 255;
    set.pixels.insert(set.pixels.end(), pixels.begin(), pixels.end());
    set.boxes.push_back(rectangles);
  }
  const detection_set moved = zoom_and_shift_set(set, 0.3, 0.15, 5);
  ASSERT_EQ(moved.size(), set.size());
  bool some_box_moved = false;
  for (std::size_t i = 0; i < moved.size(); ++i) {
    const std::uint8_t* p = moved.pixels.data() + i * moved.geometry.bytes();
    for (int y = 0; y < 48; ++y)
      for (int x = 0; x < 64; ++x) {
        bool inside = false, near = false;
        for (const box& b : moved.boxes[i]) {
          inside |= x >= b.x + 1.5f && x + 1 <= b.x + b.width - 1.5f && y >= b.y + 1.5f &&
                    y + 1 <= b.y + b.height - 1.5f;
          near |= x + 1 >= b.x - 1.5f && x <= b.x + b.width + 1.5f && y + 1 >= b.y - 1.5f &&
                  y <= b.y + b.height + 1.5f;
        }
        if (inside) {
          EXPECT_GT(p[y * 64 + x], 200) << "image " << i << " at " << x << "," << y;
        } else if (!near && moved.boxes[i].size() == rectangles.size()) {
          EXPECT_LT(p[y * 64 + x], 40) << "image " << i << " at " << x << "," << y;
        }
      }
    for (std::size_t k = 0; k < moved.boxes[i].size(); ++k)
      some_box_moved |= std::abs(moved.boxes[i][k].x - rectangles[k].x) > 1;
  }
  EXPECT_TRUE(some_box_moved);
}

TEST(DetectorTraining, RefusesMismatchedSets) {
  detection_set train, validation;
  train.geometry = image_geometry{1, 64, 64};
  train.pixels.assign(train.geometry.bytes(), 0);
  train.boxes.resize(1);
  validation.geometry = image_geometry{1, 32, 32};
  validation.pixels.assign(validation.geometry.bytes(), 0);
  validation.boxes.resize(1);
  auto fit = fit_detector(train, validation, 10, detector_fit_settings{});
  ASSERT_FALSE(fit);
  EXPECT_EQ(fit.error().code, error_code::invalid_request);
  train.pixels.pop_back();
  fit = fit_detector(train, train, 10, detector_fit_settings{});
  ASSERT_FALSE(fit);
  EXPECT_EQ(fit.error().code, error_code::invalid_request);
}

TEST(DetectorTraining, FindsFashionItemsOnTexturedScenes) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  const auto items = testing::load_items(testing::fashion_mnist_folder(), "test");
  // Items 0-7,999 for training scenes, 8,000-9,999 for held-out ones.
  const detection_set train = testing::make_box_scenes(items, 1000, 64, 0, 8000, 1);
  const detection_set held_out = testing::make_box_scenes(items, 200, 64, 8000, 2000, 2);

  // Trivial baseline: every label everywhere, one whole-image box each.
  std::vector<std::vector<scored_box>> whole_image(held_out.size());
  for (auto& boxes : whole_image)
    for (int label = 0; label < 10; ++label)
      boxes.push_back(scored_box{box{label, 0, 0, 64, 64}, 0.5f});
  const detection_evaluation baseline = evaluate_detections(held_out.boxes, whole_image, 10);

  detector_fit_settings settings;
  settings.model_width = 16;
  settings.epochs = 8;
  settings.batch_size = 32;
  settings.learning_rate = 3e-3;
  // Flips only: zooms and shifts pay off over more epochs than a test can afford.
  settings.scale = 0;
  settings.shift = 0;
  // One thread: on the shared 2-core test machines two OpenMP threads ran 5-20x slower
  // (spinning against other processes) than one.
  settings.threads = 1;
  const auto started = std::chrono::steady_clock::now();
  auto fit = fit_detector(train, held_out, 10, settings);
  ASSERT_TRUE(fit) << fit.error().message;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const detection_evaluation& e = fit->validation;
  // Localisation alone: all labels as one, the first stage's boxes ranked by objectness (the
  // reported ones are ranked by objectness x label probability, which mixes in naming).
  std::vector<std::vector<box>> truth_one_label = held_out.boxes;
  for (auto& boxes : truth_one_label)
    for (box& b : boxes)
      b.label = 0;
  std::vector<std::vector<scored_box>> found_one_label = fit->validation_proposals;
  for (auto& found : found_one_label) {
    for (scored_box& d : found)
      d.b.label = 0;
    found = non_maximum_suppression(found, settings.nms_iou, settings.max_objects);
  }
  const detection_evaluation located = evaluate_detections(truth_one_label, found_one_label, 1);
  std::printf("detector: %lld parameters, %.1f s (%.0f images/s), loss %.3f -> %.3f, AP %.3f, "
              "AP50 %.3f, AP75 %.3f, best F1 %.3f at %.2f, one-label AP50 %.3f, "
              "label accuracy %.3f; baseline AP50 %.3f\n",
              static_cast<long long>(fit->parameters), seconds, fit->images_per_second,
              fit->epoch_loss.front(), fit->epoch_loss.back(), e.ap, e.ap50, e.ap75, e.best_f1,
              e.best_f1_threshold, located.ap50, fit->label_accuracy, baseline.ap50);
  EXPECT_LT(baseline.ap50, 0.05);
  EXPECT_LT(fit->epoch_loss.back(), fit->epoch_loss.front());
  EXPECT_GT(e.ap50, 0.5);
  // Two stages measured 0.84 here (1,000 64x64 scenes, 8 epochs); the one-stage detector passed
  // 0.85. At the example's scale the first stage finds 0.98 (docs/performance.md).
  EXPECT_GT(located.ap50, 0.8);
  EXPECT_GT(e.best_f1, 0.5);
  // The box classifier (two stages, the default) names most true boxes right; chance is 0.1.
  EXPECT_GT(fit->label_accuracy, 0.6);
}

}  // namespace
}  // namespace trainyard
