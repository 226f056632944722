// The segment tool as a tool_task: a small U-Net-like encoder-decoder, per-pixel cross-entropy,
// IoU metrics (mean IoU monitored), and mask PNGs with coloured overlays as predictions.
//
// The model, sized for 2 CPU cores (w = model_width / 2, at least 4):
//   enc1: [conv3x3(w) BN ReLU] x2              at H x W
//   enc2: maxpool2, [conv3x3(2w) BN ReLU] x2   at H/2
//   mid:  maxpool2, [conv3x3(4w) BN ReLU] x2   at H/4
//   dec2: upsample to enc2, concat enc2, [conv3x3(2w) BN ReLU] x2
//   dec1: upsample to enc1, concat enc1, [conv3x3(w) BN ReLU] x2
//   head: conv1x1(labels)
// Upsampling is nearest to the skip connection's size, so odd input sizes work too. Two levels
// see 10 pixels of context at full resolution and ~40 at the bottom: enough to find objects the
// size of a Fashion-MNIST item on a 28..96-pixel image, not to tell ten similar garments apart
// pixel by pixel (mean IoU 0.17 on the generated scenes).
//
// Second stage, with three labels or more (background and two objects): an item classifier
// (box_classifier.hpp, width 2 x model_width) names each item the U-Net finds. Items are the
// connected parts of the predicted foreground (grown by a pixel); each is cropped, resized to
// 28x28 and classified, and all its pixels take the label that maximises
// log p_item(label) + log(mean over the part's pixels of p_pixel(label)). Per-pixel fusion
// (log p_item + log p_pixel at each pixel) left Sneaker and Shirt near IoU 0.01-0.04 after one
// iteration of the example campaign: the U-Net's own labels are overconfident pixel by pixel.
// On that campaign's validation set after 4 iterations the part vote gave mean IoU 0.426 and the
// item's label alone 0.418. Two touching items of different labels become one part with one
// label (a known limit). The classifier trains on crops of the true items (jittered like found
// ones) beside the per-pixel loss.
//
// Metrics (names prefixed "val_", "test_"):
//   loss            mean per-pixel cross-entropy (validation: without the item classifier's term)
//   pixel_accuracy  fraction of pixels labelled right
//   iou_<label>     TP / (TP + FP + FN) per label, background included; a label absent from both
//                   truth and prediction is left out
//   mean_iou        mean of iou_<label> over the non-background labels present (in truth or
//                   prediction). The background is left out because it covers most pixels and
//                   would make predicting nothing look good; 1 when no label is present at all.
//   image_accuracy  per image, "has an object" (any non-background pixel) predicted vs true
//   image_recall    of the images that have an object, the fraction where one is predicted
#include <algorithm>
#include <filesystem>

#include "runtime/torch/box_classifier.hpp"
#include "runtime/torch/images.hpp"
#include "runtime/torch/tool_task.hpp"

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
};

// Items of fewer foreground pixels are not used to train the item classifier: a few stray pixels
// of an item cut by the image's edge show too little of it to name.
constexpr int least_training_item_pixels = 12;

class SegmenterImpl : public nn::Cloneable<SegmenterImpl> {
 public:
  explicit SegmenterImpl(const segmenter_shape& shape) : shape_(shape) { reset(); }

  void reset() override {
    const int w = shape_.width;
    enc1_ = register_module("enc1", stage(shape_.channels, w));
    enc2_ = register_module("enc2", stage(w, 2 * w));
    mid_ = register_module("mid", stage(2 * w, 4 * w));
    dec2_ = register_module("dec2", stage(4 * w + 2 * w, 2 * w));
    dec1_ = register_module("dec1", stage(2 * w + w, w));
    head_ = register_module("head", nn::Conv2d(nn::Conv2dOptions(w, shape_.labels, 1)));
    if (two_stage())
      items_ = register_module("items",
                               make_box_classifier(shape_.channels, shape_.item_classifier_width,
                                                   shape_.labels - 1, shape_.batch_norm));
  }

  void set_dropout_generator(torch::Generator generator) {
    if (items_)
      items_->set_dropout_generator(std::move(generator));
  }

  /// Whether an item classifier labels the items: only with two object labels or more.
  bool two_stage() const { return shape_.item_classifier_width > 0 && shape_.labels > 2; }

  /// Training loss of a normalised batch and its masks [B, H, W]: per-pixel cross-entropy, plus
  /// the item classifier's cross-entropy on jittered crops of the true items.
  torch::Tensor loss(const torch::Tensor& x, const torch::Tensor& masks,
                     torch::Generator* generator) {
    torch::Tensor total = F::cross_entropy(forward(x), masks.to(torch::kLong));
    if (!two_stage())
      return total;
    const auto items = mask_items(masks, least_training_item_pixels);
    std::vector<std::int64_t> labels;
    for (const auto& image : items)
      for (const box& b : image)
        labels.push_back(b.label);
    if (labels.empty())
      return total;
    const auto m = static_cast<std::int64_t>(labels.size());
    const torch::Tensor logits = items_->forward(crop_boxes(x, items, crop_jitter(m, generator)));
    return total + F::cross_entropy(logits, torch::tensor(labels, torch::kLong).to(x.device()));
  }

  /// Labels [B, H, W] (int64) of a normalised batch, and the per-pixel logits in `logits`. Two
  /// stages: the per-pixel answer says where items are; each of its foreground items is cropped
  /// and classified, and all its pixels take one label from the item classifier and the pixels'
  /// mean probabilities (see the top of this file). One stage: the per-pixel argmax.
  torch::Tensor segment(const torch::Tensor& x, torch::Tensor* logits = nullptr) {
    const torch::Tensor pixel_logits = forward(x);
    if (logits != nullptr)
      *logits = pixel_logits;
    const torch::Tensor first = pixel_logits.argmax(1);
    if (!two_stage())
      return first;
    torch::Tensor parts;
    const auto items = mask_items(first, 1, &parts);
    const torch::Tensor crops = crop_boxes(x, items);
    if (crops.size(0) == 0)
      return first;
    // Object labels are 1..K-1; the classifier's classes 0..K-2. Each part's label: the best
    // product of the item classifier's probability and the U-Net's mean probability over the
    // part's pixels (a vote of the pixels, less sure than any one pixel).
    const torch::Tensor at = parts.to(x.device());
    const torch::Tensor flat = at.flatten();
    const torch::Tensor inside = flat.ge(0).nonzero().squeeze(1);
    const torch::Tensor pixel_p = torch::softmax(pixel_logits, 1)
                                      .narrow(1, 1, shape_.labels - 1)
                                      .permute({0, 2, 3, 1})
                                      .reshape({-1, shape_.labels - 1});
    const std::int64_t m = crops.size(0);
    const torch::Tensor votes =
        torch::zeros({m, shape_.labels - 1}, pixel_p.options())
            .index_add_(0, flat.index_select(0, inside), pixel_p.index_select(0, inside));
    const torch::Tensor counts = votes.sum(1, /*keepdim=*/true).clamp_min(1e-6);
    const torch::Tensor fused = item_probabilities(*items_, crops).clamp_min(1e-6).log() +
                                votes.div(counts).clamp_min(1e-6).log();
    const torch::Tensor item_label = fused.argmax(1).add(1);
    const torch::Tensor named = item_label.index_select(0, at.clamp_min(0).flatten()).view_as(at);
    return torch::where(at.ge(0), named, first);
  }

  /// Logits [B, labels, H, W] of a normalised batch [B, C, H, W].
  torch::Tensor forward(const torch::Tensor& x) {
    const torch::Tensor e1 = enc1_->forward(x);
    const torch::Tensor e2 = enc2_->forward(torch::max_pool2d(e1, 2));
    const torch::Tensor m = mid_->forward(torch::max_pool2d(e2, 2));
    const torch::Tensor d2 = dec2_->forward(torch::cat({up_to(m, e2), e2}, 1));
    const torch::Tensor d1 = dec1_->forward(torch::cat({up_to(d2, e1), e1}, 1));
    return head_->forward(d1);
  }

 private:
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
  nn::Sequential enc1_{nullptr}, enc2_{nullptr}, mid_{nullptr}, dec2_{nullptr}, dec1_{nullptr};
  nn::Conv2d head_{nullptr};
  Classifier items_{nullptr};
};
TORCH_MODULE(Segmenter);

class segment_task final : public tool_task {
 public:
  explicit segment_task(const task_setup& s)
      : tool_task(s),
        model_(segmenter_shape{s.channels, static_cast<int>(s.class_names.size()),
                               std::max(4, s.tool.model_width / 2), s.tool.batch_norm,
                               box_classifier_width(s.tool.model_width)}) {}

  std::shared_ptr<nn::Module> model() const override { return model_.ptr(); }
  std::unique_ptr<tool_task> clone() const override {
    auto copy = std::make_unique<segment_task>(*this);
    copy->model_ = Segmenter(std::dynamic_pointer_cast<SegmenterImpl>(model_->clone()));
    return copy;
  }
  std::string monitored_metric() const override { return "val_mean_iou"; }
  void set_dropout_generator(torch::Generator generator) override {
    model_->set_dropout_generator(std::move(generator));
  }

  expected<task_data> targets(const dataset_index& index, const std::vector<std::int64_t>& images,
                              labelled_images decoded, split_set) const override {
    auto masks = load_label_masks(index, images, setup_.tool.input_width,
                                  setup_.tool.input_height, /*required=*/true);
    if (!masks)
      return masks.error();
    const auto labels = static_cast<std::int64_t>(setup_.class_names.size());
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

  torch::Tensor batch_loss(const task_data& train, const torch::Tensor& rows,
                           torch::Generator& gen) override {
    torch::Tensor masks;
    const torch::Tensor x =
        training_batch(train.images, rows, transform_, augment_, gen, &train.masks, &masks);
    return model_->loss(x, masks, &gen);
  }

  // Cosine to 5% over the job, the schedule the locate detector and its box classifier were
  // measured with; a segment job therefore has a fixed length, like a locate job.
  double learning_rate_factor(int iteration, int last_iteration) const override {
    return cosine_learning_rate_factor(iteration, last_iteration);
  }

  void infer(const torch::Tensor& x) override { (void)model_->segment(x); }

  metric_map evaluate(const task_data& set, const std::string& prefix) override {
    const std::int64_t k = static_cast<std::int64_t>(setup_.class_names.size());
    const bool was_training = model_->is_training();
    model_->eval();
    torch::NoGradGuard no_grad;
    torch::Tensor confusion = torch::zeros({k * k}, torch::kLong);
    double loss_sum = 0;
    std::int64_t image_tp = 0, image_fp = 0, image_fn = 0, image_tn = 0;
    const std::int64_t n = set.size();
    for (std::int64_t start = 0; start < n; start += task_evaluation_batch) {
      const std::int64_t m = std::min<std::int64_t>(task_evaluation_batch, n - start);
      const torch::Tensor y = set.masks.narrow(0, start, m).to(torch::kLong);
      torch::Tensor logits;
      const torch::Tensor predicted =
          model_->segment(transform_(set.images.narrow(0, start, m)), &logits);
      loss_sum += F::cross_entropy(logits, y, F::CrossEntropyFuncOptions().reduction(torch::kSum))
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
    const auto c = confusion.accessor<std::int64_t, 1>();
    std::int64_t correct = 0;
    double iou_sum = 0;
    int iou_count = 0;
    for (std::int64_t t = 0; t < k; ++t) {
      correct += c[t * k + t];
      std::int64_t truth = 0, predicted = 0;
      for (std::int64_t p = 0; p < k; ++p) {
        truth += c[t * k + p];
        predicted += c[p * k + t];
      }
      const std::int64_t uni = truth + predicted - c[t * k + t];
      if (uni == 0)
        continue;
      const double iou = static_cast<double>(c[t * k + t]) / static_cast<double>(uni);
      out[prefix + "iou_" + setup_.class_names[static_cast<std::size_t>(t)]] = iou;
      if (t > 0) {
        iou_sum += iou;
        ++iou_count;
      }
    }
    out[prefix + "pixel_accuracy"] = static_cast<double>(correct) / pixels;
    out[prefix + "mean_iou"] = iou_count > 0 ? iou_sum / iou_count : 1.0;
    out[prefix + "image_accuracy"] =
        n > 0 ? static_cast<double>(image_tp + image_tn) / static_cast<double>(n) : 0.0;
    out[prefix + "image_recall"] =
        image_tp + image_fn > 0
            ? static_cast<double>(image_tp) / static_cast<double>(image_tp + image_fn)
            : 1.0;
    return out;
  }

  expected<std::vector<prediction>> predict(const torch::Tensor& images,
                                            const std::vector<std::string>& files,
                                            const std::string& output_folder) override {
    torch::NoGradGuard no_grad;
    model_->eval();
    const torch::Tensor predicted = model_->segment(transform_(images)).to(torch::kUInt8);
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

 private:
  Segmenter model_;
};

}  // namespace

std::unique_ptr<tool_task> make_segment_task(const task_setup& setup) {
  return std::make_unique<segment_task>(setup);
}

}  // namespace trainyard
