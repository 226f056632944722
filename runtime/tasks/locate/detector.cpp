// The `locate` detector (see detector.hpp): layers, target encoding, loss and decoding.
// Runs on the caller's thread; nothing here keeps state between calls.
#include "runtime/tasks/locate/detector.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "runtime/metrics/detection_metrics.hpp"
#include "runtime/train/onnx_graph.hpp"

namespace trainyard {

namespace F = torch::nn::functional;

namespace {

// conv3x3 (stride) → [batch norm] → ReLU, appended to `s`.
void add_conv(torch::nn::Sequential& s, int in, int out, int stride, bool batch_norm) {
  s->push_back(torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(!batch_norm)));
  if (batch_norm)
    s->push_back(torch::nn::BatchNorm2d(out));
  s->push_back(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
}

// conv1x1(in → outputs), its bias set to `bias`.
torch::nn::Conv2d make_output(int in, int outputs, double bias) {
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(in, outputs, 1));
  torch::nn::init::constant_(conv->bias, bias);
  return conv;
}

}  // namespace

double gaussian_radius(double height, double width, double min_overlap) {
  const double b1 = height + width;
  const double c1 = width * height * (1 - min_overlap) / (1 + min_overlap);
  const double r1 = (b1 + std::sqrt(std::max(0.0, b1 * b1 - 4 * c1))) / 2;
  const double b2 = 2 * (height + width);
  const double c2 = (1 - min_overlap) * width * height;
  const double r2 = (b2 + std::sqrt(std::max(0.0, b2 * b2 - 16 * c2))) / 2;
  const double a3 = 4 * min_overlap;
  const double b3 = -2 * min_overlap * (height + width);
  const double c3 = (min_overlap - 1) * width * height;
  const double r3 = (b3 + std::sqrt(std::max(0.0, b3 * b3 - 4 * a3 * c3))) / 2;
  return std::min({r1, r2, r3});
}

void draw_centre_bump(float* plane, std::int64_t height, std::int64_t width, std::int64_t cx,
                      std::int64_t cy, int radius) {
  const double sigma = (2.0 * radius + 1) / 6.0;
  for (std::int64_t y = std::max<std::int64_t>(0, cy - radius);
       y <= std::min(height - 1, cy + radius); ++y)
    for (std::int64_t x = std::max<std::int64_t>(0, cx - radius);
         x <= std::min(width - 1, cx + radius); ++x) {
      const double d2 = static_cast<double>((x - cx) * (x - cx) + (y - cy) * (y - cy));
      float& v = plane[y * width + x];
      v = std::max(v, static_cast<float>(std::exp(-d2 / (2 * sigma * sigma))));
    }
}

DetectorImpl::DetectorImpl(const detector_shape& shape) : shape_(shape) { reset(); }

void DetectorImpl::reset() {
  const int w = std::max(1, shape_.model_width);
  const bool bn = shape_.batch_norm;
  stage4_ = torch::nn::Sequential();
  add_conv(stage4_, shape_.channels, w, 2, bn);
  add_conv(stage4_, w, w, 1, bn);
  add_conv(stage4_, w, 2 * w, 2, bn);
  add_conv(stage4_, 2 * w, 2 * w, 1, bn);
  stage8_ = torch::nn::Sequential();
  add_conv(stage8_, 2 * w, 4 * w, 2, bn);
  add_conv(stage8_, 4 * w, 4 * w, 1, bn);
  lateral_ = torch::nn::Sequential(torch::nn::Conv2d(torch::nn::Conv2dOptions(4 * w, 2 * w, 1)));
  merge_ = torch::nn::Sequential();
  add_conv(merge_, 2 * w, 2 * w, 1, bn);
  head_ = torch::nn::Sequential(
      torch::nn::Conv2d(torch::nn::Conv2dOptions(2 * w, 2 * w, 3).padding(1)),
      torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
  heatmap_ = make_output(2 * w, shape_.heatmap_channels(), -2.19);
  size_ = make_output(2 * w, 2, 0);
  offset_ = make_output(2 * w, 2, 0);
  register_module("stage4", stage4_);
  register_module("stage8", stage8_);
  register_module("lateral", lateral_);
  register_module("merge", merge_);
  register_module("head", head_);
  register_module("heatmap", heatmap_);
  register_module("size", size_);
  register_module("offset", offset_);
  if (shape_.two_stage()) {
    box_classifier_ = make_box_classifier(shape_.channels, shape_.box_classifier_width,
                                          shape_.classes, bn);
    register_module("box_classifier", box_classifier_);
  }
}

torch::Tensor DetectorImpl::classify_crops(torch::Tensor crops) {
  if (!shape_.two_stage())
    throw std::logic_error("classify_crops needs a detector with a box classifier");
  return box_classifier_->forward(crops);
}

torch::Tensor DetectorImpl::label_probabilities(const torch::Tensor& crops) {
  if (!shape_.two_stage())
    throw std::logic_error("label_probabilities needs a detector with a box classifier");
  return item_probabilities(*box_classifier_, crops, shape_.mirror_views);
}

detection_heads DetectorImpl::forward(torch::Tensor x) {
  const torch::Tensor c4 = stage4_->forward(x);
  // The 1x1 lateral runs at stride 8, before upsampling: a quarter of the work.
  const torch::Tensor c8 = lateral_->forward(stage8_->forward(c4));
  const torch::Tensor up = F::interpolate(
      c8, F::InterpolateFuncOptions()
              .size(std::vector<std::int64_t>{c4.size(2), c4.size(3)})
              .mode(torch::kNearest));
  const torch::Tensor features = head_->forward(merge_->forward(c4 + up));
  return detection_heads{heatmap_->forward(features), size_->forward(features),
                         offset_->forward(features)};
}

void DetectorImpl::add_to_graph(onnx_graph& g, const std::string& image) const {
  const std::int64_t h4 = detector_cells(shape_.height), w4 = detector_cells(shape_.width);
  const std::int64_t h8 = (h4 + 1) / 2, w8 = (w4 + 1) / 2;  // one more stride-2 convolution
  const std::string c4 = g.sequential(image, *stage4_);
  const std::string c8 = g.sequential(g.sequential(c4, *stage8_), *lateral_);
  const std::string up = g.resize_nearest(c8, h8, w8, h4, w4);
  const std::string features = g.sequential(g.sequential(g.add(c4, up), *merge_), *head_);
  g.output(g.conv(features, *heatmap_), "heatmap", {shape_.heatmap_channels(), h4, w4});
  g.output(g.conv(features, *size_), "size", {2, h4, w4});
  g.output(g.conv(features, *offset_), "offset", {2, h4, w4});
}

expected<nlohmann::json> export_detector(DetectorImpl& model, const std::string& folder,
                                         std::int64_t batch, float threshold, int max_objects,
                                         float nms_iou) {
  const detector_shape& shape = model.shape();
  onnx_graph heads("locate", batch);
  model.add_to_graph(heads, heads.input("image", {shape.channels, shape.height, shape.width}));
  if (auto saved = heads.save(folder + "/model.onnx"); !saved)
    return saved.error();
  nlohmann::json settings = {{"model_file", "model.onnx"},
                             {"stride", detector_stride},
                             {"detection_threshold", threshold},
                             {"max_objects", max_objects},
                             {"nms_iou", nms_iou},
                             {"two_stage", shape.two_stage()}};
  if (!shape.two_stage())
    return settings;
  // Crops per image vary: the box classifier's batch is always dynamic.
  onnx_graph items("locate_items", 0);
  const std::string crops = items.input("crops", {shape.channels, box_crop_size, box_crop_size});
  items.output(model.box_classifier()->to_onnx(items, crops), "logits",
               {shape.classes});
  if (auto saved = items.save(folder + "/items.onnx"); !saved)
    return saved.error();
  settings["items_file"] = "items.onnx";
  settings["crop_size"] = box_crop_size;
  settings["crop_margin"] = box_crop_margin;
  settings["labels_per_box"] = labels_per_box;
  settings["mirror_views"] = shape.mirror_views;
  return settings;
}

detection_targets encode_detections(const std::vector<std::vector<box>>& boxes,
                                    const detector_shape& shape) {
  const std::int64_t n = static_cast<std::int64_t>(boxes.size());
  const std::int64_t classes = shape.heatmap_channels();
  const std::int64_t h = detector_cells(shape.height), w = detector_cells(shape.width);
  const std::int64_t plane = h * w;
  std::vector<float> heat(static_cast<std::size_t>(n * classes * plane), 0.0f);
  std::vector<float> size(static_cast<std::size_t>(n * 2 * plane), 0.0f);
  std::vector<float> offset(static_cast<std::size_t>(n * 2 * plane), 0.0f);
  std::vector<float> mask(static_cast<std::size_t>(n * plane), 0.0f);
  const float stride = static_cast<float>(detector_stride);

  for (std::int64_t i = 0; i < n; ++i) {
    for (const box& b : boxes[static_cast<std::size_t>(i)]) {
      if (b.label < 0 || b.label >= shape.classes || !(b.width > 0) || !(b.height > 0))
        continue;
      const std::int64_t channel = shape.two_stage() ? 0 : b.label;
      const float cw = b.width / stride, ch = b.height / stride;
      const float cx = (b.x + b.width / 2) / stride, cy = (b.y + b.height / 2) / stride;
      const std::int64_t ix =
          std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor(cx)), 0, w - 1);
      const std::int64_t iy =
          std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor(cy)), 0, h - 1);
      draw_centre_bump(heat.data() + (i * classes + channel) * plane, h, w, ix, iy,
                       std::max(0, static_cast<int>(gaussian_radius(ch, cw))));
      const std::int64_t at = iy * w + ix;
      size[static_cast<std::size_t>((i * 2) * plane + at)] = cw;
      size[static_cast<std::size_t>((i * 2 + 1) * plane + at)] = ch;
      offset[static_cast<std::size_t>((i * 2) * plane + at)] = cx - static_cast<float>(ix);
      offset[static_cast<std::size_t>((i * 2 + 1) * plane + at)] = cy - static_cast<float>(iy);
      mask[static_cast<std::size_t>(i * plane + at)] = 1.0f;
    }
  }
  auto tensor = [](std::vector<float>& v, std::vector<std::int64_t> dims) {
    return torch::from_blob(v.data(), dims, torch::kFloat).clone();
  };
  return detection_targets{tensor(heat, {n, classes, h, w}), tensor(size, {n, 2, h, w}),
                           tensor(offset, {n, 2, h, w}), tensor(mask, {n, 1, h, w})};
}

torch::Tensor centre_focal_loss(const torch::Tensor& logits, const torch::Tensor& target) {
  const torch::Tensor gt = target.to(logits.device());
  const torch::Tensor positive = gt.eq(1.0f).to(logits.scalar_type());
  const torch::Tensor p = torch::sigmoid(logits).clamp(1e-4, 1 - 1e-4);
  // log(p) and log(1 - p) from the logits, bounded like CenterNet's clamped p.
  const double floor = std::log(1e-4);
  const torch::Tensor log_p = F::logsigmoid(logits).clamp_min(floor);
  const torch::Tensor log_not_p = F::logsigmoid(-logits).clamp_min(floor);
  const torch::Tensor positives = (log_p * (1 - p).pow(2) * positive).sum();
  const torch::Tensor negatives = (log_not_p * p.pow(2) * (1 - gt).pow(4) * (1 - positive)).sum();
  return -(positives + negatives) / positive.sum().clamp_min(1);
}

detection_loss_terms detection_loss(const detection_heads& heads,
                                    const detection_targets& targets) {
  const torch::Tensor& logits = heads.heatmap;
  const torch::Tensor heat_loss = centre_focal_loss(logits, targets.heatmap);

  const torch::Tensor mask = targets.mask.to(logits.device());
  const torch::Tensor coordinates = (2 * mask.sum()).clamp_min(1);
  const torch::Tensor size_loss =
      ((heads.size - targets.size.to(logits.device())).abs() * mask).sum() / coordinates;
  const torch::Tensor offset_loss =
      ((heads.offset - targets.offset.to(logits.device())).abs() * mask).sum() / coordinates;
  return detection_loss_terms{heat_loss + 0.1 * size_loss + offset_loss, heat_loss, size_loss,
                              offset_loss, torch::zeros({}, logits.options())};
}

detection_loss_terms detector_loss(DetectorImpl& model, const torch::Tensor& x,
                                   const detection_heads& heads,
                                   const std::vector<std::vector<box>>& boxes,
                                   torch::Generator* generator) {
  detection_loss_terms terms = detection_loss(heads, encode_detections(boxes, model.shape()));
  if (!model.shape().two_stage())
    return terms;
  std::vector<std::vector<box>> kept(boxes.size());
  std::vector<std::int64_t> labels;
  for (std::size_t i = 0; i < boxes.size(); ++i)
    for (const box& b : boxes[i])
      if (b.label >= 0 && b.label < model.shape().classes && b.width > 0 && b.height > 0) {
        kept[i].push_back(b);
        labels.push_back(b.label);
      }
  if (labels.empty())
    return terms;
  const std::int64_t m = static_cast<std::int64_t>(labels.size());
  const torch::Tensor logits =
      model.classify_crops(crop_boxes(x, kept, crop_jitter(m, generator)));
  terms.labels = F::cross_entropy(logits, torch::tensor(labels, torch::kLong).to(x.device()));
  terms.total = terms.total + terms.labels;
  return terms;
}

std::pair<std::int64_t, std::int64_t> count_right_labels(
    DetectorImpl& model, const torch::Tensor& x, const std::vector<std::vector<box>>& boxes) {
  if (!model.shape().two_stage())
    return {0, 0};
  torch::NoGradGuard no_grad;
  const torch::Tensor labels = box_labels(boxes);
  if (labels.size(0) == 0)
    return {0, 0};
  const torch::Tensor named =
      model.label_probabilities(crop_boxes(x, boxes)).argmax(1).to(torch::kCPU);
  return {named.eq(labels).sum().item<std::int64_t>(), labels.size(0)};
}

std::vector<std::vector<scored_box>> detect_boxes(DetectorImpl& model, const torch::Tensor& x,
                                                  const detection_heads& heads, float threshold,
                                                  int max_objects, float nms_iou) {
  torch::NoGradGuard no_grad;
  // One stage: these are the answer. Two: the proposals, the one heatmap's boxes (one label, so
  // NMS runs among all of them).
  std::vector<std::vector<scored_box>> found =
      decode_detections(heads, threshold, max_objects, nms_iou);
  if (!model.shape().two_stage())
    return found;
  std::vector<std::vector<box>> proposals(found.size());
  for (std::size_t i = 0; i < found.size(); ++i)
    for (const scored_box& d : found[i])
      proposals[i].push_back(d.b);
  const torch::Tensor crops = crop_boxes(x, proposals);
  if (crops.size(0) == 0)
    return found;
  const torch::Tensor probabilities =
      model.label_probabilities(crops).to(torch::kCPU, torch::kFloat);
  const std::int64_t k = std::min<std::int64_t>(labels_per_box, probabilities.size(1));
  const auto [best, labels] = probabilities.topk(k, 1);
  const auto best_at = best.accessor<float, 2>();
  const auto label_at = labels.accessor<std::int64_t, 2>();
  std::int64_t row = 0;
  for (auto& image : found) {
    std::vector<scored_box> labelled;
    for (const scored_box& d : image) {
      for (std::int64_t j = 0; j < k; ++j) {
        const float score = d.score * best_at[row][j];
        if (score < threshold)
          break;  // sorted: the rest are lower
        scored_box l = d;
        l.b.label = static_cast<int>(label_at[row][j]);
        l.score = score;
        labelled.push_back(l);
      }
      ++row;
    }
    std::stable_sort(labelled.begin(), labelled.end(),
                     [](const scored_box& a, const scored_box& b) { return a.score > b.score; });
    if (max_objects > 0 && labelled.size() > static_cast<std::size_t>(max_objects))
      labelled.resize(static_cast<std::size_t>(max_objects));
    image = std::move(labelled);
  }
  return found;
}

std::vector<std::vector<scored_box>> decode_detections(const detection_heads& heads,
                                                       float threshold, int max_objects,
                                                       float nms_iou, float scale_x,
                                                       float scale_y) {
  torch::NoGradGuard no_grad;
  const torch::Tensor heat = torch::sigmoid(heads.heatmap.detach().to(torch::kCPU, torch::kFloat));
  const std::int64_t n = heat.size(0), classes = heat.size(1), h = heat.size(2), w = heat.size(3);
  const torch::Tensor pooled =
      F::max_pool2d(heat, F::MaxPool2dFuncOptions(3).stride(1).padding(1));
  const torch::Tensor peaks = (heat * pooled.eq(heat).to(torch::kFloat)).reshape({n, -1});
  const std::int64_t all = classes * h * w;
  const std::int64_t k = max_objects > 0 ? std::min<std::int64_t>(max_objects, all) : all;
  const auto [scores, indices] = peaks.topk(k, 1);
  const torch::Tensor size = heads.size.detach().to(torch::kCPU, torch::kFloat).contiguous();
  const torch::Tensor offset = heads.offset.detach().to(torch::kCPU, torch::kFloat).contiguous();
  const auto score_at = scores.accessor<float, 2>();
  const auto index_at = indices.accessor<std::int64_t, 2>();
  const auto size_at = size.accessor<float, 4>();
  const auto offset_at = offset.accessor<float, 4>();
  const float stride = static_cast<float>(detector_stride);
  const float right = static_cast<float>(w) * stride, bottom = static_cast<float>(h) * stride;

  std::vector<std::vector<scored_box>> out(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    std::vector<scored_box> found;
    for (std::int64_t j = 0; j < k; ++j) {
      const float score = score_at[i][j];
      if (score < threshold || score <= 0)
        break;  // sorted: the rest are lower
      const std::int64_t index = index_at[i][j];
      const std::int64_t label = index / (h * w), y = (index / w) % h, x = index % w;
      const float cx = (static_cast<float>(x) + offset_at[i][0][y][x]) * stride;
      const float cy = (static_cast<float>(y) + offset_at[i][1][y][x]) * stride;
      const float bw = std::max(0.0f, size_at[i][0][y][x]) * stride;
      const float bh = std::max(0.0f, size_at[i][1][y][x]) * stride;
      const float x0 = std::clamp(cx - bw / 2, 0.0f, right);
      const float x1 = std::clamp(cx + bw / 2, 0.0f, right);
      const float y0 = std::clamp(cy - bh / 2, 0.0f, bottom);
      const float y1 = std::clamp(cy + bh / 2, 0.0f, bottom);
      scored_box d;
      d.b = box{static_cast<int>(label), x0 * scale_x, y0 * scale_y, (x1 - x0) * scale_x,
                (y1 - y0) * scale_y};
      d.score = score;
      found.push_back(d);
    }
    out[static_cast<std::size_t>(i)] =
        non_maximum_suppression(std::move(found), nms_iou, max_objects);
  }
  return out;
}

detection_heads heads_from_targets(const detection_targets& targets) {
  const torch::Tensor p = targets.heatmap.clamp(1e-4, 1 - 1e-4);
  return detection_heads{torch::log(p / (1 - p)), targets.size.clone(), targets.offset.clone()};
}

}  // namespace trainyard
