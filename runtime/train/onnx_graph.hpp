// An ONNX graph built layer by layer from a trained torch model, for `trainyard export`.
// The graph is inference only: batch norms are folded into the convolution before them, dropout
// is left out. Operators are those OpenCV 4.6's DNN importer reads (opset 11): Conv, Relu,
// Sigmoid, MaxPool, BatchNormalization, Gemm, Flatten, Add, Concat, Resize (nearest, to a fixed size).
// Internal to the training runtime (runtime/train/, runtime/tasks/): includes LibTorch; the
// ONNX protobuf types stay in onnx_graph.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "runtime/core/error.hpp"

namespace trainyard {

/// ONNX operator set the exported graphs declare.
inline constexpr int onnx_opset = 11;

class onnx_graph {
 public:
  /// `batch`: the first dimension of every input and output; 0 = dynamic ("batch").
  onnx_graph(const std::string& name, std::int64_t batch);
  ~onnx_graph();
  onnx_graph(onnx_graph&&) noexcept;
  onnx_graph& operator=(onnx_graph&&) noexcept;

  /// A float input [batch, dims...] named `name`; returns its value name (`name`).
  std::string input(const std::string& name, const std::vector<std::int64_t>& dims);
  /// Declares `value` a graph output under `name` (an Identity node when the names differ),
  /// with shape [batch, dims...].
  void output(const std::string& value, const std::string& name,
              const std::vector<std::int64_t>& dims);

  /// A 2-d convolution with the module's weights; `norm`, when given, is folded in (eval mode:
  /// its running statistics).
  std::string conv(const std::string& x, const torch::nn::Conv2dImpl& conv,
                   const torch::nn::BatchNorm2dImpl* norm = nullptr);
  /// Batch normalisation with the module's running statistics (eval mode), where it cannot be
  /// folded into a convolution (a pooling sits between them).
  std::string batch_norm(const std::string& x, const torch::nn::BatchNorm2dImpl& norm);
  /// The layers of a Sequential of Conv2d, BatchNorm2d (folded into the Conv2d before it) and
  /// ReLU, in order. Any other layer is an error the caller reports (std::logic_error).
  std::string sequential(const std::string& x, const torch::nn::SequentialImpl& layers);
  /// y = x W^T + b of a [batch, in] value.
  std::string linear(const std::string& x, const torch::Tensor& weight, const torch::Tensor& bias);
  std::string linear(const std::string& x, const torch::nn::LinearImpl& layer);
  std::string relu(const std::string& x);
  std::string sigmoid(const std::string& x);
  /// Max-pooling, floor mode (torch's default).
  std::string max_pool(const std::string& x, int kernel, int stride, int padding);
  /// [batch, ...] to [batch, rest].
  std::string flatten(const std::string& x);
  std::string add(const std::string& a, const std::string& b);
  std::string concat(const std::vector<std::string>& values, int axis);
  /// Nearest-neighbour resizing of [batch, C, h, w] from (`from_height`, `from_width`) to
  /// (`height`, `width`), as torch's interpolate(mode = nearest): source pixel floor(dst * in /
  /// out).
  std::string resize_nearest(const std::string& x, std::int64_t from_height,
                             std::int64_t from_width, std::int64_t height, std::int64_t width);

  /// Runs the ONNX checker on the model and writes it to `path` atomically (storage_failed when
  /// it cannot, invalid_request when the checker refuses the graph).
  expected<void> save(const std::string& path) const;

 private:
  struct model;
  std::unique_ptr<model> model_;
};

}  // namespace trainyard
