// The classify model (classifier.hpp) and its evaluation.
#include "runtime/tasks/classify/classifier.hpp"

#include <algorithm>

#include "runtime/train/onnx_graph.hpp"

namespace trainyard {

namespace F = torch::nn::functional;

ClassifierImpl::ClassifierImpl(const classifier_shape& shape) : shape_(shape) { reset(); }

void ClassifierImpl::reset() {
  namespace nn = torch::nn;
  const int w = shape_.model_width;
  // Without batch norm a convolution keeps its bias. BatchNorm2d draws no random numbers, so the
  // convolutions get the same initial weights either way.
  const bool norm = shape_.batch_norm;
  // The stem (medium): a half-width convolution at full resolution feeds the first one.
  const int stem = std::max(1, w / 2);
  if (shape_.stem) {
    conv0_ = register_module(
        "conv0", nn::Conv2d(nn::Conv2dOptions(shape_.channels, stem, 3).padding(1).bias(!norm)));
    if (norm)
      norm0_ = register_module("norm0", nn::BatchNorm2d(stem));
  }
  const int first_in = shape_.stem ? stem : shape_.channels;
  conv1_ = register_module(
      "conv1", nn::Conv2d(nn::Conv2dOptions(first_in, w, 3).padding(1).bias(!norm)));
  if (norm)
    norm1_ = register_module("norm1", nn::BatchNorm2d(w));
  conv2_ = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(w, 2 * w, 3).padding(1).bias(!norm)));
  if (norm)
    norm2_ = register_module("norm2", nn::BatchNorm2d(2 * w));
  conv3_ = register_module("conv3",
                           nn::Conv2d(nn::Conv2dOptions(2 * w, 2 * w, 3).padding(1).bias(!norm)));
  if (norm)
    norm3_ = register_module("norm3", nn::BatchNorm2d(2 * w));
  if (shape_.deep) {
    // The second convolution of each of the first two stages, registered after the others so
    // that those draw the same initial weights either way.
    conv1b_ =
        register_module("conv1b", nn::Conv2d(nn::Conv2dOptions(w, w, 3).padding(1).bias(!norm)));
    conv2b_ = register_module(
        "conv2b", nn::Conv2d(nn::Conv2dOptions(2 * w, 2 * w, 3).padding(1).bias(!norm)));
    if (norm) {
      norm1b_ = register_module("norm1b", nn::BatchNorm2d(w));
      norm2b_ = register_module("norm2b", nn::BatchNorm2d(2 * w));
    }
  }
  // Two 2x2 max-pools; beyond 7x7 the features are averaged down so the first fully connected
  // layer stays small whatever the input size.
  const std::int64_t h = shape_.height / 4, wd = shape_.width / 4;
  adaptive_pool_ = h > 7 || wd > 7;
  pooled_height_ = std::min<std::int64_t>(h, 7);
  pooled_width_ = std::min<std::int64_t>(wd, 7);
  hidden_ = register_module("hidden", nn::Linear(2 * w * pooled_height_ * pooled_width_, 128));
  output_ = register_module("output", nn::Linear(128, shape_.classes));
}

namespace {

// 2x2 max-pooling. ATen's own NCHW kernel is scalar and slow; oneDNN's, through a round trip to
// its tensor format, is faster with identical numbers (a maximum is exact). LibTorch builds
// without oneDNN, and tensors on a GPU (oneDNN takes CPU tensors only), use ATen's.
torch::Tensor max_pool_2x2(const torch::Tensor& x) {
  static const bool onednn = at::hasMKLDNN();
  if (onednn && x.is_cpu() && x.scalar_type() == torch::kFloat)
    return torch::mkldnn_max_pool2d(x.to_mkldnn(), {2, 2}, {2, 2}).to_dense();
  return torch::max_pool2d(x, 2);
}

}  // namespace

torch::Tensor ClassifierImpl::forward(torch::Tensor x) {
  const auto normed = [](torch::nn::BatchNorm2d& norm, torch::Tensor t) {
    return norm ? norm->forward(t) : t;
  };
  if (shape_.stem)
    x = normed(norm0_, conv0_->forward(x)).relu_();
  if (shape_.deep) {
    x = normed(norm1b_, conv1_->forward(x)).relu_();
    x = normed(norm1_, max_pool_2x2(conv1b_->forward(x))).relu_();
    x = normed(norm2b_, conv2_->forward(x)).relu_();
    x = normed(norm2_, max_pool_2x2(conv2b_->forward(x))).relu_();
  } else {
    x = normed(norm1_, max_pool_2x2(conv1_->forward(x))).relu_();
    x = normed(norm2_, max_pool_2x2(conv2_->forward(x))).relu_();
  }
  x = normed(norm3_, conv3_->forward(x)).relu_();
  if (adaptive_pool_)
    x = torch::adaptive_avg_pool2d(x, {pooled_height_, pooled_width_});
  x = hidden_->forward(x.flatten(1)).relu_();
  const double p = shape_.dropout;
  if (p > 0 && is_training() && dropout_generator_.defined()) {
    // What torch::dropout does on the CPU, with the module's own generator.
    torch::Tensor noise = torch::empty_like(x).bernoulli_(1 - p, dropout_generator_);
    x = x * noise.div_(1 - p);
  } else if (p > 0) {
    x = torch::dropout(x, p, is_training());
  }
  return output_->forward(x);
}

namespace {

// [pooled, size] averaging weights of torch's adaptive average pooling along one axis: output i
// averages inputs floor(i * size / pooled) to ceil((i + 1) * size / pooled) - 1.
torch::Tensor adaptive_pool_weights(std::int64_t pooled, std::int64_t size) {
  torch::Tensor w = torch::zeros({pooled, size}, torch::kDouble);
  for (std::int64_t i = 0; i < pooled; ++i) {
    const std::int64_t start = i * size / pooled;
    const std::int64_t end = ((i + 1) * size + pooled - 1) / pooled;
    w[i].narrow(0, start, end - start).fill_(1.0 / static_cast<double>(end - start));
  }
  return w;
}

}  // namespace

std::string ClassifierImpl::to_onnx(onnx_graph& graph, const std::string& input) const {
  torch::NoGradGuard no_grad;
  // A batch norm after a pooling stays a node; one right after a convolution is folded into it.
  const auto normed = [&graph](const torch::nn::BatchNorm2d& norm, const std::string& v) {
    return norm ? graph.batch_norm(v, *norm) : v;
  };
  std::string x = input;
  if (shape_.stem)
    x = graph.relu(graph.conv(x, *conv0_, norm0_ ? norm0_.get() : nullptr));
  if (shape_.deep) {
    x = graph.relu(graph.conv(x, *conv1_, norm1b_ ? norm1b_.get() : nullptr));
    x = graph.relu(normed(norm1_, graph.max_pool(graph.conv(x, *conv1b_), 2, 2, 0)));
    x = graph.relu(graph.conv(x, *conv2_, norm2b_ ? norm2b_.get() : nullptr));
    x = graph.relu(normed(norm2_, graph.max_pool(graph.conv(x, *conv2b_), 2, 2, 0)));
  } else {
    x = graph.relu(normed(norm1_, graph.max_pool(graph.conv(x, *conv1_), 2, 2, 0)));
    x = graph.relu(normed(norm2_, graph.max_pool(graph.conv(x, *conv2_), 2, 2, 0)));
  }
  x = graph.flatten(graph.relu(graph.conv(x, *conv3_, norm3_ ? norm3_.get() : nullptr)));
  torch::Tensor hidden = hidden_->weight.detach();
  if (adaptive_pool_) {
    // hidden(pool(x)) = (W P) x: the pooling's weights times the layer's, per channel.
    const std::int64_t h = shape_.height / 4, w = shape_.width / 4, c = 2 * shape_.model_width;
    const torch::Tensor ph = adaptive_pool_weights(pooled_height_, h);
    const torch::Tensor pw = adaptive_pool_weights(pooled_width_, w);
    const torch::Tensor per_cell =
        hidden.to(torch::kDouble).view({-1, c, pooled_height_, pooled_width_});
    hidden = torch::einsum("kcij,iy,jx->kcyx", {per_cell, ph, pw}).reshape({hidden.size(0), -1});
  }
  x = graph.relu(graph.linear(x, hidden, hidden_->bias));
  return graph.linear(x, *output_);
}

torch::Tensor classifier_logits(Classifier& model, const torch::Tensor& x, bool mirror) {
  torch::Tensor logits = model->forward(x);
  if (mirror)
    logits = logits.add_(model->forward(x.flip({3}))).mul_(0.5);
  return logits;
}

classifier_shape classify_shape(const std::string& model, int channels, int height, int width,
                                int classes, int model_width, bool batch_norm, double dropout) {
  classifier_shape shape{channels, height, width, classes, model_width, batch_norm, dropout};
  if (model == "small")
    shape.model_width = std::max(1, model_width / 2);
  shape.deep = model == "large";
  shape.stem = model == "medium";
  return shape;
}

set_evaluation evaluate_classifier(Classifier& model, const labelled_images& set,
                                   const input_transform& transform, int batch_size,
                                   bool confusion, bool mirror) {
  set_evaluation result;
  result.images = set.size();
  const int classes = model->shape().classes;
  if (confusion)
    result.confusion.assign(classes, std::vector<std::int64_t>(classes, 0));
  if (result.images == 0)
    return result;
  const bool was_training = model->is_training();
  model->eval();
  torch::NoGradGuard no_grad;
  double loss_sum = 0;
  std::int64_t correct = 0;
  torch::Tensor counts = torch::zeros({classes * classes}, torch::kLong);
  const std::int64_t n = result.images, step = std::max(1, batch_size);
  for (std::int64_t start = 0; start < n; start += step) {
    const std::int64_t m = std::min(step, n - start);
    const torch::Tensor y = set.labels.narrow(0, start, m);
    // Logits come back to the CPU (a few floats per image), where the labels and counts are.
    const torch::Tensor logits =
        classifier_logits(model, transform(set.images.narrow(0, start, m)), mirror).to(torch::kCPU);
    loss_sum +=
        F::cross_entropy(logits, y, F::CrossEntropyFuncOptions().reduction(torch::kSum)).item<double>();
    const torch::Tensor predicted = logits.argmax(1);
    correct += predicted.eq(y).sum().item<std::int64_t>();
    if (confusion)
      counts.add_(torch::bincount(y * classes + predicted, {}, classes * classes));
  }
  model->train(was_training);
  result.loss = loss_sum / static_cast<double>(n);
  result.accuracy = static_cast<double>(correct) / static_cast<double>(n);
  if (confusion)
    result.confusion = confusion_table(counts, classes);
  return result;
}

std::vector<std::vector<std::int64_t>> confusion_table(const torch::Tensor& counts,
                                                       std::int64_t classes) {
  const auto n = static_cast<std::size_t>(classes);
  std::vector<std::vector<std::int64_t>> table(n, std::vector<std::int64_t>(n, 0));
  const auto c = counts.accessor<std::int64_t, 1>();
  for (std::size_t t = 0; t < n; ++t)
    for (std::size_t p = 0; p < n; ++p)
      table[t][p] = c[static_cast<std::int64_t>(t * n + p)];
  return table;
}

}  // namespace trainyard
