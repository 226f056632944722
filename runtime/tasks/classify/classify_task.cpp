// The classify tool as a tool_task: the Classifier (classifier.hpp) of the tool's model size,
// cross-entropy on labels (with the job's label smoothing), accuracy as the monitored metric,
// softmax label and score as predictions. A tool trained with horizontal flips (and
// test_time_flips) averages the logits of each image and its mirror wherever it infers.
#include <algorithm>

#include "runtime/tasks/classify/classifier.hpp"
#include "runtime/train/onnx_graph.hpp"
#include "runtime/train/tool_task.hpp"

namespace trainyard {

namespace {

namespace F = torch::nn::functional;

class classify_task final : public task_with_net<classify_task, Classifier> {
 public:
  explicit classify_task(const task_setup& s)
      : task_with_net(s, Classifier(classify_shape(
                             s.tool.model, s.channels, s.tool.input_height, s.tool.input_width,
                             static_cast<int>(s.class_names.size()), s.tool.model_width,
                             s.tool.batch_norm, s.tool.dropout))) {}

  void set_dropout_generator(torch::Generator generator) override {
    model_->set_dropout_generator(std::move(generator));
  }

  torch::Tensor batch_loss(const task_data& train, const torch::Tensor& rows,
                           torch::Generator& gen) override {
    const torch::Tensor x = training_batch(train.images, rows, transform_, augment_, gen);
    const torch::Tensor y = transform_.to_device(train.labels.index_select(0, rows));
    return F::cross_entropy(model_->forward(x), y,
                            F::CrossEntropyFuncOptions().label_smoothing(setup_.label_smoothing));
  }

  void infer(const torch::Tensor& x) override { (void)model_->forward(x).argmax(1); }

  metric_map evaluate(const task_data& set, const std::string& prefix) override {
    const set_evaluation e =
        evaluate_classifier(model_, labelled_images{set.images, set.labels}, transform_,
                            task_evaluation_batch, false, mirror_views(setup_.augmentation));
    return {{prefix + "loss", e.loss}, {prefix + "accuracy", e.accuracy}};
  }

  expected<std::vector<prediction>> predict(const torch::Tensor& images,
                                            const std::vector<std::string>& files,
                                            const std::string&) override {
    torch::NoGradGuard no_grad;
    model_->eval();
    const torch::Tensor probabilities =
        torch::softmax(
            classifier_logits(model_, transform_(images), mirror_views(setup_.augmentation)), 1)
            .to(torch::kCPU);
    const auto [score, label] = probabilities.max(1);
    const auto scores = score.accessor<float, 1>();
    const auto labels = label.accessor<std::int64_t, 1>();
    std::vector<prediction> out;
    for (std::int64_t i = 0; i < images.size(0); ++i) {
      prediction p;
      p.image = files[static_cast<std::size_t>(i)];
      p.label = static_cast<int>(labels[i]);
      p.label_name = setup_.class_names.at(static_cast<std::size_t>(p.label));
      p.score = scores[i];
      out.push_back(std::move(p));
    }
    return out;
  }

  /// model.onnx: "image" [N, C, H, W] normalised → "logits" [N, classes].
  expected<nlohmann::json> export_onnx(const std::string& folder, std::int64_t batch) override {
    model_->eval();
    const tool_spec& t = setup_.tool;
    onnx_graph graph("classify", batch);
    const std::string x = graph.input("image", {setup_.channels, t.input_height, t.input_width});
    graph.output(model_->to_onnx(graph, x), "logits",
                 {static_cast<std::int64_t>(setup_.class_names.size())});
    if (auto ok = graph.save(folder + "/model.onnx"); !ok)
      return ok.error();
    return nlohmann::json{{"model_file", "model.onnx"},
                          {"mirror_views", mirror_views(setup_.augmentation)}};
  }
};

expected<std::unique_ptr<tool_task>> make_classify_task(const task_setup& setup) {
  return std::unique_ptr<tool_task>(std::make_unique<classify_task>(setup));
}

expected<task_data> classify_targets(const task_setup&, const dataset_index&,
                                     const std::vector<std::int64_t>&, labelled_images decoded,
                                     split_set) {
  task_data d;
  d.images = std::move(decoded.images);
  d.labels = std::move(decoded.labels);
  return d;
}

expected<std::vector<std::string>> classify_class_names(const tool_spec& tool,
                                                        const dataset_index& index) {
  // One class leaves nothing to tell apart: every prediction would be right.
  if (index.class_names.size() < 2)
    return make_failure(error_code::invalid_config,
                        "tool " + tool.name + ": dataset " + index.spec.name + " has " +
                          (index.class_names.empty()
                             ? std::string("no classes")
                             : "one class ('" + index.class_names.front() + "')") +
                          "; a classify tool needs at least two: add a folder of images per "
                          "class, or train an anomaly tool to learn what one class looks like");
  return index.class_names;
}

}  // namespace

const task_kind& classify_task_kind() {
  static const task_kind kind{"classify", classify_class_names, classify_targets,
                              make_classify_task};
  return kind;
}

}  // namespace trainyard
