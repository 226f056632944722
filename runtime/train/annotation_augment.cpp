// Annotation-aware augmentation with OpenCV (see annotation_augment.hpp). Runs on whatever thread
// calls it (the training loop's loader threads, the preview command); no shared state, the draws
// come from a seeded generator of their own.
#include "runtime/train/annotation_augment.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "runtime/core/seeded_rng.hpp"

namespace trainyard {

namespace {

constexpr double degrees = 3.14159265358979323846 / 180.0;

failure invalid(const std::string& what) {
  return make_failure(error_code::invalid_config, what);
}

}  // namespace

expected<void> check_augmentation(const augmentation_settings& s, bool boxes) {
  const std::pair<const char*, double> ranges[] = {
      {"rotation", s.rotation},     {"scale", s.scale},       {"shift", s.shift},
      {"shear", s.shear},           {"brightness", s.brightness}, {"contrast", s.contrast},
      {"noise", s.noise}};
  for (const auto& [key, v] : ranges) {
    if (!std::isfinite(v) || v < 0) {
      return invalid(std::string("augmentation ") + key + " = " + std::to_string(v) +
                     " must be a number >= 0 (the half-width of a range around no change)");
    }
  }
  if (s.scale >= 1) {
    return invalid("augmentation scale = " + std::to_string(s.scale) +
                   " must be below 1: the zoom is drawn in [1 - scale, 1 + scale]");
  }
  if (s.shear >= 90) {
    return invalid("augmentation shear = " + std::to_string(s.shear) + " must be below 90 degrees");
  }
  if (s.contrast >= 1) {
    return invalid("augmentation contrast = " + std::to_string(s.contrast) +
                   " must be below 1: the factor is drawn in [1 - contrast, 1 + contrast]");
  }
  if (boxes && (s.rotation != 0 || s.shear != 0)) {
    return invalid("rotation and shear cannot keep boxes exact; set them to 0 for locate tools");
  }
  return {};
}

augmentation_draw draw_augmentation(const augmentation_settings& s, std::uint64_t seed) {
  seeded_rng rng(seed);
  // Every value is drawn whether its range is 0 or not, so that enabling one setting does not
  // change the draws of the others.
  augmentation_draw d;
  bool fh = rng.below(2) == 1, fv = rng.below(2) == 1;
  d.flip_horizontal = s.flip_horizontal && fh;
  d.flip_vertical = s.flip_vertical && fv;
  d.rotation = rng.uniform(-1, 1) * s.rotation;
  d.scale = 1 + rng.uniform(-1, 1) * s.scale;
  d.shift_x = rng.uniform(-1, 1) * s.shift;
  d.shift_y = rng.uniform(-1, 1) * s.shift;
  d.shear = rng.uniform(-1, 1) * s.shear;
  d.brightness = rng.uniform(-1, 1) * s.brightness;
  d.contrast = 1 + rng.uniform(-1, 1) * s.contrast;
  d.noise = s.noise;
  d.noise_seed = rng.next();
  return d;
}

augmentation_draw augmentation_limit(const augmentation_settings& s, bool upper) {
  double sign = upper ? 1 : -1;
  augmentation_draw d;
  d.flip_horizontal = upper && s.flip_horizontal;
  d.flip_vertical = upper && s.flip_vertical;
  d.rotation = sign * s.rotation;
  d.scale = 1 + sign * s.scale;
  d.shift_x = d.shift_y = sign * s.shift;
  d.shear = sign * s.shear;
  d.brightness = sign * s.brightness;
  d.contrast = 1 + sign * s.contrast;
  d.noise = s.noise;
  d.noise_seed = upper ? 2 : 1;
  return d;
}

std::array<double, 6> augmentation_matrix(const augmentation_draw& d, int width, int height) {
  // A = scale * rotation * shear * flip, about the centre c of the pixel-centre grid.
  double fx = d.flip_horizontal ? -1 : 1, fy = d.flip_vertical ? -1 : 1;
  double t = std::tan(d.shear * degrees);
  // Rotation counter-clockwise on screen, where y points down: [cos sin; -sin cos].
  double co = std::cos(d.rotation * degrees), si = std::sin(d.rotation * degrees);
  if (d.rotation == 0) co = 1, si = 0;
  // shear * flip = [fx, t*fy; 0, fy]
  double s00 = fx, s01 = t * fy, s10 = 0, s11 = fy;
  double a = d.scale * (co * s00 + si * s10), b = d.scale * (co * s01 + si * s11);
  double c2 = d.scale * (-si * s00 + co * s10), e = d.scale * (-si * s01 + co * s11);
  double cx = (width - 1) / 2.0, cy = (height - 1) / 2.0;
  double tx = d.shift_x * width, ty = d.shift_y * height;
  return {a, b, cx + tx - (a * cx + b * cy), c2, e, cy + ty - (c2 * cx + e * cy)};
}

expected<void> apply_augmentation(const augmentation_draw& d, image_ref image, std::uint8_t* mask,
                                  std::vector<box>* boxes) {
  if (image.width <= 0 || image.height <= 0 || image.channels <= 0 || image.pixels == nullptr) {
    return invalid("augmentation: empty image");
  }
  if (boxes != nullptr && d.turns_boxes()) {
    return invalid("rotation and shear cannot keep boxes exact; set them to 0 for locate tools");
  }
  const int w = image.width, h = image.height;
  const auto m = augmentation_matrix(d, w, h);
  const bool identity = m[0] == 1 && m[1] == 0 && m[2] == 0 && m[3] == 0 && m[4] == 1 && m[5] == 0;
  try {
    cv::Mat matrix(2, 3, CV_64F, const_cast<double*>(m.data()));
    const std::size_t plane = static_cast<std::size_t>(w) * static_cast<std::size_t>(h);
    if (!identity) {
      for (int ch = 0; ch < image.channels; ++ch) {
        cv::Mat src(h, w, CV_8UC1, image.pixels + ch * plane);
        cv::Mat dst;
        cv::warpAffine(src, dst, matrix, src.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT,
                       cv::Scalar(0));
        dst.copyTo(src);
      }
      if (mask != nullptr) {
        cv::Mat src(h, w, CV_8UC1, mask);
        cv::Mat dst;
        cv::warpAffine(src, dst, matrix, src.size(), cv::INTER_NEAREST, cv::BORDER_CONSTANT,
                       cv::Scalar(0));
        dst.copyTo(src);
      }
    }
    // Photometric changes, image only: v' = (v - mean) * contrast + mean + brightness + noise.
    if (d.brightness != 0 || d.contrast != 1 || d.noise > 0) {
      const std::size_t n = plane * static_cast<std::size_t>(image.channels);
      double mean = 0;
      for (std::size_t i = 0; i < n; ++i) mean += image.pixels[i];
      mean /= 255.0 * static_cast<double>(n);
      seeded_rng rng(d.noise_seed);
      for (std::size_t i = 0; i < n; ++i) {
        double v = (image.pixels[i] / 255.0 - mean) * d.contrast + mean + d.brightness;
        if (d.noise > 0) v += d.noise * rng.normal();
        image.pixels[i] = static_cast<std::uint8_t>(std::lround(std::clamp(v, 0.0, 1.0) * 255.0));
      }
    }
  } catch (const cv::Exception& e) {
    return make_failure(error_code::training_failed,
                        std::string("augmentation failed in OpenCV: ") + e.what());
  }
  if (boxes != nullptr && !identity) {
    // Without rotation and shear the matrix is diagonal: corners map to corners exactly. In edge
    // coordinates (pixel i covers [i, i + 1)) the map is p' = A (p - 0.5) + t + 0.5.
    std::vector<box> kept;
    for (const box& b : *boxes) {
      double x0 = m[0] * (b.x - 0.5) + m[2] + 0.5, x1 = m[0] * (b.x + b.width - 0.5) + m[2] + 0.5;
      double y0 = m[4] * (b.y - 0.5) + m[5] + 0.5, y1 = m[4] * (b.y + b.height - 0.5) + m[5] + 0.5;
      if (x0 > x1) std::swap(x0, x1);
      if (y0 > y1) std::swap(y0, y1);
      double area = (x1 - x0) * (y1 - y0);
      double cx0 = std::max(0.0, x0), cy0 = std::max(0.0, y0);
      double cx1 = std::min<double>(w, x1), cy1 = std::min<double>(h, y1);
      if (cx1 <= cx0 || cy1 <= cy0) continue;
      if ((cx1 - cx0) * (cy1 - cy0) < 0.25 * area) continue;
      box out = b;
      out.x = static_cast<float>(cx0);
      out.y = static_cast<float>(cy0);
      out.width = static_cast<float>(cx1 - cx0);
      out.height = static_cast<float>(cy1 - cy0);
      kept.push_back(out);
    }
    *boxes = std::move(kept);
  }
  return {};
}

}  // namespace trainyard
