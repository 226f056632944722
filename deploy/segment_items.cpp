// Items of a two-stage segment tool and their crops (see segment_items.hpp). The arithmetic is
// float and in the order of the training runtime's tensors (find_items, crop_boxes: affine_grid
// then grid_sample, bilinear, align_corners off, zeros outside), so both give the same numbers.
#include "deploy/segment_items.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <opencv2/imgproc.hpp>

namespace trainyard::deploy {

namespace {

/// Raster indices of the centres: the window's maxima scoring at least the threshold, the best
/// `most_items` of them (best first) when there are more; the best pixel when there is none.
std::vector<int> find_centres(const cv::Mat& heat, const item_finding& finding) {
  cv::Mat peaks;
  // Dilation is the window's maximum; outside the image counts as lower than anything.
  cv::dilate(heat, peaks,
             cv::getStructuringElement(cv::MORPH_RECT,
                                       cv::Size(finding.centre_window, finding.centre_window)),
             cv::Point(-1, -1), 1, cv::BORDER_CONSTANT,
             cv::Scalar::all(-std::numeric_limits<double>::infinity()));
  const int count = static_cast<int>(heat.total());
  const float* s = heat.ptr<float>();
  const float* top = peaks.ptr<float>();
  std::vector<int> centres;
  for (int k = 0; k < count; ++k)
    if (s[k] == top[k] && s[k] >= finding.centre_threshold)
      centres.push_back(k);
  if (centres.empty())
    centres.push_back(static_cast<int>(std::max_element(s, s + count) - s));
  if (static_cast<int>(centres.size()) > finding.most_items) {
    std::stable_sort(centres.begin(), centres.end(), [s](int a, int b) { return s[a] > s[b]; });
    centres.resize(static_cast<std::size_t>(finding.most_items));
  }
  return centres;
}

/// Torch's linspace(-1, 1, n) scaled by (n - 1) / n: the crop's pixel centres in [-1, 1]
/// (affine_grid without align_corners).
std::vector<float> base_grid(int n) {
  std::vector<float> v(static_cast<std::size_t>(n), 0.0f);
  if (n <= 1)
    return v;
  const float step = 2.0f / static_cast<float>(n - 1);
  for (int j = 0; j < n; ++j) {
    const float at = j < n / 2 ? -1.0f + step * static_cast<float>(j)
                               : 1.0f - step * static_cast<float>(n - j - 1);
    v[static_cast<std::size_t>(j)] = at * static_cast<float>(n - 1) / static_cast<float>(n);
  }
  return v;
}

}  // namespace

found_items find_items(const cv::Mat& foreground, const cv::Mat& heat, const cv::Mat& offset_x,
                       const cv::Mat& offset_y, const item_finding& finding) {
  const int h = heat.rows, w = heat.cols;
  found_items out;
  out.parts = cv::Mat(h, w, CV_32SC1, cv::Scalar(-1));
  if (cv::countNonZero(foreground) == 0)
    return out;
  const std::vector<int> centres = find_centres(heat, finding);
  std::vector<float> cx, cy;
  for (const int c : centres) {
    cx.push_back(static_cast<float>(c % w));
    cy.push_back(static_cast<float>(c / w));
  }
  // Each pixel's centre, then the centres that gathered pixels numbered in the centres' order.
  std::vector<int> joined(centres.size(), 0);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      if (foreground.at<std::uint8_t>(y, x) == 0)
        continue;
      const float vx = static_cast<float>(x) + offset_x.at<float>(y, x);
      const float vy = static_cast<float>(y) + offset_y.at<float>(y, x);
      std::size_t best = 0;
      float nearest = std::numeric_limits<float>::infinity();
      for (std::size_t k = 0; k < centres.size(); ++k) {
        const float dx = vx - cx[k], dy = vy - cy[k];
        const float d = dx * dx + dy * dy;
        if (d < nearest) {
          nearest = d;
          best = k;
        }
      }
      out.parts.at<int>(y, x) = static_cast<int>(best);
      ++joined[best];
    }
  std::vector<int> number(centres.size(), -1);
  for (std::size_t k = 0; k < centres.size(); ++k)
    if (joined[k] > 0) {
      number[k] = static_cast<int>(out.boxes.size());
      out.boxes.emplace_back();
    }
  std::vector<cv::Point> low(out.boxes.size(), cv::Point(w, h)), high(out.boxes.size());
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      int& p = out.parts.at<int>(y, x);
      if (p < 0)
        continue;
      p = number[static_cast<std::size_t>(p)];
      const auto i = static_cast<std::size_t>(p);
      low[i] = cv::Point(std::min(low[i].x, x), std::min(low[i].y, y));
      high[i] = cv::Point(std::max(high[i].x, x), std::max(high[i].y, y));
    }
  for (std::size_t i = 0; i < out.boxes.size(); ++i)
    out.boxes[i] = cv::Rect(low[i], high[i] + cv::Point(1, 1));
  return out;
}

cv::Mat crop_items(const float* image, int channels, int height, int width,
                   const found_items& items, const item_cropping& cropping) {
  const int m = static_cast<int>(items.boxes.size()), n = cropping.size;
  if (m == 0)
    return cv::Mat();
  const int dims[] = {m, channels, n, n};
  cv::Mat crops(4, dims, CV_32F);
  const std::vector<float> base = base_grid(n);
  const float fw = static_cast<float>(width), fh = static_cast<float>(height);
  for (int i = 0; i < m; ++i) {
    const cv::Rect& b = items.boxes[static_cast<std::size_t>(i)];
    const float bw = static_cast<float>(b.width), bh = static_cast<float>(b.height);
    const float side = std::max(cropping.margin * std::max(bw, bh), 1.0f);
    const float cx = static_cast<float>(b.x) + bw / 2, cy = static_cast<float>(b.y) + bh / 2;
    // The affine map of the crop's [-1, 1] square onto the image's (affine_grid's theta).
    const float ax = side / fw, bx = 2 * cx / fw - 1, ay = side / fh, by = 2 * cy / fh - 1;
    for (int c = 0; c < channels; ++c) {
      const float ground = cropping.background[static_cast<std::size_t>(c)];
      const float* plane = image + static_cast<std::size_t>(c) * height * width;
      // The item's own pixels less the background; every other pixel, and outside, reads 0.
      auto value = [&](int x, int y) {
        if (x < 0 || y < 0 || x >= width || y >= height ||
            items.parts.at<int>(y, x) != i)
          return 0.0f;
        return plane[static_cast<std::size_t>(y) * width + x] - ground;
      };
      float* out = crops.ptr<float>(i, c);
      for (int r = 0; r < n; ++r)
        for (int col = 0; col < n; ++col) {
          const float gx = base[static_cast<std::size_t>(col)] * ax + bx;
          const float gy = base[static_cast<std::size_t>(r)] * ay + by;
          // grid_sample's source pixel and its distances to the four neighbours.
          const float ix = (gx + 1) * (fw / 2) - 0.5f, iy = (gy + 1) * (fh / 2) - 0.5f;
          const float x0 = std::floor(ix), y0 = std::floor(iy);
          const float wgt = ix - x0, e = 1 - wgt, nn = iy - y0, s = 1 - nn;
          const int xi = static_cast<int>(x0), yi = static_cast<int>(y0);
          const float v = value(xi, yi) * (s * e) + value(xi + 1, yi) * (s * wgt) +
                          value(xi, yi + 1) * (nn * e) + value(xi + 1, yi + 1) * (nn * wgt);
          out[r * n + col] = v + ground;
        }
    }
  }
  return crops;
}

}  // namespace trainyard::deploy
