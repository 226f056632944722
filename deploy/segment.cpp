// The segment kind in trainyard_runtime: the U-Net of model.onnx ("image" -> "labels", and for a
// two-stage tool "centres"), then what `trainyard predict` does with its outputs. One stage: each
// pixel takes the label of its largest logit. Two stages (instance segmentation): the pixels
// whose item logit beats the background's are split into items by the centre head
// (segment_items.hpp), each item is cut out on black, named whole by the item classifier of
// items.onnx ("crops" -> "logits") and all its pixels take its label. A tool trained with
// horizontal flips also runs the mirror image (and the mirror of each crop) and averages, as
// predict does.
#include <algorithm>
#include <cmath>

#include "deploy/item_views.hpp"
#include "deploy/kind_runtime.hpp"
#include "deploy/segment_items.hpp"

namespace trainyard::deploy {

namespace {

/// What tool.json's "settings" say of a segment tool (written by the segment task's export).
struct segment_settings {
  std::string model = "model.onnx";
  std::string items_model;  ///< two stages: the item classifier's file
  bool two_stage = false;
  bool mirror_views = false;
  float offset_unit = 1;  ///< the centre head's offsets are in units of this many pixels
  item_finding finding;
  item_cropping cropping;
};

/// The settings, or an error naming what is missing.
bool read_settings(const tool_description& tool, segment_settings& s, std::string& error) {
  const nlohmann::json& j = tool.settings;
  try {
    s.model = j.value("model_file", s.model);
    s.two_stage = j.at("two_stage").get<bool>();
    s.mirror_views = j.value("mirror_views", tool.mirror_views);
    if (!s.two_stage)
      return true;
    s.items_model = j.at("items_file").get<std::string>();
    s.offset_unit = j.at("offset_unit").get<float>();
    s.finding.centre_threshold = j.at("centre_threshold").get<float>();
    s.finding.centre_window = number_as<int>(j.at("centre_window"));
    s.finding.most_items = number_as<int>(j.at("most_items_per_image"));
    s.cropping.size = number_as<int>(j.at("crop_size"));
    s.cropping.margin = j.at("crop_margin").get<float>();
    s.cropping.background = j.at("background").get<std::vector<float>>();
  } catch (const std::exception& e) {  // json::exception, or number_as's out_of_range
    error = "the segment settings of " + tool.folder + "/tool.json are incomplete (" + e.what() +
            "); export the tool again with this version of trainyard";
    return false;
  }
  if (static_cast<int>(s.cropping.background.size()) != tool.info.channels) {
    error = "the segment settings of " + tool.folder + "/tool.json give " +
            std::to_string(s.cropping.background.size()) + " background values for " +
            std::to_string(tool.info.channels) + " channels; export the tool again";
    return false;
  }
  return true;
}

/// (a + mirror of b) / 2, plane by plane; channel `negated_channel` (the x offset) takes -b.
void average_mirror(cv::Mat& a, const cv::Mat& b, int negated_channel = -1) {
  const cv::Mat back = mirrored(b);
  const int h = a.size[2], w = a.size[3];
  for (int i = 0; i < a.size[0]; ++i)
    for (int c = 0; c < a.size[1]; ++c) {
      float* x = a.ptr<float>(i, c);
      const float* y = back.ptr<float>(i, c);
      const float sign = c == negated_channel ? -1.0f : 1.0f;
      for (int k = 0; k < h * w; ++k)
        x[k] = (x[k] + y[k] * sign) / 2;
    }
}

/// Index of the first largest of `count` values `stride` apart.
int first_largest(const float* v, int count, std::size_t stride) {
  int best = 0;
  for (int k = 1; k < count; ++k)
    if (v[k * stride] > v[best * stride])
      best = k;
  return best;
}

class segment_runtime final : public kind_runtime {
 public:
  segment_runtime(const tool_description& tool, segment_settings settings, cv::dnn::Net net,
                  cv::dnn::Net items)
      : tool_(tool), settings_(std::move(settings)), net_(std::move(net)),
        items_(std::move(items)) {}

  void run(const cv::Mat& blob, const std::vector<cv::Size>& sizes,
           std::vector<result*>& results) override {
    (void)sizes;  // the labels stay at the tool's input size, as predict's masks
    std::vector<cv::Mat> out = forward(blob);
    if (settings_.mirror_views) {
      const std::vector<cv::Mat> back = forward(mirrored(blob));
      average_mirror(out[0], back[0]);
      if (settings_.two_stage)
        average_mirror(out[1], back[1], /*x offset*/ 1);
    }
    const int h = blob.size[2], w = blob.size[3], k = out[0].size[1];
    const std::size_t plane = static_cast<std::size_t>(h) * w;
    for (int i = 0; i < blob.size[0]; ++i) {
      cv::Mat labels(h, w, CV_8UC1);
      const float* logits = out[0].ptr<float>(i, 0);
      for (int p = 0; p < h * w; ++p)
        labels.at<std::uint8_t>(p / w, p % w) =
            static_cast<std::uint8_t>(first_largest(logits + p, k, plane));
      if (settings_.two_stage)
        name_items(blob.ptr<float>(i, 0), out[1], i, labels);
      describe(std::move(labels), *results[static_cast<std::size_t>(i)]);
    }
  }

 private:
  /// The U-Net's outputs for a blob: the per-pixel logits and, two stages, the centre head.
  std::vector<cv::Mat> forward(const cv::Mat& blob) {
    net_.setInput(blob, "image");
    std::vector<std::string> names = {"labels"};
    if (settings_.two_stage)
      names.emplace_back("centres");
    std::vector<cv::Mat> out;
    net_.forward(out, names);
    for (cv::Mat& m : out)
      m = m.clone();  // the network reuses its buffers on the next call
    return out;
  }

  /// Two stages: `labels` (1 on item pixels) becomes each found item's label from the item
  /// classifier; `image` is the normalised image, `centres` the centre head of the batch.
  void name_items(const float* image, const cv::Mat& centres, int i, cv::Mat& labels) {
    const int h = labels.rows, w = labels.cols;
    auto plane = [&](int c) {
      return cv::Mat(h, w, CV_32F, const_cast<float*>(centres.ptr<float>(i, c)));
    };
    cv::Mat heat(h, w, CV_32F), offset_x = plane(1) * settings_.offset_unit,
                                offset_y = plane(2) * settings_.offset_unit;
    const cv::Mat logit = plane(0);
    for (int p = 0; p < h * w; ++p)
      heat.at<float>(p / w, p % w) = 1.0f / (1.0f + std::exp(-logit.at<float>(p / w, p % w)));
    const found_items found = find_items(labels, heat, offset_x, offset_y, settings_.finding);
    labels.setTo(0);
    if (found.boxes.empty())
      return;
    const cv::Mat crops = crop_items(image, tool_.info.channels, h, w, found, settings_.cropping);
    const cv::Mat p = item_probabilities(items_, crops, settings_.mirror_views);
    std::vector<std::uint8_t> named;
    for (int m = 0; m < p.rows; ++m)
      named.push_back(static_cast<std::uint8_t>(1 + first_largest(p.ptr<float>(m), p.cols, 1)));
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const int item = found.parts.at<int>(y, x);
        if (item >= 0)
          labels.at<std::uint8_t>(y, x) = named[static_cast<std::size_t>(item)];
      }
  }


  /// predict's label and score of a mask: its most frequent non-background label (0 when none)
  /// and the share of its pixels given one.
  void describe(cv::Mat labels, result& r) const {
    const std::size_t k = tool_.info.class_names.size();
    std::vector<long> counts(k, 0);
    for (int y = 0; y < labels.rows; ++y)
      for (int x = 0; x < labels.cols; ++x)
        ++counts[std::min<std::size_t>(labels.at<std::uint8_t>(y, x), k - 1)];
    long object_pixels = 0;
    r.label = 0;
    for (std::size_t c = 1; c < k; ++c) {
      object_pixels += counts[c];
      if (counts[c] > 0 && (r.label == 0 || counts[c] > counts[static_cast<std::size_t>(r.label)]))
        r.label = static_cast<int>(c);
    }
    r.label_name = tool_.info.class_names[static_cast<std::size_t>(r.label)];
    r.score = static_cast<double>(object_pixels) / static_cast<double>(labels.total());
    r.labels = std::move(labels);
  }

  tool_description tool_;
  segment_settings settings_;
  cv::dnn::Net net_, items_;
};

}  // namespace

std::unique_ptr<kind_runtime> make_segment_runtime(const tool_description& tool,
                                                   std::string& error) {
  segment_settings settings;
  if (!read_settings(tool, settings, error))
    return nullptr;
  if (tool.info.class_names.size() < 2) {
    error = tool.folder + "/tool.json names " + std::to_string(tool.info.class_names.size()) +
            " labels; a segment tool has the background and at least one more";
    return nullptr;
  }
  cv::dnn::Net net, items;
  if (!load_stage_networks(tool, settings.model, settings.items_model, settings.two_stage, net,
                           items, error))
    return nullptr;
  return std::make_unique<segment_runtime>(tool, std::move(settings), std::move(net),
                                           std::move(items));
}

}  // namespace trainyard::deploy
