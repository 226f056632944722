// The segment tool as a tool_task: a small U-Net-like encoder-decoder, IoU metrics (mean IoU
// monitored), mask PNGs with coloured overlays as predictions, and its export: the U-Net as
// model.onnx, two stages also the item classifier as items.onnx (deploy/segment.cpp runs them).
//
// The network, sized for 2 CPU cores (w = model_width / 2, at least 4):
//   enc1: [conv3x3(w) BN ReLU] x2              at H x W
//   enc2: maxpool2, [conv3x3(2w) BN ReLU] x2   at H/2
//   enc3: maxpool2, [conv3x3(4w) BN ReLU] x2   at H/4
//   mid:  maxpool2, [conv3x3(8w) BN ReLU] x2   at H/8
//   dec3, dec2, dec1: upsample, concat the encoder's stage, [conv3x3 BN ReLU] x2 (4w, 2w, w)
//   head: conv1x1; two stages also conv1x1(3): a centre heatmap and an offset to the centre
// Upsampling is nearest to the skip connection's size, so odd input sizes work too. The third
// level sees about 70 pixels, the span of the largest generated items, which the offsets need.
//
// One stage (a single object label, or no item classifier): the head has a logit
// per label and each pixel takes the argmax.
//
// Two stages (two object labels or more), as instance segmentation: the head only tells items
// from the background, and items are found and named whole, in the manner of Panoptic-DeepLab's
// centre voting (Cheng et al., CVPR 2020) with a Fashion-MNIST classifier on top:
//   0. a tool trained with horizontal flips runs the U-Net on the image and on its mirror and
//      averages the outputs; its item classifier averages the mirror too;
//   1. foreground: pixels whose background probability is below one half;
//   2. items: peaks of the centre heatmap (7x7 local maxima scoring >= 0.3); every foreground
//      pixel joins the peak nearest to the centre its offset points at, so touching items part;
//   3. labels: each item is cut out (its own pixels only, on black, as Fashion-MNIST shows its
//      items), framed square, resampled to 28x28 and named by the item classifier
//      (box_classifier.hpp, width 2 x model_width, in its deep form: two convolutions per
//      stage); all its pixels take the label.
// Training: per-pixel cross-entropy of item vs background, CenterNet's focal loss on the heatmap
// (Gaussian bumps at the centres of the true items' boxes), L1 on the offsets of item pixels, and
// the classifier's cross-entropy on cut-out crops of the true items (two views each, jittered in
// frame and outline). The true items are the parts of the label mask linked within one label, so
// touching items of different labels are two items; touching items of one label stay one.
// Why two stages: items often touch, and a U-Net labelling pixels among many look-alike labels
// draws poor outlines and names them poorly; finding items whole and naming each from its crop
// does both better (docs/performance.md, "The three annotated tools, measured").
//
// Metrics (names prefixed "val_", "test_"):
//   loss            mean per-pixel cross-entropy of the head (two stages: item vs background)
//   pixel_accuracy  fraction of pixels labelled right
//   iou_<label>     TP / (TP + FP + FN) per label, background included; a label absent from both
//                   truth and prediction is left out
//   mean_iou        mean of iou_<label> over the non-background labels present (in truth or
//                   prediction). The background is left out because it covers most pixels and
//                   would make predicting nothing look good; 1 when no label is present at all.
//   image_accuracy  per image, "has an object" (any non-background pixel) predicted vs true
//   image_recall    of the images that have an object, the fraction where one is predicted
//   foreground_iou  IoU of "any label" predicted vs true: the outlines, apart from the labels
//   label_accuracy  two stages: the fraction of the true items (12 pixels or more) the item
//                   classifier names right from their true outlines: the naming, apart from
//                   finding
//   true_outline_mean_iou  two stages: mean_iou of the true items (12 pixels or more) named by the
//                   item classifier: what mean IoU would be with perfect outlines, the naming's
//                   ceiling
//   true_label_mean_iou  two stages: mean_iou of the found items, each named by the label most of
//                   its pixels truly have (an item on the background keeps the classifier's name):
//                   what mean IoU would be with perfect names, the ceiling of finding, outlining
//                   and parting the items
//   precision_<label>, recall_<label>, f1_<label>, macro_precision, macro_recall, macro_f1
//                   evaluate only: per label, of its pixels (the background left out)
#include <algorithm>
#include <filesystem>

#include "runtime/metrics/class_scores.hpp"
#include "runtime/tasks/common/box_classifier.hpp"
#include "runtime/tasks/common/label_masks.hpp"
#include "runtime/tasks/locate/detector.hpp"
#include "runtime/train/images.hpp"
#include "runtime/train/onnx_graph.hpp"
#include "runtime/train/tool_task.hpp"

namespace trainyard {

namespace {

namespace F = torch::nn::functional;
namespace nn = torch::nn;
namespace fs = std::filesystem;

struct segmenter_shape {
  int channels = 1;
  int labels = 2;
  int width = 16;
  bool batch_norm = true;
  /// First-layer channels of the item classifier (box_classifier.hpp); 0 = none
  int item_classifier_width = 0;
  /// Whether inference also runs on the mirror image and averages (U-Net outputs, item names):
  /// only for tools trained with horizontal flips. Not part of the weights.
  bool mirror_views = false;
};

// Items of fewer foreground pixels are not used to train the item classifier: a few stray pixels
// of an item cut by the image's edge show too little of it to name.
constexpr int least_training_item_pixels = 12;
// The centre head predicts offsets in units of this many pixels (they reach about 25 pixels on
// the generated scenes; units of 8 keep the regression near the scale of the other outputs).
constexpr float offset_unit = 8.0f;
// Views of each true item the classifier trains on per step (see SegmenterImpl::loss).
constexpr int item_views = 2;

class SegmenterImpl : public nn::Cloneable<SegmenterImpl> {
 public:
  explicit SegmenterImpl(const segmenter_shape& shape) : shape_(shape) { reset(); }

  void reset() override {
    const int w = shape_.width;
    enc1_ = register_module("enc1", stage(shape_.channels, w));
    enc2_ = register_module("enc2", stage(w, 2 * w));
    enc3_ = register_module("enc3", stage(2 * w, 4 * w));
    mid_ = register_module("mid", stage(4 * w, 8 * w));
    dec3_ = register_module("dec3", stage(8 * w + 4 * w, 4 * w));
    dec2_ = register_module("dec2", stage(4 * w + 2 * w, 2 * w));
    dec1_ = register_module("dec1", stage(2 * w + w, w));
    // Two stages: the pixels only say background or item (two logits); the item classifier names
    // the items. One stage: a logit per label.
    head_ = register_module("head",
                            nn::Conv2d(nn::Conv2dOptions(w, two_stage() ? 2 : shape_.labels, 1)));
    if (two_stage()) {
      // Centre heatmap (1) and the offset to the item's centre (2), from the same features.
      centres_ = register_module("centres", nn::Conv2d(nn::Conv2dOptions(w, 3, 1)));
      torch::NoGradGuard no_grad;
      centres_->bias.zero_();
      centres_->bias[0].fill_(-2.19);  // prior 0.1, as CenterNet's heatmap (detector.hpp)
      items_ = register_module("items",
                               make_box_classifier(shape_.channels, shape_.item_classifier_width,
                                                   shape_.labels - 1, shape_.batch_norm,
                                                   /*deep=*/true));
    }
  }

  void set_dropout_generator(torch::Generator generator) {
    if (items_)
      items_->set_dropout_generator(std::move(generator));
  }

  /// Whether items are found and labelled whole: only with two object labels or more.
  bool two_stage() const { return shape_.item_classifier_width > 0 && shape_.labels > 2; }

  /// Training loss of a normalised batch and its masks [B, H, W]: per-pixel cross-entropy; two
  /// stages also the centre heatmap's focal loss, the offsets' L1 on item pixels, and the item
  /// classifier's cross-entropy on cut-out, jittered crops of the true items. `background`:
  /// the normalised value of black [1, C, 1, 1].
  torch::Tensor loss(const torch::Tensor& x, const torch::Tensor& masks,
                     const torch::Tensor& background, torch::Generator* generator) {
    const outputs out = forward(x);
    torch::Tensor total = F::cross_entropy(out.labels, pixel_targets(masks));
    if (!two_stage())
      return total;
    torch::Tensor parts;
    const auto items = mask_items(masks, 1, &parts, /*separate_labels=*/true);
    const item_centres t = encode_item_centres(parts, items);
    const torch::Tensor on = t.on.to(x.device());
    total = total + centre_focal_loss(out.centres.narrow(1, 0, 1), t.heat) +
            ((out.centres.narrow(1, 1, 2) - t.offset.to(x.device()) / offset_unit).abs() * on)
                    .sum() /
                (2 * on.sum()).clamp_min(1);
    // The classifier: items of enough pixels.
    const torch::Tensor sizes =
        torch::bincount(parts.flatten().add(1), {}, 1 + count_items(items))
            .narrow(0, 1, count_items(items));
    const auto size = sizes.accessor<std::int64_t, 1>();
    std::vector<std::vector<box>> kept(items.size());
    std::vector<std::int64_t> labels, renumber(static_cast<std::size_t>(count_items(items)), -1);
    std::int64_t k = 0, next = 0;
    for (std::size_t i = 0; i < items.size(); ++i)
      for (const box& b : items[i]) {
        if (size[k] >= least_training_item_pixels) {
          kept[i].push_back(b);
          labels.push_back(b.label);
          renumber[static_cast<std::size_t>(k)] = next++;
        }
        ++k;
      }
    if (labels.empty())
      return total;
    const torch::Tensor kept_parts =
        torch::cat({torch::full({1}, -1, torch::kLong), torch::tensor(renumber, torch::kLong)})
            .index_select(0, parts.flatten().add(1))
            .view_as(parts);
    // Training sees each item `item_views` times, each with its own jitter and outline: the
    // classifier is cheap beside the U-Net and learns from more views of the same items.
    const auto m = static_cast<std::int64_t>(labels.size());
    const int views = generator != nullptr ? item_views : 1;
    std::vector<torch::Tensor> crops;
    for (int v = 0; v < views; ++v) {
      torch::Tensor change;
      if (generator != nullptr)
        change = torch::randint(-1, 2, {m}, *generator, torch::kLong);
      crops.push_back(
          crop_items(x, kept_parts, kept, background, crop_jitter(m, generator), change));
    }
    const torch::Tensor logits = items_->forward(torch::cat(crops));
    return total + F::cross_entropy(
                       logits, torch::tensor(labels, torch::kLong).to(x.device()).repeat({views}));
  }

  /// Labels [B, H, W] (int64) of a normalised batch, and the per-pixel logits in `logits`. Two
  /// stages: the foreground (background less likely than not) is split into items by the centre
  /// each pixel points at; each item is cut out, classified whole, and all its pixels take its
  /// label. One stage: the per-pixel argmax.
  /// `parts`, when given, receives the found item of each pixel [B, H, W] (int64 on the CPU, -1
  /// off items; two stages only).
  torch::Tensor segment(const torch::Tensor& x, const torch::Tensor& background,
                        torch::Tensor* logits = nullptr, torch::Tensor* parts = nullptr) {
    const outputs out = shape_.mirror_views ? mirror_averaged(x) : forward(x);
    if (logits != nullptr)
      *logits = out.labels;
    // One stage: the labels; two: 1 on item pixels (background less likely than not).
    const torch::Tensor first = out.labels.argmax(1);
    if (!two_stage())
      return first;
    const image_items found =
        find_items(first.gt(0), torch::sigmoid(out.centres.narrow(1, 0, 1)),
                   out.centres.narrow(1, 1, 2) * offset_unit);
    if (parts != nullptr)
      *parts = found.parts;
    const torch::Tensor crops = crop_items(x, found.parts, found.boxes, background);
    if (crops.size(0) == 0)
      return torch::zeros_like(first);
    const torch::Tensor item_label =
        item_probabilities(*items_, crops, shape_.mirror_views).argmax(1).add(1);
    const torch::Tensor at = found.parts.to(x.device());
    const torch::Tensor named = item_label.index_select(0, at.clamp_min(0).flatten()).view_as(at);
    return torch::where(at.ge(0), named, torch::zeros_like(named));
  }

  /// The true items of masks [B, H, W] (as the loss cuts them), each named whole by the item
  /// classifier: `labels` [B, H, W] (0 off items and on items under 12 pixels), how many items
  /// it named right and how many it was asked. Undefined labels and {0, 0} in one-stage mode.
  struct true_items_named {
    torch::Tensor labels;
    std::int64_t right = 0, asked = 0;
  };
  true_items_named name_true_items(const torch::Tensor& x, const torch::Tensor& masks,
                                   const torch::Tensor& background) {
    true_items_named out;
    if (!two_stage())
      return out;
    torch::Tensor parts;
    const auto items = mask_items(masks, least_training_item_pixels, &parts, true);
    out.labels = torch::zeros_like(masks, torch::kLong);
    const torch::Tensor crops = crop_items(x, parts, items, background);
    if (crops.size(0) == 0)
      return out;
    const torch::Tensor named =
        item_probabilities(*items_, crops, shape_.mirror_views).argmax(1).add(1).cpu();
    out.right = named.eq(box_labels(items).add(1)).sum().item<std::int64_t>();
    out.asked = named.size(0);
    const torch::Tensor at = parts.cpu();
    out.labels = torch::where(at.ge(0),
                              named.index_select(0, at.clamp_min(0).flatten()).view_as(at),
                              torch::zeros_like(at));
    return out;
  }

  /// What the per-pixel head is trained to output for masks [B, H, W]: the labels (one stage),
  /// or 1 on any item and 0 on the background (two stages).
  torch::Tensor pixel_targets(const torch::Tensor& masks) const {
    const torch::Tensor labels = masks.to(torch::kLong);
    return two_stage() ? labels.gt(0).to(torch::kLong) : labels;
  }

  struct outputs {
    torch::Tensor labels;   ///< [B, labels, H, W] logits
    torch::Tensor centres;  ///< [B, 3, H, W]: centre logit, offset x, y (offset_unit); two stages
  };

  /// forward of x and of its mirror image, mirrored back and averaged: logits, centre logits
  /// and offsets (the mirror's x offset changes sign).
  outputs mirror_averaged(const torch::Tensor& x) {
    const outputs a = forward(x);
    const outputs b = forward(x.flip({3}));
    outputs out{(a.labels + b.labels.flip({3})) / 2, {}};
    if (a.centres.defined()) {
      const torch::Tensor sign =
          torch::tensor({1.0f, -1.0f, 1.0f}, a.centres.options()).view({1, 3, 1, 1});
      out.centres = (a.centres + b.centres.flip({3}) * sign) / 2;
    }
    return out;
  }

  outputs forward(const torch::Tensor& x) {
    const torch::Tensor e1 = enc1_->forward(x);
    const torch::Tensor e2 = enc2_->forward(torch::max_pool2d(e1, 2));
    const torch::Tensor e3 = enc3_->forward(torch::max_pool2d(e2, 2));
    const torch::Tensor m = mid_->forward(torch::max_pool2d(e3, 2));
    const torch::Tensor d3 = dec3_->forward(torch::cat({up_to(m, e3), e3}, 1));
    const torch::Tensor d2 = dec2_->forward(torch::cat({up_to(d3, e2), e2}, 1));
    const torch::Tensor d1 = dec1_->forward(torch::cat({up_to(d2, e1), e1}, 1));
    outputs out{head_->forward(d1), {}};
    if (centres_)
      out.centres = centres_->forward(d1);
    return out;
  }

  /// forward as an ONNX graph for an input of `height` x `width`: "image" [batch, C, H, W] to
  /// "labels" [batch, labels, H, W] and, two stages, "centres" [batch, 3, H, W]. Eval mode.
  onnx_graph export_network(std::int64_t batch, std::int64_t height, std::int64_t width) const {
    onnx_graph g("segment", batch);
    // Each level's size: max-pooling by 2 floors.
    const std::int64_t h[] = {height, height / 2, height / 4, height / 8};
    const std::int64_t w[] = {width, width / 2, width / 4, width / 8};
    const std::string x = g.input("image", {shape_.channels, height, width});
    const std::string e1 = g.sequential(x, *enc1_);
    const std::string e2 = g.sequential(g.max_pool(e1, 2, 2, 0), *enc2_);
    const std::string e3 = g.sequential(g.max_pool(e2, 2, 2, 0), *enc3_);
    const std::string m = g.sequential(g.max_pool(e3, 2, 2, 0), *mid_);
    // The decoder at `level`: the coarser value upsampled to the skip's size, concatenated.
    auto decode = [&](const std::string& coarse, const std::string& skip, int level,
                      const nn::SequentialImpl& layers) {
      const std::string up =
          g.resize_nearest(coarse, h[level + 1], w[level + 1], h[level], w[level]);
      return g.sequential(g.concat({up, skip}, 1), layers);
    };
    const std::string d3 = decode(m, e3, 2, *dec3_);
    const std::string d2 = decode(d3, e2, 1, *dec2_);
    const std::string d1 = decode(d2, e1, 0, *dec1_);
    g.output(g.conv(d1, *head_), "labels", {head_->options.out_channels(), height, width});
    if (two_stage())
      g.output(g.conv(d1, *centres_), "centres", {3, height, width});
    return g;
  }

  /// The item classifier as an ONNX graph: "crops" [M, C, 28, 28] (M dynamic) to "logits"
  /// [M, labels - 1]. Two stages only.
  onnx_graph export_item_classifier() const {
    onnx_graph g("segment_items", 0);
    const std::string crops = g.input("crops", {shape_.channels, box_crop_size, box_crop_size});
    g.output(items_->to_onnx(g, crops), "logits", {shape_.labels - 1});
    return g;
  }

  bool mirror_views() const { return shape_.mirror_views; }

 private:
  static std::int64_t count_items(const std::vector<std::vector<box>>& items) {
    std::int64_t k = 0;
    for (const auto& image : items)
      k += static_cast<std::int64_t>(image.size());
    return k;
  }

  nn::Sequential stage(int in, int out) const {
    nn::Sequential s;
    for (int k = 0; k < 2; ++k) {
      s->push_back(nn::Conv2d(nn::Conv2dOptions(k == 0 ? in : out, out, 3)
                                  .padding(1)
                                  .bias(!shape_.batch_norm)));
      if (shape_.batch_norm)
        s->push_back(nn::BatchNorm2d(out));
      s->push_back(nn::ReLU(nn::ReLUOptions(true)));
    }
    return s;
  }
  static torch::Tensor up_to(const torch::Tensor& x, const torch::Tensor& like) {
    return F::interpolate(x, F::InterpolateFuncOptions()
                                 .size(std::vector<std::int64_t>{like.size(2), like.size(3)})
                                 .mode(torch::kNearest));
  }

  segmenter_shape shape_;
  nn::Sequential enc1_{nullptr}, enc2_{nullptr}, enc3_{nullptr}, mid_{nullptr}, dec3_{nullptr},
      dec2_{nullptr}, dec1_{nullptr};
  nn::Conv2d head_{nullptr}, centres_{nullptr};
  Classifier items_{nullptr};
};
TORCH_MODULE(Segmenter);

class segment_task final : public task_with_net<segment_task, Segmenter> {
 public:
  explicit segment_task(const task_setup& s)
      : task_with_net(s, Segmenter(segmenter_shape{
                             s.channels, static_cast<int>(s.class_names.size()),
                             std::max(4, s.tool.model_width / 2), s.tool.batch_norm,
                             box_classifier_width(s.tool.model_width),
                             mirror_views(s.augmentation)})) {}

  void set_dropout_generator(torch::Generator generator) override {
    model_->set_dropout_generator(std::move(generator));
  }

  torch::Tensor batch_loss(const task_data& train, const torch::Tensor& rows,
                           torch::Generator& gen) override {
    torch::Tensor masks;
    const torch::Tensor x =
        training_batch(train.images, rows, transform_, augment_, gen, &train.masks, &masks);
    return model_->loss(x, masks, black(), &gen);
  }

  void infer(const torch::Tensor& x) override { (void)model_->segment(x, black()); }

  metric_map evaluate(const task_data& set, const std::string& prefix) override {
    const std::int64_t k = static_cast<std::int64_t>(setup_.class_names.size());
    const bool was_training = model_->is_training();
    model_->eval();
    torch::NoGradGuard no_grad;
    torch::Tensor confusion = torch::zeros({k * k}, torch::kLong);
    torch::Tensor named_confusion = torch::zeros({k * k}, torch::kLong);
    torch::Tensor true_named_confusion = torch::zeros({k * k}, torch::kLong);
    double loss_sum = 0;
    std::int64_t image_tp = 0, image_fp = 0, image_fn = 0, image_tn = 0;
    std::int64_t named_right = 0, named = 0, both_foreground = 0, any_foreground = 0;
    const torch::Tensor ground = black();
    const std::int64_t n = set.size();
    for (std::int64_t start = 0; start < n; start += task_evaluation_batch) {
      const std::int64_t m = std::min<std::int64_t>(task_evaluation_batch, n - start);
      const torch::Tensor y = set.masks.narrow(0, start, m).to(torch::kLong);
      torch::Tensor logits, parts;
      const torch::Tensor x = transform_(set.images.narrow(0, start, m));
      // Labels come back to the CPU, where the masks and the counts are.
      const torch::Tensor predicted = model_->segment(x, ground, &logits, &parts).to(torch::kCPU);
      if (parts.defined())
        true_named_confusion.add_(
            torch::bincount((y * k + named_by_truth(parts, y, predicted.cpu())).flatten(), {},
                            k * k));
      const auto named_items = model_->name_true_items(x, y, ground);
      named_right += named_items.right;
      named += named_items.asked;
      if (named_items.labels.defined())
        named_confusion.add_(torch::bincount((y * k + named_items.labels).flatten(), {}, k * k));
      both_foreground += y.gt(0).logical_and(predicted.gt(0)).sum().item<std::int64_t>();
      any_foreground += y.gt(0).logical_or(predicted.gt(0)).sum().item<std::int64_t>();
      loss_sum += F::cross_entropy(logits, model_->pixel_targets(y).to(logits.device()),
                                   F::CrossEntropyFuncOptions().reduction(torch::kSum))
                      .item<double>();
      confusion.add_(torch::bincount((y * k + predicted).flatten(), {}, k * k));
      const torch::Tensor truth_any = y.gt(0).flatten(1).any(1);
      const torch::Tensor predicted_any = predicted.gt(0).flatten(1).any(1);
      image_tp += truth_any.logical_and(predicted_any).sum().item<std::int64_t>();
      image_fn += truth_any.logical_and(predicted_any.logical_not()).sum().item<std::int64_t>();
      image_fp += truth_any.logical_not().logical_and(predicted_any).sum().item<std::int64_t>();
      image_tn += truth_any.logical_not().logical_and(predicted_any.logical_not())
                      .sum()
                      .item<std::int64_t>();
    }
    model_->train(was_training);

    metric_map out;
    const double pixels = static_cast<double>(std::max<std::int64_t>(1, set.masks.numel()));
    out[prefix + "loss"] = loss_sum / pixels;
    const std::int64_t correct = confusion.view({k, k}).diagonal().sum().item<std::int64_t>();
    out[prefix + "mean_iou"] = mean_iou(confusion, prefix + "iou_", &out);
    out[prefix + "pixel_accuracy"] = static_cast<double>(correct) / pixels;
    out[prefix + "foreground_iou"] =
        any_foreground > 0
            ? static_cast<double>(both_foreground) / static_cast<double>(any_foreground)
            : 1.0;
    if (named > 0) {
      out[prefix + "label_accuracy"] =
          static_cast<double>(named_right) / static_cast<double>(named);
      out[prefix + "true_outline_mean_iou"] = mean_iou(named_confusion, {}, nullptr);
      out[prefix + "true_label_mean_iou"] = mean_iou(true_named_confusion, {}, nullptr);
    }
    out[prefix + "image_accuracy"] =
        n > 0 ? static_cast<double>(image_tp + image_tn) / static_cast<double>(n) : 0.0;
    out[prefix + "image_recall"] =
        image_tp + image_fn > 0
            ? static_cast<double>(image_tp) / static_cast<double>(image_tp + image_fn)
            : 1.0;
    if (prefix.empty())  // evaluate: each label's pixel precision, recall and F1
      put_class_scores(confusion_table(confusion, k), setup_.class_names, 1, out);
    return out;
  }

  expected<std::vector<prediction>> predict(const torch::Tensor& images,
                                            const std::vector<std::string>& files,
                                            const std::string& output_folder) override {
    torch::NoGradGuard no_grad;
    model_->eval();
    const torch::Tensor predicted =
        model_->segment(transform_(images), black()).to(torch::kCPU, torch::kUInt8);
    const std::int64_t k = static_cast<std::int64_t>(setup_.class_names.size());
    // Colour table [labels, 3] and each image as RGB planes, blended half and half where a label
    // other than the background is predicted.
    std::vector<std::uint8_t> table;
    for (std::int64_t i = 0; i < k; ++i)
      for (int ch = 0; ch < 3; ++ch)
        table.push_back(setup_.colours.at(static_cast<std::size_t>(i))[static_cast<std::size_t>(ch)]);
    const torch::Tensor colours =
        torch::from_blob(table.data(), {k, 3}, torch::kUInt8).to(torch::kFloat);
    std::error_code ec;
    fs::create_directories(output_folder, ec);
    const int h = setup_.tool.input_height, w = setup_.tool.input_width;
    std::vector<prediction> out;
    for (std::int64_t i = 0; i < images.size(0); ++i) {
      const torch::Tensor mask = predicted[i].contiguous();
      const torch::Tensor rgb = (images.size(1) == 1 ? images[i].repeat({3, 1, 1}) : images[i])
                                    .to(torch::kFloat);
      const torch::Tensor painted =
          colours.index_select(0, mask.flatten().to(torch::kLong)).t().reshape({3, h, w});
      const torch::Tensor overlay =
          torch::where(mask.gt(0).unsqueeze(0), rgb.mul(0.5).add(painted.mul(0.5)), rgb)
              .round()
              .clamp(0, 255)
              .to(torch::kUInt8)
              .contiguous();
      const std::string& file = files[static_cast<std::size_t>(i)];
      const std::string stem = fs::path(file).stem().string();
      prediction p;
      p.image = file;
      const std::string mask_file = (fs::path(output_folder) / (stem + "_mask.png")).string();
      const std::string overlay_file = (fs::path(output_folder) / (stem + "_overlay.png")).string();
      if (auto ok = write_png(mask_file, image_geometry{1, w, h}, mask.data_ptr<std::uint8_t>()); !ok)
        return ok.error();
      if (auto ok = write_png(overlay_file, image_geometry{3, w, h}, overlay.data_ptr<std::uint8_t>());
          !ok)
        return ok.error();
      p.files = {mask_file, overlay_file};
      // The image's label: its most frequent non-background label; score: the share of pixels
      // given a non-background label.
      const torch::Tensor counts = torch::bincount(mask.flatten().to(torch::kLong), {}, k);
      const torch::Tensor objects = counts.narrow(0, 1, k - 1);
      const std::int64_t object_pixels = objects.sum().item<std::int64_t>();
      p.label = object_pixels > 0 ? 1 + static_cast<int>(objects.argmax().item<std::int64_t>()) : 0;
      p.label_name = setup_.class_names[static_cast<std::size_t>(p.label)];
      p.score = static_cast<double>(object_pixels) / static_cast<double>(h * w);
      out.push_back(std::move(p));
    }
    return out;
  }

  // model.onnx (the U-Net) and, two stages, items.onnx (the item classifier); the settings are
  // what SegmenterImpl::segment needs besides the networks (deploy/segment.cpp reads them).
  expected<nlohmann::json> export_onnx(const std::string& folder, std::int64_t batch) override {
    model_->eval();
    nlohmann::json settings = {{"model_file", "model.onnx"},
                               {"two_stage", model_->two_stage()},
                               {"mirror_views", model_->mirror_views()}};
    const onnx_graph net =
        model_->export_network(batch, setup_.tool.input_height, setup_.tool.input_width);
    if (auto ok = net.save((fs::path(folder) / "model.onnx").string()); !ok)
      return ok.error();
    if (!model_->two_stage())
      return settings;
    if (auto ok = model_->export_item_classifier().save((fs::path(folder) / "items.onnx").string());
        !ok)
      return ok.error();
    const torch::Tensor ground = black().flatten().to(torch::kCPU).contiguous();
    settings["items_file"] = "items.onnx";
    settings["offset_unit"] = offset_unit;
    settings["centre_threshold"] = centre_threshold;
    settings["centre_window"] = centre_window;
    settings["most_items_per_image"] = most_items_per_image;
    settings["crop_size"] = box_crop_size;
    settings["crop_margin"] = box_crop_margin;
    settings["background"] = std::vector<float>(ground.data_ptr<float>(),
                                                ground.data_ptr<float>() + ground.numel());
    return settings;
  }

 private:
  /// Mean IoU over the non-background labels present in a confusion matrix [k * k] (truth-major);
  /// each label's IoU also goes to `out` as `label_prefix` + its name when `out` is given.
  double mean_iou(const torch::Tensor& confusion, const std::string& label_prefix,
                  metric_map* out) const {
    const auto k = static_cast<std::int64_t>(setup_.class_names.size());
    const auto c = confusion.accessor<std::int64_t, 1>();
    double iou_sum = 0;
    int iou_count = 0;
    for (std::int64_t t = 0; t < k; ++t) {
      std::int64_t truth = 0, predicted = 0;
      for (std::int64_t p = 0; p < k; ++p) {
        truth += c[t * k + p];
        predicted += c[p * k + t];
      }
      const std::int64_t uni = truth + predicted - c[t * k + t];
      if (uni == 0)
        continue;
      const double iou = static_cast<double>(c[t * k + t]) / static_cast<double>(uni);
      if (out != nullptr)
        (*out)[label_prefix + setup_.class_names[static_cast<std::size_t>(t)]] = iou;
      if (t > 0) {
        iou_sum += iou;
        ++iou_count;
      }
    }
    return iou_count > 0 ? iou_sum / iou_count : 1.0;
  }

  /// Labels [B, H, W]: each found item of `parts` [B, H, W] (-1 off items) named by the most
  /// frequent non-background label of `truth` under it; an item with none, and every pixel off
  /// the items, keeps its label in `predicted`. All on the CPU.
  torch::Tensor named_by_truth(const torch::Tensor& parts, const torch::Tensor& truth,
                               const torch::Tensor& predicted) const {
    const std::int64_t k = static_cast<std::int64_t>(setup_.class_names.size());
    const std::int64_t items = parts.numel() > 0 ? parts.max().item<std::int64_t>() + 1 : 0;
    if (items == 0)
      return predicted;
    const torch::Tensor on = parts.ge(0);
    const torch::Tensor item = parts.masked_select(on);
    // Votes [items, k] of the true labels; the background's column does not vote.
    torch::Tensor votes =
        torch::bincount(item * k + truth.masked_select(on), {}, items * k).view({items, k});
    votes.select(1, 0).zero_();
    const torch::Tensor at = parts.clamp_min(0).flatten();
    const torch::Tensor voted = votes.sum(1).gt(0).index_select(0, at).view_as(parts);
    return torch::where(on.logical_and(voted),
                        votes.argmax(1).index_select(0, at).view_as(parts), predicted);
  }

  /// The normalised value of a black pixel [1, C, 1, 1] (the ground items are cut out onto).
  torch::Tensor black() const {
    return transform_(torch::zeros({1, setup_.channels, 1, 1}, torch::kUInt8));
  }

};

expected<std::unique_ptr<tool_task>> make_segment_task(const task_setup& setup) {
  return std::unique_ptr<tool_task>(std::make_unique<segment_task>(setup));
}

expected<task_data> segment_targets(const task_setup& setup, const dataset_index& index,
                                    const std::vector<std::int64_t>& images, labelled_images decoded,
                                    split_set) {
  auto masks = load_label_masks(index, images, static_cast<int>(setup.class_names.size()),
                                setup.tool.input_width, setup.tool.input_height,
                                /*required=*/true);
  if (!masks)
    return masks.error();
  const auto labels = static_cast<std::int64_t>(setup.class_names.size());
  if (masks->numel() > 0 && masks->max().item<std::int64_t>() >= labels)
    return make_failure(error_code::invalid_config,
                        "a mask of dataset " + index.spec.name + " has label " +
                            std::to_string(masks->max().item<std::int64_t>()) +
                            " but the label table " + index.spec.annotations + " stops at " +
                            std::to_string(labels - 1) + "; add the label to the table");
  task_data d;
  d.images = std::move(decoded.images);
  d.masks = *masks;
  d.labels = masks->gt(0).flatten(1).any(1).to(torch::kLong);
  return d;
}

expected<std::vector<std::string>> segment_class_names(const tool_spec& tool,
                                                       const dataset_index& index) {
  if (index.spec.annotations.empty() || index.spec.masks.empty())
    return make_failure(error_code::invalid_config,
                        "segment tool " + tool.name + " needs a dataset with label masks: " +
                            "dataset " + index.spec.name +
                            " must name its label table (annotations) and mask folder (masks)");
  auto entries = read_label_entries(index.spec.annotations);
  if (!entries)
    return entries.error();
  int largest = 0;
  for (const label_entry& e : *entries)
    largest = std::max(largest, e.index);
  std::vector<std::string> names(static_cast<std::size_t>(largest) + 1);
  for (std::size_t i = 0; i < names.size(); ++i)
    names[i] = i == 0 ? "background" : "label" + std::to_string(i);
  for (const label_entry& e : *entries)
    names[static_cast<std::size_t>(e.index)] = e.name;
  if (names.size() < 2)
    return make_failure(error_code::invalid_config,
                        "label table " + index.spec.annotations +
                            " has no label besides the background (0); add at least one");
  return names;
}

}  // namespace

const task_kind& segment_task_kind() {
  static const task_kind kind{"segment", segment_class_names, segment_targets, make_segment_task};
  return kind;
}

}  // namespace trainyard
