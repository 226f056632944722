// The locate tool's post-processing on OpenCV arrays (see locate_boxes.hpp). Every step follows
// its LibTorch counterpart operation for operation, in float, so the boxes and scores agree to
// rounding.
#include "deploy/locate_boxes.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>

namespace trainyard::deploy {

namespace {

// The sizes of a 4-d Mat.
struct dims4 {
  int n, c, h, w;
};

dims4 dims_of(const cv::Mat& m) {
  CV_Assert(m.dims == 4 && m.type() == CV_32F && m.isContinuous());
  return dims4{m.size[0], m.size[1], m.size[2], m.size[3]};
}

// Each value's logistic, as torch::sigmoid computes it in float.
std::vector<float> sigmoid_of(const cv::Mat& logits) {
  const auto* v = logits.ptr<float>();
  std::vector<float> out(logits.total());
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = 1.0f / (1.0f + std::exp(-v[i]));
  return out;
}

// Whether plane[y][x] is the maximum of its 3x3 neighbourhood (cells outside do not count), as
// comparing with a 3x3 max-pooling of stride 1 and padding 1 tells.
bool is_peak(const float* plane, int h, int w, int y, int x) {
  const float v = plane[y * w + x];
  for (int yy = std::max(0, y - 1); yy <= std::min(h - 1, y + 1); ++yy)
    for (int xx = std::max(0, x - 1); xx <= std::min(w - 1, x + 1); ++xx)
      if (plane[yy * w + xx] > v)
        return false;
  return true;
}

// One image's candidate peaks, best first (equal scores by cell order), at most `k`: (index
// over channel, row and column; score).
std::vector<std::pair<int, float>> best_peaks(const float* heat, const dims4& d, float threshold,
                                              int k) {
  std::vector<std::pair<int, float>> peaks;
  const int plane = d.h * d.w;
  for (int c = 0; c < d.c; ++c)
    for (int y = 0; y < d.h; ++y)
      for (int x = 0; x < d.w; ++x) {
        const float v = heat[c * plane + y * d.w + x];
        if (v > 0 && v >= threshold && is_peak(heat + c * plane, d.h, d.w, y, x))
          peaks.emplace_back(c * plane + y * d.w + x, v);
      }
  const auto better = [](const std::pair<int, float>& a, const std::pair<int, float>& b) {
    return a.second > b.second || (a.second == b.second && a.first < b.first);
  };
  if (peaks.size() > static_cast<std::size_t>(k)) {
    std::partial_sort(peaks.begin(), peaks.begin() + k, peaks.end(), better);
    peaks.resize(static_cast<std::size_t>(k));
  } else {
    std::sort(peaks.begin(), peaks.end(), better);
  }
  return peaks;
}

// The centre of output cell `j` of `steps` in [-1, 1], as affine_grid computes it without
// align_corners: linspace(-1, 1, steps) (its two halves counted from either end) x (steps - 1) /
// steps.
float grid_coordinate(int j, int steps) {
  if (steps <= 1)
    return 0;
  const float step = 2.0f / static_cast<float>(steps - 1);
  const float v = j < steps / 2 ? -1.0f + step * static_cast<float>(j)
                                : 1.0f - step * static_cast<float>(steps - j - 1);
  return v * static_cast<float>(steps - 1) / static_cast<float>(steps);
}

// One crop: `out` [C, crop, crop] sampled from `image` [C, height, width] bilinearly, as
// affine_grid then grid_sample (align_corners off, zero padding) do with this box's transform.
void crop_one(const float* image, int channels, int height, int width, const found_box& b,
              int crop, float margin, float* out) {
  const float side = std::max(margin * std::max(b.width, b.height), 1.0f);
  const float cx = b.x + b.width / 2, cy = b.y + b.height / 2;
  const float fw = static_cast<float>(width), fh = static_cast<float>(height);
  const float ax = side / fw, bx = 2 * cx / fw - 1, ay = side / fh, by = 2 * cy / fh - 1;
  const auto at = [&](int c, int y, int x) -> float {
    return x >= 0 && x < width && y >= 0 && y < height ? image[(c * height + y) * width + x] : 0;
  };
  for (int i = 0; i < crop; ++i) {
    // The output cell's centre through the transform, back to source pixels.
    const float iy = (ay * grid_coordinate(i, crop) + by + 1) * (fh / 2) - 0.5f;
    const float y0 = std::floor(iy), ty = iy - y0;
    for (int j = 0; j < crop; ++j) {
      const float ix = (ax * grid_coordinate(j, crop) + bx + 1) * (fw / 2) - 0.5f;
      const float x0 = std::floor(ix), tx = ix - x0;
      const float nw = (1 - tx) * (1 - ty), ne = tx * (1 - ty);
      const float sw = (1 - tx) * ty, se = tx * ty;
      const int xi = static_cast<int>(x0), yi = static_cast<int>(y0);
      for (int c = 0; c < channels; ++c)
        out[(c * crop + i) * crop + j] = at(c, yi, xi) * nw + at(c, yi, xi + 1) * ne +
                                         at(c, yi + 1, xi) * sw + at(c, yi + 1, xi + 1) * se;
    }
  }
}

}  // namespace

float box_iou(const found_box& a, const found_box& b) {
  const float ix = std::min(a.x + a.width, b.x + b.width) - std::max(a.x, b.x);
  const float iy = std::min(a.y + a.height, b.y + b.height) - std::max(a.y, b.y);
  const float inter = ix > 0 && iy > 0 ? ix * iy : 0.0f;
  const float area_a = std::max(a.width, 0.0f) * std::max(a.height, 0.0f);
  const float area_b = std::max(b.width, 0.0f) * std::max(b.height, 0.0f);
  const float uni = area_a + area_b - inter;
  return uni > 0 ? inter / uni : 0.0f;
}

std::vector<found_box> suppress_overlaps(std::vector<found_box> boxes, float iou,
                                         int max_objects) {
  std::stable_sort(boxes.begin(), boxes.end(),
                   [](const found_box& a, const found_box& b) { return a.score > b.score; });
  std::vector<found_box> kept;
  for (const found_box& candidate : boxes) {
    if (max_objects > 0 && kept.size() >= static_cast<std::size_t>(max_objects))
      break;
    const bool suppressed = std::any_of(kept.begin(), kept.end(), [&](const found_box& k) {
      return k.label == candidate.label && box_iou(k, candidate) > iou;
    });
    if (!suppressed)
      kept.push_back(candidate);
  }
  return kept;
}

std::vector<std::vector<found_box>> decode_boxes(const cv::Mat& heatmap, const cv::Mat& size,
                                                 const cv::Mat& offset, const box_decoding& d) {
  const dims4 hd = dims_of(heatmap), sd = dims_of(size), od = dims_of(offset);
  CV_Assert(sd.n == hd.n && od.n == hd.n && sd.c == 2 && od.c == 2 && sd.h == hd.h &&
            od.h == hd.h && sd.w == hd.w && od.w == hd.w);
  const std::vector<float> heat = sigmoid_of(heatmap);
  const int plane = hd.h * hd.w;
  const int all = hd.c * plane;
  const int k = d.max_objects > 0 ? std::min(d.max_objects, all) : all;
  const float stride = static_cast<float>(d.stride);
  const float right = static_cast<float>(hd.w) * stride, bottom = static_cast<float>(hd.h) * stride;
  std::vector<std::vector<found_box>> out(static_cast<std::size_t>(hd.n));
  for (int i = 0; i < hd.n; ++i) {
    const float* s = size.ptr<float>() + static_cast<std::size_t>(i) * 2 * plane;
    const float* o = offset.ptr<float>() + static_cast<std::size_t>(i) * 2 * plane;
    std::vector<found_box> found;
    for (const auto& [index, score] :
         best_peaks(heat.data() + static_cast<std::size_t>(i) * all, hd, d.threshold, k)) {
      const int cell = index % plane, y = cell / hd.w, x = cell % hd.w;
      const float cx = (static_cast<float>(x) + o[cell]) * stride;
      const float cy = (static_cast<float>(y) + o[plane + cell]) * stride;
      const float bw = std::max(0.0f, s[cell]) * stride;
      const float bh = std::max(0.0f, s[plane + cell]) * stride;
      const float x0 = std::clamp(cx - bw / 2, 0.0f, right);
      const float x1 = std::clamp(cx + bw / 2, 0.0f, right);
      const float y0 = std::clamp(cy - bh / 2, 0.0f, bottom);
      const float y1 = std::clamp(cy + bh / 2, 0.0f, bottom);
      found_box b;
      b.label = index / plane;
      b.x = x0;
      b.y = y0;
      b.width = x1 - x0;
      b.height = y1 - y0;
      b.score = score;
      found.push_back(b);
    }
    out[static_cast<std::size_t>(i)] =
        suppress_overlaps(std::move(found), d.nms_iou, d.max_objects);
  }
  return out;
}

cv::Mat crop_boxes(const cv::Mat& images, const std::vector<std::vector<found_box>>& boxes,
                   int crop, float margin) {
  const dims4 d = dims_of(images);
  CV_Assert(boxes.size() <= static_cast<std::size_t>(d.n));
  int m = 0;
  for (const auto& image : boxes)
    m += static_cast<int>(image.size());
  if (m == 0)
    return {};
  const int sizes[] = {m, d.c, crop, crop};
  cv::Mat out(4, sizes, CV_32F);
  const std::size_t image_values = static_cast<std::size_t>(d.c) * d.h * d.w;
  const std::size_t crop_values = static_cast<std::size_t>(d.c) * crop * crop;
  int row = 0;
  for (std::size_t i = 0; i < boxes.size(); ++i)
    for (const found_box& b : boxes[i])
      crop_one(images.ptr<float>() + i * image_values, d.c, d.h, d.w, b, crop, margin,
               out.ptr<float>() + static_cast<std::size_t>(row++) * crop_values);
  return out;
}

std::vector<std::vector<found_box>> label_boxes(const std::vector<std::vector<found_box>>& boxes,
                                                const cv::Mat& probabilities,
                                                int labels_per_box, const box_decoding& d) {
  const int classes = probabilities.cols;
  const int k = std::min(labels_per_box, classes);
  std::vector<int> order(static_cast<std::size_t>(classes));
  std::vector<std::vector<found_box>> out(boxes.size());
  int row = 0;
  for (std::size_t i = 0; i < boxes.size(); ++i) {
    std::vector<found_box>& labelled = out[i];
    for (const found_box& b : boxes[i]) {
      const float* p = probabilities.ptr<float>(row++);
      std::iota(order.begin(), order.end(), 0);
      std::partial_sort(order.begin(), order.begin() + k, order.end(),
                        [p](int a, int c) { return p[a] > p[c] || (p[a] == p[c] && a < c); });
      for (int j = 0; j < k; ++j) {
        const float score = b.score * p[order[static_cast<std::size_t>(j)]];
        if (score < d.threshold)
          break;  // sorted: the rest are lower
        found_box l = b;
        l.label = order[static_cast<std::size_t>(j)];
        l.score = score;
        labelled.push_back(l);
      }
    }
    std::stable_sort(labelled.begin(), labelled.end(),
                     [](const found_box& a, const found_box& b) { return a.score > b.score; });
    if (d.max_objects > 0 && labelled.size() > static_cast<std::size_t>(d.max_objects))
      labelled.resize(static_cast<std::size_t>(d.max_objects));
  }
  return out;
}

}  // namespace trainyard::deploy
