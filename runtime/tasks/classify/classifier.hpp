// The `classify` tool's model, a small CNN, also the item classifier inside locate and segment
// (deep shape), and its evaluation on a labelled set.
// Internal to the training runtime (runtime/train/, runtime/tasks/): includes LibTorch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "runtime/train/input.hpp"

namespace trainyard {

class onnx_graph;

/// What fixes the model's layers.
struct classifier_shape {
  int channels = 1;      ///< input channels: 1 gray, 3 RGB
  int height = 28;       ///< input pixels
  int width = 28;
  int classes = 10;
  int model_width = 32;  ///< channels of the first convolution
  bool batch_norm = true;  ///< off: no BatchNorm layers (the convolutions get biases instead)
  /// Before the last layer; 0: no dropout at all. 0.25 is the item classifiers' of locate and
  /// segment; the classify tool passes its `dropout` key (default 0).
  double dropout = 0.25;
  /// Two convolutions in each of the first two stages instead of one (the item classifier of
  /// locate and segment, box_classifier.hpp): conv(w) conv(w) pool, conv(2w) conv(2w) pool.
  bool deep = false;
  /// A conv3x3(w/2) BN ReLU at full resolution before the first convolution (`model = medium`):
  /// the first stage sees edges, not raw pixels, at a third more cost than without.
  bool stem = false;
};

/// A small CNN for classification, sized for CPU training:
///   conv3x3(w) → maxpool2 → BN → ReLU → conv3x3(2w) → maxpool2 → BN → ReLU
///   → conv3x3(2w) → BN → ReLU → [adaptive avg pool to at most 7x7] → fc(128) → ReLU
///   → dropout(0.25) → fc(classes)
/// The shape's switches remove the batch norms (each convolution then has a bias), set the
/// dropout probability (0 removes it) and (deep) put a second conv3x3 BN ReLU before each of the
/// first two poolings, or (stem) put a conv3x3(w/2) BN ReLU before the first convolution; the
/// default shape is the model above, layer for layer.
/// Sized for CPU training of Fashion-MNIST-like sets. Pooling comes before batch norm and ReLU
/// (max-pooling commutes with ReLU), so those run on a quarter of the values.
class ClassifierImpl : public torch::nn::Cloneable<ClassifierImpl> {
 public:
  explicit ClassifierImpl(const classifier_shape& shape);
  /// (Re)creates and registers every layer, as Cloneable requires.
  void reset() override;
  /// Logits, [batch, classes], of a normalised float batch [batch, channels, height, width].
  torch::Tensor forward(torch::Tensor x);
  const classifier_shape& shape() const { return shape_; }
  /// Adds the model's layers in eval mode (no dropout, batch norms with their running
  /// statistics) to `graph` on the input value `x`; returns the logits' value. The adaptive
  /// average pooling of large inputs is folded into the first fully connected layer's weights
  /// (both are linear), so the graph needs no adaptive pooling operator.
  std::string to_onnx(onnx_graph& graph, const std::string& x) const;
  /// Dropout draws from `generator` instead of the process's default generator (which the
  /// ranks of a data-parallel job in one process would share); undefined: the default one.
  void set_dropout_generator(torch::Generator generator) {
    dropout_generator_ = std::move(generator);
  }

 private:
  classifier_shape shape_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  torch::nn::BatchNorm2d norm1_{nullptr}, norm2_{nullptr}, norm3_{nullptr};
  torch::nn::Conv2d conv1b_{nullptr}, conv2b_{nullptr};       ///< deep only
  torch::nn::BatchNorm2d norm1b_{nullptr}, norm2b_{nullptr};  ///< deep only
  torch::nn::Conv2d conv0_{nullptr};                           ///< stem only
  torch::nn::BatchNorm2d norm0_{nullptr};                      ///< stem only
  torch::nn::Linear hidden_{nullptr}, output_{nullptr};
  std::int64_t pooled_height_ = 0, pooled_width_ = 0;  ///< spatial size entering the classifier
  bool adaptive_pool_ = false;                         ///< large inputs are averaged down to 7x7
  torch::Generator dropout_generator_;                 ///< undefined: the default generator
};
TORCH_MODULE(Classifier);

/// Loss and accuracy of a model on a labelled set, and optionally its confusion matrix.
struct set_evaluation {
  std::int64_t images = 0;
  double loss = 0;      ///< mean cross-entropy
  double accuracy = 0;  ///< fraction correct
  std::vector<std::vector<std::int64_t>> confusion;  ///< [true][predicted] when asked
};
/// Evaluates in eval mode without gradients, `batch_size` images at a time (a fixed size keeps the
/// numbers identical between runs); restores the module's training mode afterwards. `mirror`:
/// the logits are the mean of the image's and its left-right mirror's (test-time flips).
set_evaluation evaluate_classifier(Classifier& model, const labelled_images& set,
                                   const input_transform& transform, int batch_size,
                                   bool confusion, bool mirror = false);

/// A [classes * classes] count tensor, true-major (what torch::bincount of true * classes +
/// predicted gives), as a table [true][predicted].
std::vector<std::vector<std::int64_t>> confusion_table(const torch::Tensor& counts,
                                                       std::int64_t classes);

/// Logits of a normalised batch in the model's current mode; with `mirror` the mean of the
/// batch's and its left-right mirror's.
torch::Tensor classifier_logits(Classifier& model, const torch::Tensor& x, bool mirror);

/// The shape of a classify tool's network: `model` small (one convolution per stage, half the
/// width), normal (one per stage) or large (two in each of the first two stages).
classifier_shape classify_shape(const std::string& model, int channels, int height, int width,
                                int classes, int model_width, bool batch_norm, double dropout);

}  // namespace trainyard
