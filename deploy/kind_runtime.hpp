// What differs between tool kinds in trainyard_runtime: the networks of an export folder and the
// post-processing of their outputs. tool (trainyard_runtime.hpp) reads tool.json, decodes,
// converts and normalises the images; a kind_runtime turns a normalised batch into results.
// Internal to trainyard_runtime.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
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
  /// The normalisation of the network's input per channel (tool.json "normalization"): a
  /// normalised value is (v / 255 - mean) / std.
  std::vector<double> normalization_mean, normalization_std;
};

/// `j` as T, like j.get<T>(), but a number T cannot hold exactly (1e100 or 2.5 for an int, 300
/// for a std::uint8_t) throws std::out_of_range: get<T>() converts it with undefined behaviour
/// or wraps it around. A value of another type throws nlohmann's type_error, as get<T>() does.
template <class T>
T number_as(const nlohmann::json& j) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    using limits = std::numeric_limits<T>;
    bool fits = false;
    if (j.is_number_unsigned()) {
      fits = j.get<std::uint64_t>() <= static_cast<std::uint64_t>(limits::max());
    } else if (j.is_number_integer()) {
      const std::int64_t v = j.get<std::int64_t>();
      fits = limits::is_signed ? v >= static_cast<std::int64_t>(limits::min()) &&
                                     v <= static_cast<std::int64_t>(limits::max())
                               : v >= 0 && static_cast<std::uint64_t>(v) <= limits::max();
    } else if (j.is_number_float()) {
      // T holds [-2^digits, 2^digits) when signed, [0, 2^digits) when not, exactly as doubles.
      const double v = j.get<double>(), end = std::ldexp(1.0, limits::digits);
      fits = std::floor(v) == v && v < end && v >= (limits::is_signed ? -end : 0.0);
    } else {
      return j.get<T>();  // throws type_error
    }
    if (!fits)
      throw std::out_of_range(j.dump() + " is not a whole number from " +
                              std::to_string(+limits::min()) + " to " +
                              std::to_string(+limits::max()));
  }
  return j.get<T>();
}

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

/// A two-stage kind's networks: `model_file`, and `items_file` (its item classifier) when
/// `two_stage`; false with `error` set when one is missing or does not load.
bool load_stage_networks(const tool_description& tool, const std::string& model_file,
                         const std::string& items_file, bool two_stage, cv::dnn::Net& model,
                         cv::dnn::Net& items, std::string& error);

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
