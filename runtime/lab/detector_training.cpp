// The reference training loop of the locate detector (see detector_training.hpp).
#include "runtime/lab/detector_training.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <thread>

#include <torch/torch.h>

#include "runtime/tasks/locate/detector.hpp"

namespace trainyard {

namespace {

// The set's pixels as a uint8 tensor [N, C, H, W] over the caller's buffer (read only).
torch::Tensor pixel_tensor(const detection_set& set) {
  const image_geometry& g = set.geometry;
  return torch::from_blob(const_cast<std::uint8_t*>(set.pixels.data()),
                          {static_cast<std::int64_t>(set.size()), g.channels, g.height, g.width},
                          torch::kUInt8);
}

expected<void> check_set(const detection_set& set, const char* what) {
  if (set.size() == 0)
    return make_failure(error_code::invalid_request, std::string(what) + " set has no images");
  if (set.pixels.size() != set.size() * set.geometry.bytes())
    return make_failure(error_code::invalid_request,
                        std::string(what) + " set holds " + std::to_string(set.pixels.size()) +
                            " bytes of pixels for " + std::to_string(set.size()) +
                            " images of " + std::to_string(set.geometry.bytes()) + " bytes");
  return {};
}

// Zooms each image about its centre and shifts it (bilinear; what comes in from outside is 0,
// the normalised mean) and moves its boxes alike. A box keeps its clipped part when at least half
// of it stays inside; otherwise it is dropped (mostly cut off, it no longer looks like the item).
torch::Tensor zoom_and_shift(const torch::Tensor& x, std::vector<std::vector<box>>& boxes,
                             const detector_fit_settings& settings, std::mt19937_64& rng) {
  const std::int64_t n = x.size(0);
  const float height = static_cast<float>(x.size(2)), width = static_cast<float>(x.size(3));
  std::uniform_real_distribution<double> unit(-1, 1);
  std::vector<float> theta;
  for (std::int64_t i = 0; i < n; ++i) {
    const float zoom = static_cast<float>(1 + settings.scale * unit(rng));
    const float dx = static_cast<float>(settings.shift * unit(rng)) * width;
    const float dy = static_cast<float>(settings.shift * unit(rng)) * height;
    // Output pixel X comes from input (X - W/2 - dx) / zoom + W/2; in [-1, 1] coordinates that
    // is u / zoom - 2 dx / (W zoom).
    theta.insert(theta.end(), {1 / zoom, 0, -2 * dx / (width * zoom), 0, 1 / zoom,
                               -2 * dy / (height * zoom)});
    std::vector<box> kept;
    for (const box& b : boxes[static_cast<std::size_t>(i)]) {
      const float x0 = zoom * (b.x - width / 2) + width / 2 + dx;
      const float y0 = zoom * (b.y - height / 2) + height / 2 + dy;
      const float x1 = x0 + zoom * b.width, y1 = y0 + zoom * b.height;
      const float cx0 = std::clamp(x0, 0.0f, width), cx1 = std::clamp(x1, 0.0f, width);
      const float cy0 = std::clamp(y0, 0.0f, height), cy1 = std::clamp(y1, 0.0f, height);
      const float area = (x1 - x0) * (y1 - y0), inside = (cx1 - cx0) * (cy1 - cy0);
      if (area > 0 && inside >= 0.5f * area)
        kept.push_back(box{b.label, cx0, cy0, cx1 - cx0, cy1 - cy0});
    }
    boxes[static_cast<std::size_t>(i)] = std::move(kept);
  }
  const torch::Tensor affine = torch::tensor(theta).view({n, 2, 3});
  namespace F = torch::nn::functional;
  const torch::Tensor grid =
      F::affine_grid(affine, {n, x.size(1), x.size(2), x.size(3)}, /*align_corners=*/false);
  return F::grid_sample(x, grid,
                        F::GridSampleFuncOptions()
                            .mode(torch::kBilinear)
                            .padding_mode(torch::kZeros)
                            .align_corners(false));
}

}  // namespace

expected<detector_fit_report> fit_detector(const detection_set& train,
                                           const detection_set& validation, int classes,
                                           const detector_fit_settings& settings,
                                           const std::function<void(int, double)>& on_epoch) {
  if (auto ok = check_set(train, "training"); !ok)
    return ok.error();
  if (auto ok = check_set(validation, "validation"); !ok)
    return ok.error();
  const image_geometry& g = train.geometry;
  if (validation.geometry.channels != g.channels || validation.geometry.width != g.width ||
      validation.geometry.height != g.height)
    return make_failure(error_code::invalid_request,
                        "the validation images differ in size or channels from the training ones");
  if (classes <= 0 || settings.batch_size <= 0 || settings.epochs < 0)
    return make_failure(error_code::invalid_request,
                        "fit_detector needs classes > 0, batch_size > 0 and epochs >= 0");
  try {
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    torch::set_num_threads(settings.threads > 0 ? settings.threads : static_cast<int>(cores));
    torch::manual_seed(settings.seed);
    const detector_shape shape{g.channels, g.height, g.width, classes, settings.model_width,
                               settings.batch_norm, settings.box_classifier_width,
                               settings.flip_horizontal};
    Detector model(shape);
    detector_fit_report report;
    for (const auto& p : model->parameters())
      report.parameters += p.numel();

    const torch::Tensor train_pixels = pixel_tensor(train);
    // One mean and deviation over all channels: enough for gray scenes, cheap to carry.
    const torch::Tensor unit = train_pixels.to(torch::kFloat).div_(255);
    const double mean = unit.mean().item<double>();
    const double deviation = std::max(1e-3, unit.std().item<double>());
    report.mean = mean;
    report.deviation = deviation;

    torch::optim::Adam optimizer(model->parameters(),
                                 torch::optim::AdamOptions(settings.learning_rate));
    const std::int64_t n = static_cast<std::int64_t>(train.size());
    const std::int64_t batches = (n + settings.batch_size - 1) / settings.batch_size;
    const double total_steps = std::max<double>(1, static_cast<double>(batches) * settings.epochs);
    std::mt19937_64 flips(settings.seed);
    torch::Generator jitter = at::detail::createCPUGenerator(settings.seed + 1);
    std::int64_t step = 0;
    const auto started = std::chrono::steady_clock::now();

    for (int epoch = 1; epoch <= settings.epochs; ++epoch) {
      model->train();
      const torch::Tensor order = torch::randperm(n, torch::kLong);
      const auto order_at = order.accessor<std::int64_t, 1>();
      double loss_sum = 0;
      for (std::int64_t first = 0; first < n; first += settings.batch_size, ++step) {
        const std::int64_t last = std::min(n, first + settings.batch_size);
        const torch::Tensor index = order.slice(0, first, last);
        torch::Tensor x = train_pixels.index_select(0, index).to(torch::kFloat);
        x.div_(255).sub_(mean).div_(deviation);
        std::vector<std::vector<box>> boxes;
        std::vector<std::uint8_t> mirrored;
        for (std::int64_t i = first; i < last; ++i) {
          boxes.push_back(train.boxes[static_cast<std::size_t>(order_at[i])]);
          const bool flip = settings.flip_horizontal && (flips() & 1) != 0;
          mirrored.push_back(flip ? 1 : 0);
          if (flip)
            for (box& b : boxes.back())
              b.x = static_cast<float>(g.width) - b.x - b.width;
        }
        if (settings.flip_horizontal) {
          const torch::Tensor mask =
              torch::tensor(std::vector<std::int64_t>(mirrored.begin(), mirrored.end()))
                  .to(torch::kBool)
                  .view({-1, 1, 1, 1});
          x = torch::where(mask, x.flip({3}), x);
        }
        if (settings.scale > 0 || settings.shift > 0)
          x = zoom_and_shift(x, boxes, settings, flips);
        // Cosine decay from the base rate to 5% of it over the whole run.
        const double progress = static_cast<double>(step) / total_steps;
        const double rate =
            settings.learning_rate * (0.05 + 0.95 * 0.5 * (1 + std::cos(M_PI * progress)));
        for (auto& group : optimizer.param_groups())
          static_cast<torch::optim::AdamOptions&>(group.options()).lr(rate);
        const detection_loss_terms loss =
            detector_loss(*model, x, model->forward(x), boxes, &jitter);
        optimizer.zero_grad();
        loss.total.backward();
        optimizer.step();
        loss_sum += loss.total.item<double>() * static_cast<double>(last - first);
      }
      report.epoch_loss.push_back(loss_sum / static_cast<double>(n));
      if (on_epoch)
        on_epoch(epoch, report.epoch_loss.back());
    }
    report.train_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    report.images_per_second =
        report.train_seconds > 0
            ? static_cast<double>(n) * settings.epochs / report.train_seconds
            : 0;

    model->eval();
    torch::NoGradGuard no_grad;
    const torch::Tensor validation_pixels = pixel_tensor(validation);
    const std::int64_t m = static_cast<std::int64_t>(validation.size());
    std::int64_t right = 0, asked = 0;
    for (std::int64_t first = 0; first < m; first += 128) {
      const std::int64_t last = std::min(m, first + 128);
      torch::Tensor x = validation_pixels.slice(0, first, last).to(torch::kFloat);
      x.div_(255).sub_(mean).div_(deviation);
      const auto [r, a] = count_right_labels(
          *model, x,
          std::vector<std::vector<box>>(validation.boxes.begin() + first,
                                        validation.boxes.begin() + last));
      right += r;
      asked += a;
      const detection_heads heads = model->forward(x);
      for (auto& p : decode_detections(heads, settings.evaluation_threshold, settings.max_objects,
                                       settings.nms_iou))
        report.validation_proposals.push_back(std::move(p));
      auto found = detect_boxes(*model, x, heads, settings.evaluation_threshold,
                                settings.max_objects, settings.nms_iou);
      for (auto& f : found)
        report.validation_detections.push_back(std::move(f));
    }
    if (!settings.export_folder.empty()) {
      auto exported = export_detector(*model, settings.export_folder, 0,
                                      settings.evaluation_threshold, settings.max_objects,
                                      settings.nms_iou);
      if (!exported)
        return exported.error();
      report.export_settings = std::move(*exported);
    }
    report.label_accuracy = asked > 0 ? static_cast<double>(right) / static_cast<double>(asked) : 0;
    report.validation =
        evaluate_detections(validation.boxes, report.validation_detections, classes);
    return report;
  } catch (const std::exception& e) {
    const std::string text = e.what();
    return make_failure(error_code::training_failed,
                        "training the detector failed: " + text.substr(0, text.find('\n')));
  }
}

detection_set zoom_and_shift_set(const detection_set& set, double scale, double shift,
                                 std::uint64_t seed) {
  detector_fit_settings settings;
  settings.scale = scale;
  settings.shift = shift;
  std::mt19937_64 rng(seed);
  detection_set out;
  out.geometry = set.geometry;
  out.boxes = set.boxes;
  const torch::Tensor moved =
      zoom_and_shift(pixel_tensor(set).to(torch::kFloat), out.boxes, settings, rng);
  const torch::Tensor bytes = moved.round().clamp(0, 255).to(torch::kUInt8).contiguous();
  out.pixels.assign(bytes.data_ptr<std::uint8_t>(),
                    bytes.data_ptr<std::uint8_t>() + bytes.numel());
  return out;
}

std::vector<std::vector<scored_box>> decode_encoded_boxes(
    const std::vector<std::vector<box>>& boxes, const image_geometry& geometry, int classes) {
  const detector_shape shape{geometry.channels, geometry.height, geometry.width, classes, 1, false};
  const detection_targets targets = encode_detections(boxes, shape);
  // NMS at IoU 1 keeps every box: overlapping boxes of one label are legitimate targets.
  return decode_detections(heads_from_targets(targets), 0.5f, 100, 1.0f);
}

std::vector<std::vector<scored_box>> decode_head_values(
    const std::vector<float>& heatmap, const std::vector<float>& size,
    const std::vector<float>& offset, std::int64_t n, std::int64_t classes, std::int64_t h,
    std::int64_t w, float threshold, int max_objects, float nms_iou) {
  const auto tensor = [](const std::vector<float>& v, std::vector<std::int64_t> dims) {
    return torch::from_blob(const_cast<float*>(v.data()), dims, torch::kFloat).clone();
  };
  const detection_heads heads{tensor(heatmap, {n, classes, h, w}), tensor(size, {n, 2, h, w}),
                              tensor(offset, {n, 2, h, w})};
  return decode_detections(heads, threshold, max_objects, nms_iou);
}

}  // namespace trainyard
