// The box classifier, its crops and the items of label masks (see box_classifier.hpp).
#include "runtime/tasks/common/box_classifier.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

#include "runtime/tasks/locate/detector.hpp"

namespace trainyard {

namespace F = torch::nn::functional;

Classifier make_box_classifier(int channels, int width, int classes, bool batch_norm, bool deep) {
  classifier_shape shape;
  shape.channels = channels;
  shape.height = box_crop_size;
  shape.width = box_crop_size;
  shape.classes = classes;
  shape.model_width = std::max(1, width);
  shape.batch_norm = batch_norm;
  shape.deep = deep;
  return Classifier(shape);
}

torch::Tensor box_labels(const std::vector<std::vector<box>>& boxes) {
  std::vector<std::int64_t> labels;
  for (const auto& image : boxes)
    for (const box& b : image)
      labels.push_back(b.label);
  return torch::tensor(labels, torch::kLong);
}

torch::Tensor item_probabilities(ClassifierImpl& classifier, const torch::Tensor& crops,
                                 bool mirror_views) {
  torch::NoGradGuard no_grad;
  torch::Tensor p = torch::softmax(classifier.forward(crops), 1);
  if (!mirror_views)
    return p;
  return p.add_(torch::softmax(classifier.forward(crops.flip({3})), 1)).mul_(0.5);
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

torch::Tensor crop_items(const torch::Tensor& x, const torch::Tensor& parts,
                         const std::vector<std::vector<box>>& items,
                         const torch::Tensor& background, const torch::Tensor& jitter,
                         const torch::Tensor& mask_change) {
  std::vector<std::int64_t> owner;
  std::vector<std::vector<box>> single;
  for (std::size_t i = 0; i < items.size(); ++i)
    for (const box& b : items[i]) {
      owner.push_back(static_cast<std::int64_t>(i));
      single.push_back({b});
    }
  const auto m = static_cast<std::int64_t>(owner.size());
  if (m == 0)
    return torch::zeros({0, x.size(1), box_crop_size, box_crop_size}, x.options());
  const torch::Tensor at = torch::tensor(owner, torch::kLong).to(x.device());
  torch::Tensor own = parts.to(x.device())
                          .index_select(0, at)
                          .eq(torch::arange(m, at.options()).view({m, 1, 1}))
                          .unsqueeze(1)
                          .to(x.scalar_type());
  if (mask_change.defined()) {
    const torch::Tensor change = mask_change.to(x.device()).view({m, 1, 1, 1});
    const torch::Tensor grown = torch::max_pool2d(own, 3, 1, 1);
    const torch::Tensor shrunk = -torch::max_pool2d(-own, 3, 1, 1);
    own = torch::where(change.gt(0), grown, torch::where(change.lt(0), shrunk, own));
  }
  const torch::Tensor ground = background.to(x.device(), x.scalar_type());
  // Crop (item - ground) with zeros outside, then add the ground back: black everywhere else.
  return crop_boxes((x.index_select(0, at) - ground) * own, single, jitter) + ground;
}

torch::Tensor crop_jitter(std::int64_t count, torch::Generator* generator) {
  if (generator == nullptr)
    return {};
  return torch::rand({count, 3}, *generator, torch::kFloat).mul_(2).sub_(1);
}

std::vector<std::vector<box>> mask_items(const std::int64_t* labels, std::int64_t n,
                                         std::int64_t h, std::int64_t w, int least_pixels,
                                         std::int64_t* parts, bool separate_labels) {
  std::vector<std::int64_t> own;
  if (parts == nullptr) {
    own.resize(static_cast<std::size_t>(n * h * w));
    parts = own.data();
  }
  std::fill(parts, parts + n * h * w, -1);
  std::vector<std::vector<box>> out(static_cast<std::size_t>(n));
  std::int64_t next_item = 0;
  // Foreground pixels at most `reach` apart (Chebyshev) are linked: the same as the connected
  // parts of the foreground grown by one pixel (two grown pixels bridge a gap of two).
  constexpr std::int64_t reach = 3;
  std::vector<std::int32_t> component(static_cast<std::size_t>(h * w));
  std::vector<std::int64_t> stack, members;
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t* label = labels + i * h * w;
    std::int64_t* number = parts + i * h * w;
    std::fill(component.begin(), component.end(), -1);
    std::int32_t components = 0;
    for (std::int64_t start = 0; start < h * w; ++start) {
      if (label[start] <= 0 || component[static_cast<std::size_t>(start)] >= 0)
        continue;
      // One part: flood fill, then its box and its most frequent label.
      const std::int32_t id = components++;
      std::int64_t x0 = w, y0 = h, x1 = -1, y1 = -1;
      std::map<std::int64_t, std::int64_t> votes;
      members.clear();
      stack.assign(1, start);
      component[static_cast<std::size_t>(start)] = id;
      while (!stack.empty()) {
        const std::int64_t at = stack.back();
        stack.pop_back();
        const std::int64_t y = at / w, x = at % w;
        x0 = std::min(x0, x);
        x1 = std::max(x1, x);
        y0 = std::min(y0, y);
        y1 = std::max(y1, y);
        ++votes[label[at]];
        members.push_back(at);
        for (std::int64_t ny = std::max<std::int64_t>(0, y - reach);
             ny <= std::min(h - 1, y + reach); ++ny)
          for (std::int64_t nx = std::max<std::int64_t>(0, x - reach);
               nx <= std::min(w - 1, x + reach); ++nx) {
            const std::int64_t to = ny * w + nx;
            if (label[to] <= 0 || component[static_cast<std::size_t>(to)] >= 0 ||
                (separate_labels && label[to] != label[at]))
              continue;
            component[static_cast<std::size_t>(to)] = id;
            stack.push_back(to);
          }
      }
      if (static_cast<std::int64_t>(members.size()) < std::max(1, least_pixels))
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
                                         torch::Tensor* parts, bool separate_labels) {
  const torch::Tensor labels = masks.to(torch::kCPU, torch::kLong).contiguous();
  torch::Tensor numbers = torch::empty(labels.sizes(), torch::kLong);
  auto out = mask_items(labels.data_ptr<std::int64_t>(), labels.size(0), labels.size(1),
                        labels.size(2), least_pixels, numbers.data_ptr<std::int64_t>(),
                        separate_labels);
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

std::vector<float> crop_item_pixels(const std::vector<float>& images, int channels, int height,
                                    int width, const std::vector<std::int64_t>& parts,
                                    const std::vector<std::vector<box>>& items,
                                    const std::vector<float>& background,
                                    const std::vector<std::int64_t>& mask_change) {
  const auto n = static_cast<std::int64_t>(items.size());
  const torch::Tensor x =
      torch::from_blob(const_cast<float*>(images.data()), {n, channels, height, width},
                       torch::kFloat);
  const torch::Tensor numbers = torch::from_blob(const_cast<std::int64_t*>(parts.data()),
                                                 {n, height, width}, torch::kLong);
  const torch::Tensor ground =
      torch::from_blob(const_cast<float*>(background.data()), {1, channels, 1, 1}, torch::kFloat);
  torch::Tensor change;
  if (!mask_change.empty())
    change = torch::from_blob(const_cast<std::int64_t*>(mask_change.data()),
                              {static_cast<std::int64_t>(mask_change.size())}, torch::kLong);
  const torch::Tensor crops = crop_items(x, numbers, items, ground, {}, change).contiguous();
  return std::vector<float>(crops.data_ptr<float>(), crops.data_ptr<float>() + crops.numel());
}

std::vector<float> crop_jitter_values(std::int64_t count, std::uint64_t seed) {
  torch::Generator generator = at::detail::createCPUGenerator(seed);
  const torch::Tensor values = crop_jitter(count, &generator).contiguous();
  return std::vector<float>(values.data_ptr<float>(), values.data_ptr<float>() + values.numel());
}

namespace {

/// Per-image boxes of numbered parts [N, H, W] (numbers over all images in order, -1 elsewhere),
/// renumbered without gaps, items without pixels dropped; labels 0.
image_items number_parts(torch::Tensor parts) {
  parts = parts.to(torch::kCPU, torch::kLong).contiguous();
  const std::int64_t n = parts.size(0), h = parts.size(1), w = parts.size(2);
  std::int64_t* p = parts.data_ptr<std::int64_t>();
  image_items out;
  out.boxes.resize(static_cast<std::size_t>(n));
  std::int64_t next = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    std::map<std::int64_t, std::array<std::int64_t, 4>> extent;  // old number -> x0 y0 x1 y1
    for (std::int64_t y = 0; y < h; ++y)
      for (std::int64_t x = 0; x < w; ++x) {
        const std::int64_t v = p[(i * h + y) * w + x];
        if (v < 0)
          continue;
        auto [it, fresh] = extent.try_emplace(v, std::array<std::int64_t, 4>{x, y, x, y});
        if (!fresh) {
          auto& e = it->second;
          e = {std::min(e[0], x), std::min(e[1], y), std::max(e[2], x), std::max(e[3], y)};
        }
      }
    std::map<std::int64_t, std::int64_t> renumber;
    for (const auto& [old, e] : extent) {
      renumber[old] = next++;
      out.boxes[static_cast<std::size_t>(i)].push_back(
          box{0, static_cast<float>(e[0]), static_cast<float>(e[1]),
              static_cast<float>(e[2] - e[0] + 1), static_cast<float>(e[3] - e[1] + 1)});
    }
    for (std::int64_t k = i * h * w; k < (i + 1) * h * w; ++k)
      if (p[k] >= 0)
        p[k] = renumber[p[k]];
  }
  out.parts = parts;
  return out;
}

}  // namespace

item_centres encode_item_centres(const torch::Tensor& parts_in,
                                 const std::vector<std::vector<box>>& boxes) {
  const torch::Tensor parts = parts_in.to(torch::kCPU, torch::kLong).contiguous();
  const std::int64_t n = parts.size(0), h = parts.size(1), w = parts.size(2);
  std::vector<float> heat(static_cast<std::size_t>(n * h * w), 0.0f);
  std::vector<float> offset(static_cast<std::size_t>(n * 2 * h * w), 0.0f);
  std::vector<float> on(static_cast<std::size_t>(n * h * w), 0.0f);
  std::vector<std::array<float, 2>> centre;
  for (std::int64_t i = 0; i < n; ++i)
    for (const box& b : boxes[static_cast<std::size_t>(i)]) {
      const float cx = b.x + (b.width - 1) / 2, cy = b.y + (b.height - 1) / 2;
      centre.push_back({cx, cy});
      draw_centre_bump(heat.data() + i * h * w, h, w, std::lround(cx), std::lround(cy),
                       std::max(1, static_cast<int>(gaussian_radius(b.height, b.width))));
    }
  const std::int64_t* p = parts.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t y = 0; y < h; ++y)
      for (std::int64_t x = 0; x < w; ++x) {
        const std::int64_t at = (i * h + y) * w + x;
        if (p[at] < 0)
          continue;
        const auto& c = centre.at(static_cast<std::size_t>(p[at]));
        on[static_cast<std::size_t>(at)] = 1;
        offset[static_cast<std::size_t>((i * 2 * h + y) * w + x)] = c[0] - static_cast<float>(x);
        offset[static_cast<std::size_t>(((i * 2 + 1) * h + y) * w + x)] =
            c[1] - static_cast<float>(y);
      }
  auto tensor = [](std::vector<float>& v, std::vector<std::int64_t> dims) {
    return torch::from_blob(v.data(), dims, torch::kFloat).clone();
  };
  return {tensor(heat, {n, 1, h, w}), tensor(offset, {n, 2, h, w}), tensor(on, {n, 1, h, w})};
}

image_items find_items(const torch::Tensor& foreground_in, const torch::Tensor& heat_in,
                       const torch::Tensor& offset_in) {
  torch::NoGradGuard no_grad;
  const torch::Tensor foreground = foreground_in.to(torch::kCPU, torch::kBool);
  const torch::Tensor heat = heat_in.to(torch::kCPU, torch::kFloat);
  const torch::Tensor peak =
      heat.eq(torch::max_pool2d(heat, centre_window, 1, centre_window / 2)).squeeze(1);
  const torch::Tensor score = heat.squeeze(1);
  const torch::Tensor offset = offset_in.to(torch::kCPU, torch::kFloat);
  const std::int64_t n = foreground.size(0), h = foreground.size(1), w = foreground.size(2);
  const torch::Tensor ys = torch::arange(h, torch::kFloat).view({h, 1}).expand({h, w}).reshape({-1});
  const torch::Tensor xs = torch::arange(w, torch::kFloat).view({1, w}).expand({h, w}).reshape({-1});
  torch::Tensor parts = torch::full({n, h * w}, -1, torch::kLong);
  std::int64_t next = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const torch::Tensor fg = foreground[i].flatten().nonzero().squeeze(1);
    if (fg.size(0) == 0)
      continue;
    const torch::Tensor s = score[i].flatten();
    torch::Tensor centres =
        peak[i].flatten().logical_and(s.ge(centre_threshold)).nonzero().squeeze(1);
    if (centres.size(0) == 0)
      centres = s.argmax().view({1});
    if (centres.size(0) > most_items_per_image)
      centres = centres.index_select(
          0, std::get<1>(s.index_select(0, centres).topk(most_items_per_image)));
    const torch::Tensor cx = xs.index_select(0, centres), cy = ys.index_select(0, centres);
    const torch::Tensor vx = xs.index_select(0, fg) + offset[i][0].flatten().index_select(0, fg);
    const torch::Tensor vy = ys.index_select(0, fg) + offset[i][1].flatten().index_select(0, fg);
    const torch::Tensor d = (vx.view({-1, 1}) - cx.view({1, -1})).square() +
                            (vy.view({-1, 1}) - cy.view({1, -1})).square();
    parts[i].index_put_({fg}, d.argmin(1) + next);
    next += centres.size(0);
  }
  return number_parts(parts.view({n, h, w}));
}

std::vector<std::int64_t> find_items_from_targets(const std::vector<std::int64_t>& masks,
                                                  std::int64_t n, std::int64_t height,
                                                  std::int64_t width,
                                                  std::vector<std::int64_t>* true_parts) {
  const torch::Tensor labels =
      torch::from_blob(const_cast<std::int64_t*>(masks.data()), {n, height, width}, torch::kLong);
  torch::Tensor parts;
  const auto items = mask_items(labels, 1, &parts, /*separate_labels=*/true);
  const item_centres c = encode_item_centres(parts, items);
  const image_items found = find_items(labels.gt(0), c.heat, c.offset);
  if (true_parts != nullptr)
    *true_parts = std::vector<std::int64_t>(parts.data_ptr<std::int64_t>(),
                                            parts.data_ptr<std::int64_t>() + parts.numel());
  const torch::Tensor f = found.parts.contiguous();
  return std::vector<std::int64_t>(f.data_ptr<std::int64_t>(), f.data_ptr<std::int64_t>() + f.numel());
}

std::vector<std::int64_t> find_item_numbers(const std::vector<std::uint8_t>& foreground,
                                            const std::vector<float>& heat,
                                            const std::vector<float>& offset, std::int64_t n,
                                            std::int64_t height, std::int64_t width) {
  auto view = [](const auto& v, std::vector<std::int64_t> dims, torch::ScalarType type) {
    using value = typename std::decay_t<decltype(v)>::value_type;
    return torch::from_blob(const_cast<value*>(v.data()), dims, type);
  };
  const image_items found = find_items(view(foreground, {n, height, width}, torch::kUInt8).ne(0),
                                       view(heat, {n, 1, height, width}, torch::kFloat),
                                       view(offset, {n, 2, height, width}, torch::kFloat));
  const torch::Tensor f = found.parts.contiguous();
  return std::vector<std::int64_t>(f.data_ptr<std::int64_t>(),
                                   f.data_ptr<std::int64_t>() + f.numel());
}

}  // namespace trainyard
