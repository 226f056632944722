// Image files for the training runtime: decoding dataset images to the tool's input size, writing
// PNGs and drawing the training curves. Used by the training runtime (runtime/train/,
// runtime/tasks/) and by `trainyard compare`; torch-free and OpenCV-free (OpenCV lives in
// images.cpp only), so tests can use it without either.
//
// Decoding here is the one path both training and predict_images use, so a tool sees the same
// pixels for the same file whichever way the file reaches it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/error.hpp"

namespace trainyard {

/// How images are turned into a tool's input.
struct image_geometry {
  int channels = 1;  ///< 1: gray, 3: RGB (decoded as colour, converted from OpenCV's BGR)
  int width = 28;    ///< pixels after resizing
  int height = 28;   ///< pixels after resizing
  std::size_t bytes() const {
    return static_cast<std::size_t>(channels) * static_cast<std::size_t>(width) *
           static_cast<std::size_t>(height);
  }
};

/// Decodes one image file to planar 8-bit pixels (channel, row, column) at `geometry`, resizing
/// with INTER_AREA when the size differs. `out` must hold geometry.bytes().
/// dataset_unreadable when the file is missing or unreadable; image_corrupt when it does not
/// decode (the message names the file and says to remove or replace it), is not a PNG, JPEG, BMP
/// or PNM file, or declares more than deploy::max_decoded_pixels (deploy/image_file.hpp).
expected<void> decode_image_file(const std::string& path, const image_geometry& geometry,
                                 std::uint8_t* out);

/// Decodes many files into one planar buffer (`files.size() * geometry.bytes()` bytes), on up to
/// `threads` threads. The first failure (in file order) is returned.
expected<std::vector<std::uint8_t>> decode_image_files(const std::vector<std::string>& files,
                                                       const image_geometry& geometry,
                                                       int threads);

/// Resizes planar 8-bit images (e.g. 28x28 IDX images) to another size, INTER_AREA like files.
std::vector<std::uint8_t> resize_images(const std::vector<std::uint8_t>& pixels,
                                        std::int64_t count, const image_geometry& from,
                                        const image_geometry& to);

/// Writes planar 8-bit pixels as a PNG (through a temporary file, then rename).
expected<void> write_png(const std::string& path, const image_geometry& geometry,
                         const std::uint8_t* pixels);

/// What a decoded PNG looks like, for tests and sanity checks of written files.
struct image_summary {
  int width = 0, height = 0, channels = 0;
  int distinct_colors = 0;  ///< number of distinct pixel values (capped at 4096)
};
expected<image_summary> summarize_image(const std::string& path);

/// One point of the training curves.
struct curve_point {
  int iteration = 0;
  double train_loss = 0;
  double val_loss = 0;
  double val_accuracy = 0;  ///< the monitored validation metric (accuracy, mean IoU, AUROC)
};

/// Draws loss (training and validation) and the monitored validation metric (named by
/// `metric_name`) against the iteration, with axes, tick labels and a legend, and writes it as a
/// PNG (through a temporary file, then rename).
expected<void> draw_training_curves(const std::vector<curve_point>& points,
                                    const std::string& title, const std::string& path,
                                    const std::string& metric_name = "validation accuracy");

/// One job's values of a metric by iteration, for draw_curve_overlay.
struct named_curve {
  std::string name;             ///< the legend's text
  std::vector<int> iterations;  ///< ascending
  std::vector<double> values;   ///< one per iteration; NaN leaves a gap
};

/// Draws several jobs' curves of one validation metric (in [0, 1]) against the iteration on one
/// chart, each in its own colour, with the legend under the chart, and writes it as a PNG
/// (through a temporary file, then rename). invalid_request when no curve has a point.
expected<void> draw_curve_overlay(const std::vector<named_curve>& curves,
                                  const std::string& title, const std::string& metric_name,
                                  const std::string& path);

}  // namespace trainyard
