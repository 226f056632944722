// trainyard_runtime: runs a tool exported by `trainyard export` (an export folder: tool.json,
// model.onnx and what the tool's kind needs besides) on images, with OpenCV only: its DNN module
// runs the networks; the pre- and post-processing are those of `trainyard predict` (resizing and
// normalisation; softmax; box decoding and NMS; items found and named; the anomaly score, its
// threshold and map). No LibTorch, no CAF.
//
//   std::string error;
//   auto tool = trainyard::deploy::tool::open("exports/shirts", error);
//   if (!tool) { std::cerr << error << "\n"; return 1; }
//   for (const auto& r : tool->run_files({"a.png", "b.png"}))
//     std::cout << r.label_name << " " << r.score << "\n";
//
// One tool object is used by one thread at a time.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace trainyard::deploy {

/// The export folder format this library reads; tool.json's "format_version".
inline constexpr int export_format_version = 1;

/// A box found by a locate tool, in the pixels of the image it was found in.
struct found_box {
  float x = 0, y = 0, width = 0, height = 0;  ///< top-left corner and size
  int label = 0;
  std::string label_name;
  float score = 0;
};

/// What a tool says about one image (as `trainyard predict` does).
struct result {
  /// Why this image has no result (empty image, unreadable file); the other images of the call
  /// are processed all the same. Empty when it has one.
  std::string error;
  /// classify: the most probable class; segment: the most frequent non-background label (0 when
  /// none); anomaly: 1 "defect" or 0 "good"; locate: the best box's label (-1 when none).
  int label = -1;
  std::string label_name;
  /// classify: the class's probability; segment: the share of pixels given a non-background
  /// label; anomaly: the anomaly score; locate: the best box's score (0 when none).
  double score = 0;
  std::vector<float> probabilities;  ///< classify: one per class
  std::vector<found_box> boxes;      ///< locate: the boxes scoring at least the threshold
  cv::Mat labels;       ///< segment: CV_8UC1 label of every pixel, at the tool's input size
  cv::Mat anomaly_map;  ///< anomaly: CV_32FC1 per-pixel anomaly map, at the tool's input size
};

/// What tool.json says of the tool.
struct tool_info {
  std::string name;
  std::string kind;               ///< classify, locate, segment or anomaly
  std::string trainyard_version;  ///< of the trainyard that exported it
  int width = 0, height = 0, channels = 1;  ///< the networks' input (channels 3: RGB)
  std::vector<std::string> class_names;     ///< the labels results name
  std::vector<std::array<std::uint8_t, 3>> colours;  ///< segment: an RGB colour per label
  int best_batch = 1;  ///< images per network call that ran fastest when it was exported
};

class kind_runtime;

class tool {
 public:
  /// Opens an export folder; nullptr with `error` saying what is wrong (no tool.json, another
  /// format version, a model file missing or that does not load) and what to do.
  static std::unique_ptr<tool> open(const std::string& folder, std::string& error);
  ~tool();

  const tool_info& info() const { return info_; }

  /// Results for 8-bit images as OpenCV holds them (gray, BGR or BGRA, any size): converted to
  /// the tool's channels and resized to its input (area interpolation), in batches of
  /// `batch` images (0: info().best_batch).
  std::vector<result> run(const std::vector<cv::Mat>& images, int batch = 0);
  /// Results for image files, decoded as `trainyard predict` decodes them (PNG, JPEG, BMP or PNM,
  /// at most deploy::max_decoded_pixels as the header declares, see image_file.hpp); a file that
  /// is missing, of another format, too large or does not decode gets its error, the others
  /// their results.
  std::vector<result> run_files(const std::vector<std::string>& files, int batch = 0);

 private:
  tool() = default;
  std::vector<result> run_converted(const std::vector<cv::Mat>& images,
                                    const std::vector<cv::Size>& sizes,
                                    std::vector<result> results, int batch);

  tool_info info_;
  std::vector<double> mean_, std_;
  std::unique_ptr<kind_runtime> kind_;
};

}  // namespace trainyard::deploy
