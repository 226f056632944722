// Batch augmentation (augmenter.hpp): random draws per image from the job's augmentation
// generator; masks follow the images' flips and warps.
#include "runtime/train/augmenter.hpp"

#include <cmath>

namespace trainyard {

augmenter::augmenter(const augmentation_settings& s, int width, int height)
    : s_(s), aspect_(static_cast<double>(width) / height) {
  geometric_ = s.rotation > 0 || s.scale > 0 || s.shift > 0 || s.shear > 0;
  flips_ = s.flip_horizontal || s.flip_vertical;
  photometric_ = s.brightness > 0 || s.contrast > 0 || s.noise > 0;
}

void augmenter::apply(torch::Tensor& x, torch::Generator& gen, torch::Tensor* masks) const {
  const std::int64_t b = x.size(0);
  if (geometric_) {
    // Random rotation, shear, zoom, shift and flips as one affine warp per image (bilinear, black
    // outside the image); flips are folded into the matrices.
    const torch::Tensor theta = affine_theta(b, gen);
    const torch::Tensor grid = torch::affine_grid_generator(theta, x.sizes(), false);
    x = torch::grid_sampler(x, grid, /*bilinear*/ 0, /*zeros*/ 0, false);
    if (masks && masks->defined()) {
      const torch::Tensor m = masks->unsqueeze(1).to(torch::kFloat);
      *masks = torch::grid_sampler(m, grid, /*nearest*/ 1, /*zeros*/ 0, false)
                   .squeeze(1)
                   .round()
                   .to(torch::kUInt8);
    }
  } else if (flips_) {
    const torch::Tensor draw = torch::rand({b, 2}, gen);
    const bool with_masks = masks && masks->defined();
    if (s_.flip_horizontal) {
      const torch::Tensor pick = draw.select(1, 0).lt(0.5);
      x = torch::where(pick.view({b, 1, 1, 1}), x.flip({3}), x);
      if (with_masks)
        *masks = torch::where(pick.view({b, 1, 1}), masks->flip({2}), *masks);
    }
    if (s_.flip_vertical) {
      const torch::Tensor pick = draw.select(1, 1).lt(0.5);
      x = torch::where(pick.view({b, 1, 1, 1}), x.flip({2}), x);
      if (with_masks)
        *masks = torch::where(pick.view({b, 1, 1}), masks->flip({1}), *masks);
    }
  }
  if (s_.brightness > 0)
    x.add_(torch::rand({b, 1, 1, 1}, gen).mul_(2 * s_.brightness).sub_(s_.brightness));
  if (s_.contrast > 0) {
    const torch::Tensor factor =
        torch::rand({b, 1, 1, 1}, gen).mul_(2 * s_.contrast).add_(1 - s_.contrast);
    const torch::Tensor mean = x.mean({1, 2, 3}, /*keepdim=*/true);
    x = x.sub(mean).mul_(factor).add_(mean);
  }
  if (s_.noise > 0)
    x.add_(torch::randn(x.sizes(), gen).mul_(s_.noise));
  if (photometric_)
    x.clamp_(0, 1);
}

// grid_sample maps output to input coordinates, so each image gets the inverse of its forward
// transform. Angles act in pixel space, so non-square images stay true.
torch::Tensor augmenter::affine_theta(std::int64_t b, torch::Generator& gen) const {
  const torch::Tensor draw = torch::rand({b, 7}, gen, torch::kDouble);
  const auto r = draw.accessor<double, 2>();
  torch::Tensor theta = torch::empty({b, 2, 3}, torch::kFloat);
  auto t = theta.accessor<float, 3>();
  constexpr double radians = M_PI / 180.0;
  for (std::int64_t i = 0; i < b; ++i) {
    const auto sym = [&](int k, double range) { return (2 * r[i][k] - 1) * range; };
    const double angle = sym(0, s_.rotation) * radians;
    const double shear = std::tan(sym(1, s_.shear) * radians);
    const double zoom = 1 + sym(2, s_.scale);
    const double fx = s_.flip_horizontal && r[i][5] < 0.5 ? -1 : 1;
    const double fy = s_.flip_vertical && r[i][6] < 0.5 ? -1 : 1;
    // Forward map in pixel-proportional coordinates: A = R(angle) * Shear * diag(zoom*fx, zoom*fy).
    const double c = std::cos(angle), s = std::sin(angle);
    double a00 = c * zoom * fx, a01 = (c * shear - s) * zoom * fy;
    double a10 = s * zoom * fx, a11 = (s * shear + c) * zoom * fy;
    // To normalised coordinates ([-1, 1] on both axes): D^-1 A D with D = diag(W, H).
    a01 /= aspect_;
    a10 *= aspect_;
    const double tx = sym(3, s_.shift) * 2, ty = sym(4, s_.shift) * 2;  // [-1,1] spans 2
    const double det = a00 * a11 - a01 * a10;
    const double i00 = a11 / det, i01 = -a01 / det, i10 = -a10 / det, i11 = a00 / det;
    t[i][0][0] = static_cast<float>(i00);
    t[i][0][1] = static_cast<float>(i01);
    t[i][0][2] = static_cast<float>(-(i00 * tx + i01 * ty));
    t[i][1][0] = static_cast<float>(i10);
    t[i][1][1] = static_cast<float>(i11);
    t[i][1][2] = static_cast<float>(-(i10 * tx + i11 * ty));
  }
  return theta;
}

torch::Tensor training_batch(const torch::Tensor& images, const torch::Tensor& rows,
                             const input_transform& transform, const augmenter& augment,
                             torch::Generator& gen, const torch::Tensor* all_masks,
                             torch::Tensor* masks) {
  const torch::Tensor u8 = images.index_select(0, rows);
  if (masks && all_masks && all_masks->defined())
    *masks = all_masks->index_select(0, rows);
  torch::Tensor x;
  if (augment.enabled()) {
    // Augmented on the CPU with the job's generator (the same draws on every device), then moved.
    x = u8.to(torch::kFloat).mul_(1.0 / 255.0);
    augment.apply(x, gen, masks);
    x = transform.to_device(x);
    transform.normalize_unit(x);
  } else {
    x = transform(u8);
  }
  if (masks && masks->defined())
    *masks = transform.to_device(*masks);
  return x;
}

}  // namespace trainyard
