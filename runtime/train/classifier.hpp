// The `classify` tool's model and the tensor plumbing around it: normalisation of 8-bit images,
// evaluation on a labelled set, and decoded dataset images kept between jobs.
// Internal to the training runtime (runtime/train/, runtime/tasks/): only the torch translation units (engine.cpp, tool_ops.cpp)
// include it, because it includes LibTorch.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "runtime/data/dataset_index.hpp"
#include "runtime/core/error.hpp"
#include "runtime/train/images.hpp"

namespace trainyard {

/// What fixes the model's layers.
struct classifier_shape {
  int channels = 1;      ///< input channels: 1 gray, 3 RGB
  int height = 28;       ///< input pixels
  int width = 28;
  int classes = 10;
  int model_width = 32;  ///< channels of the first convolution
  bool batch_norm = true;  ///< off: no BatchNorm layers (the convolutions get biases instead)
  double dropout = 0.25;   ///< before the last layer; 0: no dropout at all
  /// Two convolutions in each of the first two stages instead of one (the item classifier of
  /// locate and segment, box_classifier.hpp): conv(w) conv(w) pool, conv(2w) conv(2w) pool.
  bool deep = false;
};

/// A small CNN for classification, sized for CPU training:
///   conv3x3(w) → maxpool2 → BN → ReLU → conv3x3(2w) → maxpool2 → BN → ReLU
///   → conv3x3(2w) → BN → ReLU → [adaptive avg pool to at most 7x7] → fc(128) → ReLU
///   → dropout(0.25) → fc(classes)
/// The shape's switches remove the batch norms (each convolution then has a bias), set the
/// dropout probability (0 removes it) and (deep) put a second conv3x3 BN ReLU before each of the
/// first two poolings; the default shape is the model above, layer for layer.
/// (A dropout on the 3,136 convolutional features as well cost about 7% of a step in random draws.)
/// Sized by measurement on 2 EPYC cores (Fashion-MNIST, batch 128, Adam 1e-3): it reaches 90% test
/// accuracy after one or two epochs at ~3,500 images/s. Pooling before batch norm and ReLU runs
/// them on a quarter of the values (+20% throughput over pooling last, same accuracy; max-pooling
/// commutes with ReLU); two convolutions per stage (conv(w)-conv(w)-pool-conv(2w)-conv(2w)-pool)
/// trained at 40% of the speed (613 vs 1,459 images/s on one thread) and missed 3,000 images/s.
class ClassifierImpl : public torch::nn::Cloneable<ClassifierImpl> {
 public:
  explicit ClassifierImpl(const classifier_shape& shape);
  /// (Re)creates and registers every layer, as Cloneable requires.
  void reset() override;
  /// Logits, [batch, classes], of a normalised float batch [batch, channels, height, width].
  torch::Tensor forward(torch::Tensor x);
  const classifier_shape& shape() const { return shape_; }
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
  torch::nn::Linear hidden_{nullptr}, output_{nullptr};
  std::int64_t pooled_height_ = 0, pooled_width_ = 0;  ///< spatial size entering the classifier
  bool adaptive_pool_ = false;                         ///< large inputs are averaged down to 7x7
  torch::Generator dropout_generator_;                 ///< undefined: the default generator
};
TORCH_MODULE(Classifier);

/// Per-channel statistics of the training images, on the [0, 1] scale.
struct normalization {
  std::vector<double> mean;
  std::vector<double> std;
};

/// Mean and standard deviation per channel of 8-bit images [N, C, H, W], computed exactly (integer
/// sums), so they are the same on every machine.
normalization compute_normalization(const torch::Tensor& images);

/// Turns 8-bit images into the model's float input: (pixel / 255 - mean) / std per channel.
class input_transform {
 public:
  input_transform() = default;
  explicit input_transform(const normalization& n);
  /// New float tensor from an 8-bit batch.
  torch::Tensor operator()(const torch::Tensor& images) const;
  /// In place: [0, 1] floats to normalised ones (after augmentation).
  void normalize_unit(torch::Tensor& x) const;

 private:
  bool single_channel_ = true;
  double scale_ = 1, shift_ = 0;           // one channel: x * scale + shift
  torch::Tensor scale_t_, shift_t_;        // several: broadcast [1, C, 1, 1]
  torch::Tensor mean_t_, std_t_;
  double mean_ = 0, std_ = 1;
};

/// 8-bit images with their labels.
struct labelled_images {
  torch::Tensor images;  ///< uint8 [N, C, H, W]
  torch::Tensor labels;  ///< int64 [N]
  std::int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

/// Loss and accuracy of a model on a labelled set, and optionally its confusion matrix.
struct set_evaluation {
  std::int64_t images = 0;
  double loss = 0;      ///< mean cross-entropy
  double accuracy = 0;  ///< fraction correct
  std::vector<std::vector<std::int64_t>> confusion;  ///< [true][predicted] when asked
};
/// Images per evaluation step, in training (validation, test) and in evaluate_tool alike: one
/// fixed size keeps their numbers identical, whatever batch size probing chose.
inline constexpr int evaluation_batch_size = 256;

/// Evaluates in eval mode without gradients, `batch_size` images at a time (a fixed size keeps the
/// numbers identical between runs); restores the module's training mode afterwards.
set_evaluation evaluate_classifier(Classifier& model, const labelled_images& set,
                                   const input_transform& transform, int batch_size,
                                   bool confusion);

/// Geometry of a dataset's images for a tool: IDX images are gray, folders gray or RGB.
image_geometry dataset_geometry(const dataset_spec& dataset, int width, int height);

/// Decodes the listed images of a dataset (indices into `index`) at `geometry`.
expected<labelled_images> load_images(const dataset_index& index,
                                      const std::vector<std::int64_t>& images,
                                      const image_geometry& geometry, int threads);

/// Decoded datasets kept between the jobs of one engine, so consecutive jobs on the same dataset
/// do not decode 70,000 images again. Keyed by the dataset spec and the geometry; folder images
/// are remembered by path, so a rescanned folder reuses what it still holds. Holds the two most
/// recently used datasets. Used by one thread at a time, like the engine.
class image_cache {
 public:
  expected<labelled_images> images(const dataset_index& index,
                                   const std::vector<std::int64_t>& images,
                                   const image_geometry& geometry, int threads);

 private:
  struct entry {
    torch::Tensor pixels;                             ///< uint8 [rows, C, H, W]
    std::map<std::string, std::int64_t> row_of_file;  ///< folders: path → row of pixels
  };
  std::list<std::pair<std::string, entry>> entries_;  ///< most recently used first
};

}  // namespace trainyard
