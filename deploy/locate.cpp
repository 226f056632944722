// The locate kind of trainyard_runtime: the detector's heads (model.onnx) decoded into boxes as
// `trainyard predict` decodes them (locate_boxes.hpp), and in two-stage tools each box labelled
// by the box classifier (items.onnx) from its square crop, mirrored too when the tool was trained
// with flips. Boxes come out in the pixels of the image as it was given.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "deploy/item_views.hpp"
#include "deploy/kind_runtime.hpp"
#include "deploy/locate_boxes.hpp"

namespace trainyard::deploy {

namespace {

// What the locate settings of tool.json say (export_detector writes them).
struct locate_settings {
  box_decoding decoding;
  std::string model;
  bool two_stage = false;
  std::string items_model;
  int crop_size = 28;
  float crop_margin = 1.15f;
  int labels_per_box = 1;
  bool mirror_views = false;
};

// Reads `key` of the settings into `out`; false with `error` naming it when it is missing or of
// another type.
template <class T>
bool read_setting(const nlohmann::json& settings, const char* key, T& out, std::string& error) {
  const auto it = settings.find(key);
  try {
    if (it != settings.end() && !it->is_null()) {
      out = number_as<T>(*it);
      return true;
    }
  } catch (const std::exception&) {
    // Of another type or out of range (number_as): said below like a missing one.
  }
  error = std::string("tool.json's locate settings lack \"") + key +
          "\" or hold another type there; export the tool again with this version of trainyard";
  return false;
}

bool read_locate_settings(const tool_description& tool, locate_settings& s, std::string& error) {
  const nlohmann::json& j = tool.settings;
  if (!j.is_object()) {
    error = "tool.json has no locate settings; export the tool again";
    return false;
  }
  if (!read_setting(j, "model_file", s.model, error) ||
      !read_setting(j, "detection_threshold", s.decoding.threshold, error) ||
      !read_setting(j, "max_objects", s.decoding.max_objects, error) ||
      !read_setting(j, "nms_iou", s.decoding.nms_iou, error) ||
      !read_setting(j, "stride", s.decoding.stride, error) ||
      !read_setting(j, "two_stage", s.two_stage, error))
    return false;
  if (!s.two_stage)
    return true;
  return read_setting(j, "items_file", s.items_model, error) &&
         read_setting(j, "crop_size", s.crop_size, error) &&
         read_setting(j, "crop_margin", s.crop_margin, error) &&
         read_setting(j, "labels_per_box", s.labels_per_box, error) &&
         read_setting(j, "mirror_views", s.mirror_views, error);
}

class locate_runtime final : public kind_runtime {
 public:
  locate_runtime(const tool_description& tool, locate_settings settings, cv::dnn::Net heads,
                 cv::dnn::Net items)
      : info_(tool.info),
        settings_(std::move(settings)),
        heads_(std::move(heads)),
        items_(std::move(items)) {}

  void run(const cv::Mat& blob, const std::vector<cv::Size>& sizes,
           std::vector<result*>& results) override {
    std::vector<std::vector<found_box>> found;
    try {
      heads_.setInput(blob, "image");
      std::vector<cv::Mat> outputs;
      heads_.forward(outputs, std::vector<cv::String>{"heatmap", "size", "offset"});
      found = decode_boxes(outputs[0], outputs[1], outputs[2], settings_.decoding);
      if (settings_.two_stage)
        found = label(blob, found);
    } catch (const cv::Exception& e) {
      // A network that does not fit the tool.json beside it (edited, mixed up folders).
      for (result* r : results)
        r->error = "the locate networks failed (" + e.msg +
                   "); export the tool again into an empty folder";
      return;
    }
    for (std::size_t i = 0; i < results.size() && i < found.size(); ++i)
      report(found[i], sizes[i], *results[i]);
  }

 private:
  // Each box with the box classifier's labels (label_boxes): its probabilities on the crops,
  // averaged with those on the mirrored crops when the tool was trained with flips.
  std::vector<std::vector<found_box>> label(const cv::Mat& blob,
                                            const std::vector<std::vector<found_box>>& found) {
    const cv::Mat crops = crop_boxes(blob, found, settings_.crop_size, settings_.crop_margin);
    if (crops.empty())
      return found;
    return label_boxes(found, item_probabilities(items_, crops, settings_.mirror_views),
                       settings_.labels_per_box, settings_.decoding);
  }

  // One image's result: its boxes scaled from the tool's input to the image's own pixels, the
  // best one's label and score.
  void report(const std::vector<found_box>& boxes, const cv::Size& size, result& r) const {
    const float sx = static_cast<float>(size.width) / static_cast<float>(info_.width);
    const float sy = static_cast<float>(size.height) / static_cast<float>(info_.height);
    r.boxes.clear();
    for (found_box b : boxes) {
      b.x *= sx;
      b.width *= sx;
      b.y *= sy;
      b.height *= sy;
      b.label_name = name_of(b.label);
      r.boxes.push_back(std::move(b));
    }
    if (r.boxes.empty()) {
      r.label = -1;
      r.label_name = "(no objects)";
      r.score = 0;
    } else {
      r.label = r.boxes.front().label;
      r.label_name = r.boxes.front().label_name;
      r.score = r.boxes.front().score;
    }
  }

  std::string name_of(int label) const {
    return label >= 0 && static_cast<std::size_t>(label) < info_.class_names.size()
               ? info_.class_names[static_cast<std::size_t>(label)]
               : "label " + std::to_string(label);
  }

  tool_info info_;
  locate_settings settings_;
  cv::dnn::Net heads_, items_;
};

}  // namespace

std::unique_ptr<kind_runtime> make_locate_runtime(const tool_description& tool,
                                                  std::string& error) {
  locate_settings settings;
  if (!read_locate_settings(tool, settings, error))
    return nullptr;
  cv::dnn::Net heads, items;
  if (!load_stage_networks(tool, settings.model, settings.items_model, settings.two_stage, heads,
                           items, error))
    return nullptr;
  return std::make_unique<locate_runtime>(tool, std::move(settings), std::move(heads),
                                          std::move(items));
}

}  // namespace trainyard::deploy
