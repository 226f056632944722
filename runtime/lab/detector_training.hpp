// A self-contained training loop for the `locate` detector on in-memory images, and the check of
// its target encoding: the torch-free face of runtime/tasks/locate/detector.hpp, for tests, benches and
// experiments that find the detector's settings. The engine's locate tool task uses detector.hpp
// directly; the loop here is the reference it can follow (normalisation, flips, Adam, evaluation).
// Runs on the caller's thread and sets that thread's torch thread count.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/data/annotations.hpp"
#include "runtime/metrics/detection_metrics.hpp"
#include "runtime/core/error.hpp"
#include "runtime/train/images.hpp"

namespace trainyard {

/// 8-bit images of one size with their boxes, in those images' pixels.
struct detection_set {
  image_geometry geometry;               ///< channels and size of every image (the model input)
  std::vector<std::uint8_t> pixels;      ///< planar (channel, row, column), geometry.bytes() each
  std::vector<std::vector<box>> boxes;   ///< per image
  std::size_t size() const { return boxes.size(); }
};

/// Settings of fit_detector. Measured with bench/locate_train.cpp (96x96 Fashion-MNIST scenes,
/// 500-1,000 held out, items disjoint). One stage (box_classifier_width 0), one thread of a busy
/// 2-core machine: 24 epochs gave AP50 0.77 on 2,000 scenes (class-agnostic 0.98), 48 epochs
/// 0.82, 6,000 scenes 0.84: labels, not boxes, held it down. Two stages (the default), 2 threads
/// of the idle machine: 2,000 scenes x 12 epochs AP50 0.81 (label accuracy on the true boxes
/// 0.82); 8,000 x 8 0.87 (0.85); 16,000 x 8 0.90 (0.88; class-agnostic AP50 0.986) in 323 s.
/// More items, not more epochs, is what raised the labels' accuracy.
struct detector_fit_settings {
  int model_width = 16;            ///< channels of the first convolution; default 16
  bool batch_norm = true;          ///< default on
  /// First-layer channels of the box classifier that labels each found box (detector.hpp's
  /// two-stage mode); 0 = one stage, labels from per-class heatmaps; default 32
  int box_classifier_width = 32;
  int epochs = 24;                 ///< passes over the training set; default 24
  int batch_size = 32;             ///< default 32
  double learning_rate = 2e-3;     ///< Adam, cosine-decayed to 5% over the run; default 2e-3
  bool flip_horizontal = true;     ///< mirror images and boxes with probability 1/2; default on
  double scale = 0.25;             ///< zoom about the centre, uniform in [1-s, 1+s]; default 0.25
  double shift = 0.15;             ///< shift, fraction of the size per axis in [-s, s]; default 0.15
  std::uint64_t seed = 42;         ///< weights, order and flips; default 42
  int threads = 0;                 ///< torch threads; 0 = all cores; default 0
  float evaluation_threshold = 0.05f;  ///< least score kept when measuring AP; default 0.05
  int max_objects = 100;           ///< most boxes per image; default 100
  float nms_iou = 0.5f;            ///< class-aware NMS overlap; default 0.5
  /// When set, the trained detector is also written there as a locate tool's networks
  /// (export_detector of detector.hpp: model.onnx, and items.onnx with a box classifier),
  /// decoding at evaluation_threshold, max_objects and nms_iou; default none
  std::string export_folder;
};

/// What fit_detector measured.
struct detector_fit_report {
  std::vector<double> epoch_loss;          ///< mean training loss of each epoch
  detection_evaluation validation;         ///< on the validation set after the last epoch
  std::vector<std::vector<scored_box>> validation_detections;  ///< per validation image
  /// The first stage's boxes per validation image (decode_detections of the heads, scored by
  /// objectness): finding apart from naming
  std::vector<std::vector<scored_box>> validation_proposals;
  /// Two stages: the share of the validation's true boxes the box classifier names right
  double label_accuracy = 0;
  double train_seconds = 0;                ///< wall time of the epochs (not the evaluation)
  double images_per_second = 0;            ///< training throughput
  std::int64_t parameters = 0;             ///< weights of the model
  /// The normalisation of the model's input: (pixel / 255 - mean) / deviation
  double mean = 0, deviation = 1;
  /// With settings.export_folder: the export's settings (export_detector's)
  nlohmann::json export_settings;
};

/// Trains a fresh detector on `train` for `settings.epochs` and evaluates it on `validation`
/// (both of the same geometry; labels in [0, classes)). `on_epoch(epoch, loss)` is called after
/// each epoch when given. invalid_request for mismatched or empty sets; training_failed with
/// LibTorch's message if it throws.
expected<detector_fit_report> fit_detector(
    const detection_set& train, const detection_set& validation, int classes,
    const detector_fit_settings& settings,
    const std::function<void(int, double)>& on_epoch = {});

/// The zoom and shift augmentation of fit_detector applied to a whole set (seeded; flips off),
/// for tests and previews: images resampled bilinearly (0 comes in from outside), boxes moved
/// alike and clipped, a box more than half outside dropped.
detection_set zoom_and_shift_set(const detection_set& set, double scale, double shift,
                                 std::uint64_t seed);

/// The boxes as the detector's targets encode them, decoded back (what a perfect detector of
/// that geometry reports, score ~1): checks that encoding and decoding agree.
std::vector<std::vector<scored_box>> decode_encoded_boxes(
    const std::vector<std::vector<box>>& boxes, const image_geometry& geometry, int classes);

/// decode_detections of detector.hpp on plain arrays: `heatmap` [n, classes, h, w] centre
/// logits, `size` and `offset` [n, 2, h, w] in cells; boxes in input pixels (stride 4).
std::vector<std::vector<scored_box>> decode_head_values(
    const std::vector<float>& heatmap, const std::vector<float>& size,
    const std::vector<float>& offset, std::int64_t n, std::int64_t classes, std::int64_t h,
    std::int64_t w, float threshold, int max_objects, float nms_iou);

}  // namespace trainyard
