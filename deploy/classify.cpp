// The classify kind in trainyard_runtime: model.onnx's logits (for a tool trained with flips, the
// mean of the image's and its mirror's), their softmax, the most probable class (as the classify
// tool's predict).
#include <cmath>

#include "deploy/item_views.hpp"
#include "deploy/kind_runtime.hpp"

namespace trainyard::deploy {

namespace {

class classify_runtime final : public kind_runtime {
 public:
  classify_runtime(const tool_description& tool, cv::dnn::Net net)
      : names_(tool.info.class_names),
        net_(std::move(net)),
        mirror_views_(tool.mirror_views) {}

  void run(const cv::Mat& blob, const std::vector<cv::Size>&,
           std::vector<result*>& results) override {
    net_.setInput(blob, "image");
    cv::Mat logits = net_.forward("logits").clone();
    if (mirror_views_) {
      net_.setInput(mirrored(blob), "image");
      cv::addWeighted(logits, 0.5, net_.forward("logits"), 0.5, 0.0, logits);
    }
    const int classes = logits.size[1];
    for (std::size_t i = 0; i < results.size(); ++i) {
      const float* row = logits.ptr<float>(static_cast<int>(i));
      result& r = *results[i];
      // Softmax in double, shifted by the largest logit.
      double top = row[0], sum = 0;
      for (int c = 1; c < classes; ++c)
        top = std::max(top, static_cast<double>(row[c]));
      std::vector<double> e(static_cast<std::size_t>(classes));
      for (int c = 0; c < classes; ++c)
        sum += e[c] = std::exp(row[c] - top);
      r.probabilities.resize(e.size());
      r.label = 0;
      for (int c = 0; c < classes; ++c) {
        r.probabilities[c] = static_cast<float>(e[c] / sum);
        if (r.probabilities[c] > r.probabilities[r.label])
          r.label = c;
      }
      r.score = r.probabilities[r.label];
      r.label_name = r.label < static_cast<int>(names_.size()) ? names_[r.label] : "";
    }
  }

 private:
  std::vector<std::string> names_;
  cv::dnn::Net net_;
  bool mirror_views_;
};

}  // namespace

std::unique_ptr<kind_runtime> make_classify_runtime(const tool_description& tool,
                                                    std::string& error) {
  cv::dnn::Net net = load_network(tool, tool.settings.value("model_file", ""), error);
  if (net.empty())
    return nullptr;
  return std::make_unique<classify_runtime>(tool, std::move(net));
}

}  // namespace trainyard::deploy
