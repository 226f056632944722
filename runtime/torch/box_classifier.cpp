// The box classifier, its crops and the items of label masks (see box_classifier.hpp).
#include "runtime/torch/box_classifier.hpp"

#include <algorithm>
#include <map>

namespace trainyard {

namespace F = torch::nn::functional;

Classifier make_box_classifier(int channels, int width, int classes, bool batch_norm) {
  classifier_shape shape;
  shape.channels = channels;
  shape.height = box_crop_size;
  shape.width = box_crop_size;
  shape.classes = classes;
  shape.model_width = std::max(1, width);
  shape.batch_norm = batch_norm;
  return Classifier(shape);
}

torch::Tensor item_probabilities(ClassifierImpl& classifier, const torch::Tensor& crops) {
  torch::NoGradGuard no_grad;
  return torch::softmax(classifier.forward(crops), 1)
      .add_(torch::softmax(classifier.forward(crops.flip({3})), 1))
      .mul_(0.5);
}

torch::Tensor crop_boxes(const torch::Tensor& x, const std::vector<std::vector<box>>& boxes,
                         const torch::Tensor& jitter) {
  std::vector<std::int64_t> owner;
  std::vector<float> theta;
  const float width = static_cast<float>(x.size(3)), height = static_cast<float>(x.size(2));
  const torch::Tensor moves =
      jitter.defined() ? jitter.to(torch::kCPU, torch::kFloat).contiguous() : torch::Tensor();
  for (std::size_t i = 0; i < boxes.size(); ++i) {
    for (const box& b : boxes[i]) {
      float side = box_crop_margin * std::max(b.width, b.height);
      float cx = b.x + b.width / 2, cy = b.y + b.height / 2;
      if (moves.defined()) {
        const float* m = moves.data_ptr<float>() + 3 * static_cast<std::int64_t>(owner.size());
        cx += 0.10f * side * m[0];
        cy += 0.10f * side * m[1];
        side *= 1.0f + 0.15f * m[2];
      }
      side = std::max(side, 1.0f);
      // With align_corners off, [-1, 1] spans the image's outer edges: the crop's centre is at
      // 2 cx / W - 1 and its half side is side / W.
      theta.insert(theta.end(),
                   {side / width, 0, 2 * cx / width - 1, 0, side / height, 2 * cy / height - 1});
      owner.push_back(static_cast<std::int64_t>(i));
    }
  }
  const std::int64_t m = static_cast<std::int64_t>(owner.size());
  if (m == 0)
    return torch::zeros({0, x.size(1), box_crop_size, box_crop_size}, x.options());
  const torch::Tensor affine =
      torch::tensor(theta).view({m, 2, 3}).to(x.device(), x.scalar_type());
  const torch::Tensor source = x.index_select(0, torch::tensor(owner, torch::kLong).to(x.device()));
  const torch::Tensor grid = F::affine_grid(affine, {m, x.size(1), box_crop_size, box_crop_size},
                                            /*align_corners=*/false);
  return F::grid_sample(source, grid,
                        F::GridSampleFuncOptions()
                            .mode(torch::kBilinear)
                            .padding_mode(torch::kZeros)
                            .align_corners(false));
}

torch::Tensor crop_jitter(std::int64_t count, torch::Generator* generator) {
  if (generator == nullptr)
    return {};
  return torch::rand({count, 3}, *generator, torch::kFloat).mul_(2).sub_(1);
}

std::vector<std::vector<box>> mask_items(const std::int64_t* labels, std::int64_t n,
                                         std::int64_t h, std::int64_t w, int least_pixels,
                                         std::int64_t* parts) {
  std::vector<std::int64_t> own;
  if (parts == nullptr) {
    own.resize(static_cast<std::size_t>(n * h * w));
    parts = own.data();
  }
  std::fill(parts, parts + n * h * w, -1);
  std::vector<std::vector<box>> out(static_cast<std::size_t>(n));
  std::int64_t next_item = 0;
  std::vector<std::int32_t> component(static_cast<std::size_t>(h * w));
  std::vector<std::int64_t> stack;
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t* label = labels + i * h * w;
    std::int64_t* number = parts + i * h * w;
    // The foreground grown by one pixel (3x3), whose connected parts are the items.
    std::vector<std::uint8_t> grown(static_cast<std::size_t>(h * w), 0);
    for (std::int64_t y = 0; y < h; ++y)
      for (std::int64_t x = 0; x < w; ++x)
        if (label[y * w + x] > 0)
          for (std::int64_t dy = -1; dy <= 1; ++dy)
            for (std::int64_t dx = -1; dx <= 1; ++dx)
              if (y + dy >= 0 && y + dy < h && x + dx >= 0 && x + dx < w)
                grown[static_cast<std::size_t>((y + dy) * w + x + dx)] = 1;
    std::fill(component.begin(), component.end(), -1);
    std::int32_t components = 0;
    for (std::int64_t start = 0; start < h * w; ++start) {
      if (grown[static_cast<std::size_t>(start)] == 0 ||
          component[static_cast<std::size_t>(start)] >= 0)
        continue;
      // One part: flood fill, then its box and labels over the ungrown foreground.
      const std::int32_t id = components++;
      std::int64_t x0 = w, y0 = h, x1 = -1, y1 = -1, pixels = 0;
      std::map<std::int64_t, std::int64_t> votes;
      std::vector<std::int64_t> members;
      stack.assign(1, start);
      component[static_cast<std::size_t>(start)] = id;
      while (!stack.empty()) {
        const std::int64_t at = stack.back();
        stack.pop_back();
        const std::int64_t y = at / w, x = at % w;
        if (label[at] > 0) {
          x0 = std::min(x0, x);
          x1 = std::max(x1, x);
          y0 = std::min(y0, y);
          y1 = std::max(y1, y);
          ++pixels;
          ++votes[label[at]];
          members.push_back(at);
        }
        for (std::int64_t dy = -1; dy <= 1; ++dy)
          for (std::int64_t dx = -1; dx <= 1; ++dx) {
            const std::int64_t ny = y + dy, nx = x + dx;
            if (ny < 0 || ny >= h || nx < 0 || nx >= w)
              continue;
            const std::int64_t to = ny * w + nx;
            if (grown[static_cast<std::size_t>(to)] != 0 &&
                component[static_cast<std::size_t>(to)] < 0) {
              component[static_cast<std::size_t>(to)] = id;
              stack.push_back(to);
            }
          }
      }
      if (pixels < std::max(1, least_pixels))
        continue;
      const auto most = std::max_element(
          votes.begin(), votes.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
      out[static_cast<std::size_t>(i)].push_back(
          box{static_cast<int>(most->first - 1), static_cast<float>(x0), static_cast<float>(y0),
              static_cast<float>(x1 - x0 + 1), static_cast<float>(y1 - y0 + 1)});
      for (const std::int64_t at : members)
        number[at] = next_item;
      ++next_item;
    }
  }
  return out;
}

std::vector<std::vector<box>> mask_items(const torch::Tensor& masks, int least_pixels,
                                         torch::Tensor* parts) {
  const torch::Tensor labels = masks.to(torch::kCPU, torch::kLong).contiguous();
  torch::Tensor numbers = torch::empty(labels.sizes(), torch::kLong);
  auto out = mask_items(labels.data_ptr<std::int64_t>(), labels.size(0), labels.size(1),
                        labels.size(2), least_pixels, numbers.data_ptr<std::int64_t>());
  if (parts != nullptr)
    *parts = numbers;
  return out;
}

std::vector<float> crop_box_pixels(const std::vector<float>& images, int channels, int height,
                                   int width, const std::vector<std::vector<box>>& boxes,
                                   const std::vector<float>& jitter) {
  const auto n = static_cast<std::int64_t>(boxes.size());
  const torch::Tensor x =
      torch::from_blob(const_cast<float*>(images.data()), {n, channels, height, width},
                       torch::kFloat);
  torch::Tensor moves;
  if (!jitter.empty())
    moves = torch::from_blob(const_cast<float*>(jitter.data()),
                             {static_cast<std::int64_t>(jitter.size() / 3), 3}, torch::kFloat);
  const torch::Tensor crops = crop_boxes(x, boxes, moves).contiguous();
  return std::vector<float>(crops.data_ptr<float>(), crops.data_ptr<float>() + crops.numel());
}

std::vector<float> crop_jitter_values(std::int64_t count, std::uint64_t seed) {
  torch::Generator generator = at::detail::createCPUGenerator(seed);
  const torch::Tensor values = crop_jitter(count, &generator).contiguous();
  return std::vector<float>(values.data_ptr<float>(), values.data_ptr<float>() + values.numel());
}

}  // namespace trainyard
