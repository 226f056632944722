// What differs between tool kinds, behind one interface the engine (engine.cpp) and the tool
// operations (tool_ops.cpp) share: the model, the targets of a set (labels, masks, good/defect),
// a training batch's loss, evaluation into named metrics with one monitored metric, extra state
// kept next to the weights (the anomaly tool's memory bank and threshold), and predictions.
// Everything else — shuffling, batches, the optimizer step, the batch-size probe, checkpoints,
// determinism, metrics files — stays in the engine, the same for every kind.
//
// Internal to the training runtime (runtime/train/, runtime/tasks/): includes LibTorch. One task
// object per job (or per opened tool), used by one thread.
//
// Kinds: one folder each, runtime/tasks/<kind>/ (registered in task_kinds(), tool_task.cpp).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "runtime/data/annotations.hpp"
#include "runtime/data/dataset_index.hpp"
#include "runtime/core/error.hpp"
#include "runtime/core/specs.hpp"
#include "runtime/train/augmenter.hpp"
#include "runtime/train/input.hpp"
#include "runtime/train/prediction.hpp"

namespace trainyard {

/// One set of a split, decoded, with what the tool kind learns from.
struct task_data {
  torch::Tensor images;  ///< uint8 [N, C, H, W]
  /// int64 [N]: classify: the class; anomaly: 0 good, 1 defect; segment and locate: 1 when the
  /// image has an object (a non-background mask pixel, a box), else 0.
  torch::Tensor labels;
  /// uint8 [N, H, W] or undefined: segment: the label of every pixel; anomaly: 1 on defect pixels
  /// (defined only when the dataset has defect masks).
  torch::Tensor masks;
  /// locate: the boxes of each image in the tool's input pixels (scaled from the stored image's);
  /// empty for the other kinds.
  std::vector<std::vector<box>> boxes;
  std::int64_t size() const { return images.defined() ? images.size(0) : 0; }
};

/// An RGB display colour of a label.
using label_colour = std::array<std::uint8_t, 3>;

/// Everything that fixes a task's model and its input.
struct task_setup {
  tool_spec tool;
  int channels = 1;
  std::vector<std::string> class_names;  ///< classify: classes; segment: mask labels (0 =
                                         ///< background); anomaly: {"good", "defect"};
                                         ///< locate: box labels (COCO categories by id)
  std::vector<label_colour> colours;     ///< segment: one per label (overlays)
  normalization norm;                    ///< of the training images
  augmentation_settings augmentation;    ///< of the (last) training job: augments training, and
                                         ///< with horizontal flips and test_time_flips inference
                                         ///< averages mirrors
  double label_smoothing = 0;            ///< classify's training loss (resolved, never auto)
  /// Where the model lives and batches go: the job's device; the CPU for the tool operations
  /// (evaluate, predict, export). Decoded sets stay on the CPU.
  torch::Device device = torch::kCPU;
};

/// Whether inference averages each image with its mirror: tools trained with horizontal flips,
/// unless test_time_flips is off.
inline bool mirror_views(const augmentation_settings& a) {
  return a.flip_horizontal && a.test_time_flips;
}

/// Images per evaluation step, for every kind; fixed so numbers do not depend on the probe.
inline constexpr int task_evaluation_batch = evaluation_batch_size;

/// One tool kind's part of training, evaluation and prediction.
class tool_task {
 public:
  explicit tool_task(const task_setup& setup);
  virtual ~tool_task() = default;

  /// The model the engine trains, checkpoints (best.pt, checkpoint.pt) and optimises.
  virtual std::shared_ptr<torch::nn::Module> model() const = 0;
  /// A copy with its own weights, for batch-size probe trials.
  virtual std::unique_ptr<tool_task> clone() const = 0;
  /// The validation metric that says how good the tool is: the kind's
  /// (runtime/tasks/kinds.hpp), e.g. "val_accuracy". Early stopping follows it unless the kind
  /// names a stopping metric (stopping_metric_of).
  const std::string& monitored_metric() const;

  /// Mean loss of the training batch made of `rows` of `train` (augmented with `gen`), in the
  /// model's current mode. The engine calls backward and steps the optimizer.
  virtual torch::Tensor batch_loss(const task_data& train, const torch::Tensor& rows,
                                   torch::Generator& gen) = 0;
  /// Runs inference on a normalised batch and discards the result (probe timing).
  virtual void infer(const torch::Tensor& x) = 0;
  /// Data-parallel ranks that share a process draw dropout from their own generator instead of
  /// the process's default one. Default: the model has no dropout to redirect.
  virtual void set_dropout_generator(torch::Generator generator) { (void)generator; }

  /// Before evaluations with the current weights: state derived from the training set (the
  /// anomaly memory bank and score scales). Default: nothing.
  virtual void prepare(const task_data& train) { (void)train; }
  /// Metrics of the current weights on a set, each name prefixed ("val_", "test_", or "" for
  /// evaluate); always holds prefix + "loss" and the monitored metric (prefix + its stem).
  virtual metric_map evaluate(const task_data& set, const std::string& prefix) = 0;
  /// After training, best weights loaded and prepared: tunes what validation decides (the
  /// anomaly threshold). Returns what was tuned, as metrics ("threshold"). Default: nothing.
  virtual metric_map tune(const task_data& validation) {
    (void)validation;
    return {};
  }
  /// Extra state kept in task.pt next to best.pt; false when the kind has none.
  virtual bool save_state(torch::serialize::OutputArchive& archive) const {
    (void)archive;
    return false;
  }
  virtual void load_state(torch::serialize::InputArchive& archive) { (void)archive; }

  /// Predictions for 8-bit images [N, C, H, W] decoded from `files`; kinds that draw (masks,
  /// overlays, heatmaps) write PNGs named after each file's stem into `output_folder`.
  virtual expected<std::vector<prediction>> predict(const torch::Tensor& images,
                                                    const std::vector<std::string>& files,
                                                    const std::string& output_folder) = 0;

  /// Writes the kind's networks for deployment into `folder` (model.onnx, and the other files
  /// the kind needs), with a batch dimension of `batch` (0: dynamic), and returns the kind's
  /// settings for tool.json's "settings" (thresholds, score scales; each key ending in "_file"
  /// names a file written, e.g. "model_file": "model.onnx"). The export
  /// folder format is deploy/trainyard_runtime.hpp's; trainyard_runtime reads these settings
  /// back (deploy/<kind>.cpp).
  virtual expected<nlohmann::json> export_onnx(const std::string& folder,
                                               std::int64_t batch) = 0;

  const task_setup& setup() const { return setup_; }
  const input_transform& transform() const { return transform_; }

 protected:
  task_setup setup_;
  input_transform transform_;
  augmenter augment_;
};

/// A kind's task with its one network `Net` (a torch module holder): hands the network out and
/// deep-copies the task with a copy of it (the data-parallel ranks that share a process each
/// train their own). `Derived` is the kind's task class.
template <class Derived, class Net>
class task_with_net : public tool_task {
 public:
  std::shared_ptr<torch::nn::Module> model() const override { return model_.ptr(); }
  std::unique_ptr<tool_task> clone() const override {
    auto copy = std::make_unique<Derived>(static_cast<const Derived&>(*this));
    copy->model_ = Net(std::dynamic_pointer_cast<typename Net::ContainedType>(model_->clone()));
    return copy;
  }

 protected:
  task_with_net(const task_setup& setup, Net net) : tool_task(setup), model_(std::move(net)) {}

  Net model_;
};

/// A tool kind's torch part; its torch-free descriptor (name, monitored metric, checks of its
/// settings) is runtime/tasks/kinds.hpp's. Each kind's <kind>_task.cpp defines one, registered in
/// task_kinds() (tool_task.cpp) under the descriptor's name.
struct task_kind {
  const char* name;
  /// The kind's labels on a dataset (classify: the dataset's classes; segment: the label table
  /// (dataset.annotations); anomaly: {"good", "defect"}; locate: the COCO file's categories in
  /// ascending id); invalid_config when the dataset cannot serve the kind.
  expected<std::vector<std::string>> (*class_names)(const tool_spec& tool,
                                                    const dataset_index& index);
  /// The targets of decoded images `decoded` (rows = `images`, indices into `index`) of one set:
  /// they need the setup's tool and class names only, so the engine reads them (and the
  /// normalisation of the training images) before it builds the task. The anomaly kind drops
  /// defects from the training set.
  expected<task_data> (*targets)(const task_setup& setup, const dataset_index& index,
                                 const std::vector<std::int64_t>& images, labelled_images decoded,
                                 split_set set);
  /// The task, with freshly initialised weights drawn from torch's default generator.
  expected<std::unique_ptr<tool_task>> (*make)(const task_setup& setup);
};

/// Every kind's torch part.
const std::vector<const task_kind*>& task_kinds();
/// The torch part of `tool`'s kind; invalid_config when none is registered.
expected<const task_kind*> task_kind_of(const tool_spec& tool);

/// task_kind::class_names of the tool's kind.
expected<std::vector<std::string>> task_class_names(const tool_spec& tool,
                                                    const dataset_index& index);
/// Display colours of a segment tool's labels: the label table's, or a fixed palette.
std::vector<label_colour> task_colours(const dataset_spec& dataset, std::size_t labels);

/// task_kind::targets of the setup's kind.
expected<task_data> task_targets(const task_setup& setup, const dataset_index& index,
                                 const std::vector<std::int64_t>& images, labelled_images decoded,
                                 split_set set);

/// The task of `setup.tool.kind`, with freshly initialised weights drawn from torch's default
/// generator (the engine seeds it first). invalid_config when the kind cannot be built.
expected<std::unique_ptr<tool_task>> make_tool_task(const task_setup& setup);

/// Mann-Whitney AUROC of scores (higher = positive) against 0/1 targets, ties counted half;
/// 0.5 when either class is empty. Exposed for tests and the anomaly benchmark.
double auroc(const torch::Tensor& scores, const torch::Tensor& positives);

/// Index of a dataset's "good" class: the class named "good", else class 0.
int good_class(const dataset_index& index);

/// Path of the label mask of an image: `<masks folder>/<image stem>.png`.
std::string mask_path_for(const dataset_spec& dataset, const std::string& image_file);

/// Decodes the label masks of `images` (index.files) at width x height, nearest, uint8
/// [N, H, W]; a mask of another size than its image, or with a value of `label_count` or more,
/// fails naming the file. `required` false: a missing mask is all zeros (anomaly good images).
expected<torch::Tensor> load_label_masks(const dataset_index& index,
                                         const std::vector<std::int64_t>& images,
                                         int label_count, int width, int height, bool required);

}  // namespace trainyard
