// What differs between tool kinds in trainyard_runtime: the networks of an export folder and the
// post-processing of their outputs. tool (trainyard_runtime.hpp) reads tool.json, decodes,
// converts and normalises the images; a kind_runtime turns a normalised batch into results.
// Internal to trainyard_runtime.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include "deploy/trainyard_runtime.hpp"

namespace trainyard::deploy {

/// An export folder as read from its tool.json.
struct tool_description {
  std::string folder;
  tool_info info;
  bool mirror_views = false;  ///< the tool was trained with horizontal flips (see each kind)
  nlohmann::json settings;    ///< the kind's own settings (tool.json "settings")
};

class kind_runtime {
 public:
  virtual ~kind_runtime() = default;
  /// Fills `results` (one per image, error empty) from `blob`, the normalised images
  /// [N, C, H, W] CV_32F at the tool's input size; `sizes`: each image's size before it was
  /// resized (locate scales its boxes back to it).
  virtual void run(const cv::Mat& blob, const std::vector<cv::Size>& sizes,
                   std::vector<result*>& results) = 0;
};

/// A network of the export folder (`file` in it), loaded by OpenCV DNN; empty with `error` set
/// when the file is missing or does not load.
cv::dnn::Net load_network(const tool_description& tool, const std::string& file,
                          std::string& error);

/// Each kind's runtime; nullptr with `error` when the folder lacks what the kind needs.
std::unique_ptr<kind_runtime> make_classify_runtime(const tool_description& tool,
                                                    std::string& error);
std::unique_ptr<kind_runtime> make_locate_runtime(const tool_description& tool,
                                                  std::string& error);
std::unique_ptr<kind_runtime> make_segment_runtime(const tool_description& tool,
                                                   std::string& error);
std::unique_ptr<kind_runtime> make_anomaly_runtime(const tool_description& tool,
                                                   std::string& error);

}  // namespace trainyard::deploy
