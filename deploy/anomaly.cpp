// The anomaly kind in trainyard_runtime, as the anomaly tool's predict scores an image:
//   map             squared reconstruction error (channel mean), smoothed by a 3x3 Gaussian
//                   (edges replicated);
//   reconstruction  the mean of the map's highest values (1 in top_share);
//   kNN             the distance from the latent features, average-pooled to at most
//                   feature_cells a side, to the nearest row of the memory bank (bank.bin);
//   pixel kNN       the mean distance from the image's pixels (the 8-bit values / 255, raised
//                   to pixel_power), average-pooled to at most pixel_cells a side and smoothed by
//                   a Gaussian of pixel_sigma cells (edges replicated), to the pixel_neighbours
//                   nearest rows of pixel_bank.bin (tools exported with one);
//   score           (pixel kNN - pixel_knn_mean) / pixel_knn_std + knn_weight * (kNN - knn_mean)
//                   / knn_std + weight * (reconstruction - mean) / std; without a pixel bank,
//                   the kNN term alone with weight 1 and the reconstruction's;
//   label           1 "defect" when the score reaches the tuned threshold, else 0 "good".
#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <limits>

#include "deploy/kind_runtime.hpp"

namespace trainyard::deploy {

namespace {

struct anomaly_settings {
  std::int64_t rows = 0, columns = 0, feature_cells = 4, top_share = 10;
  double knn_mean = 0, knn_std = 1, rec_mean = 0, rec_std = 1, rec_weight = 0;
  bool has_pixels = false;
  std::int64_t pixel_columns = 0, pixel_cells = 32, pixel_neighbours = 1;
  double pixel_power = 1, pixel_sigma = 1, pixel_mean = 0, pixel_std = 1, knn_weight = 1;
  std::vector<double> input_mean, input_std;  ///< the tool's normalisation, per channel
  bool has_threshold = false;
  double threshold = 0;
};

// torch's adaptive average pooling of one [h, w] plane to [ph, pw], appended to `out`.
void adaptive_average(const float* plane, int h, int w, int ph, int pw, std::vector<float>& out) {
  for (int i = 0; i < ph; ++i) {
    const int y0 = i * h / ph, y1 = ((i + 1) * h + ph - 1) / ph;
    for (int j = 0; j < pw; ++j) {
      const int x0 = j * w / pw, x1 = ((j + 1) * w + pw - 1) / pw;
      float sum = 0;
      for (int y = y0; y < y1; ++y)
        for (int x = x0; x < x1; ++x)
          sum += plane[y * w + x];
      out.push_back(sum / static_cast<float>((y1 - y0) * (x1 - x0)));
    }
  }
}

// A Gaussian of `sigma` cells (radius ceil(3 sigma), edges replicated) over one [h, w] plane, in
// place: rows first, then columns, as the anomaly tool smooths its pixel features.
void gaussian_smooth(float* plane, int h, int w, double sigma) {
  const int r = static_cast<int>(std::ceil(3 * sigma));
  std::vector<float> g(static_cast<std::size_t>(2 * r + 1));
  float total = 0;
  for (int d = -r; d <= r; ++d)
    total += g[static_cast<std::size_t>(d + r)] =
        static_cast<float>(std::exp(-static_cast<double>(d * d) / (2 * sigma * sigma)));
  for (float& v : g)
    v /= total;
  std::vector<float> copy(plane, plane + static_cast<std::size_t>(h) * w);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      float v = 0;
      for (int d = -r; d <= r; ++d)
        v += g[static_cast<std::size_t>(d + r)] * copy[y * w + std::clamp(x + d, 0, w - 1)];
      plane[y * w + x] = v;
    }
  copy.assign(plane, plane + static_cast<std::size_t>(h) * w);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      float v = 0;
      for (int d = -r; d <= r; ++d)
        v += g[static_cast<std::size_t>(d + r)] * copy[std::clamp(y + d, 0, h - 1) * w + x];
      plane[y * w + x] = v;
    }
}

// The mean distance from `f` to its `neighbours` nearest rows among the `rows` rows of `bank`
// (all of them when there are fewer). A row is left as soon as its partial sum of squares passes
// the farthest of the nearest so far (the sum only grows): exact, and most rows end after a few
// blocks of 64 values.
double nearest(const std::vector<float>& bank, std::int64_t rows, const std::vector<float>& f,
               std::int64_t neighbours = 1) {
  const auto k = static_cast<std::size_t>(std::max<std::int64_t>(1, std::min(neighbours, rows)));
  std::vector<double> best(k, std::numeric_limits<double>::infinity());  // ascending
  const std::size_t d = f.size();
  for (std::int64_t row = 0; row < rows; ++row) {
    const float* b = bank.data() + static_cast<std::size_t>(row) * d;
    double sum = 0;
    for (std::size_t start = 0; start < d && sum < best.back(); start += 64) {
      const std::size_t end = std::min(d, start + 64);
      for (std::size_t j = start; j < end; ++j) {
        const double diff = static_cast<double>(f[j]) - b[j];
        sum += diff * diff;
      }
    }
    if (sum < best.back()) {
      best.back() = sum;
      std::sort(best.begin(), best.end());
    }
  }
  double total = 0;
  for (double v : best)
    total += std::sqrt(v);
  return total / static_cast<double>(k);
}

class anomaly_runtime final : public kind_runtime {
 public:
  anomaly_runtime(cv::dnn::Net net, std::vector<float> bank, std::vector<float> pixel_bank,
                  const anomaly_settings& s)
      : net_(std::move(net)), bank_(std::move(bank)), pixel_bank_(std::move(pixel_bank)), s_(s) {
    // A pixel is one of 256 values: each one's v / 255 raised to the power, computed once.
    for (std::size_t v = 0; v < pixel_levels_.size(); ++v)
      pixel_levels_[v] = static_cast<float>(std::pow(static_cast<float>(v / 255.0),
                                                     static_cast<float>(s_.pixel_power)));
  }

  void run(const cv::Mat& blob, const std::vector<cv::Size>&,
           std::vector<result*>& results) override {
    net_.setInput(blob, "image");
    std::vector<cv::Mat> outs;
    net_.forward(outs, std::vector<cv::String>{"reconstruction", "features"});
    const cv::Mat& reconstruction = outs[0];
    const cv::Mat& z = outs[1];
    const int c = blob.size[1], h = blob.size[2], w = blob.size[3];
    const int zc = z.size[1], zh = z.size[2], zw = z.size[3];
    const int ph = static_cast<int>(std::min<std::int64_t>(s_.feature_cells, zh));
    const int pw = static_cast<int>(std::min<std::int64_t>(s_.feature_cells, zw));
    const std::size_t plane = static_cast<std::size_t>(h) * w;
    for (std::size_t i = 0; i < results.size(); ++i) {
      result& r = *results[i];
      // The per-pixel error, channel mean.
      cv::Mat error(h, w, CV_32F, cv::Scalar(0));
      const float* x = blob.ptr<float>() + i * c * plane;
      const float* y = reconstruction.ptr<float>() + i * c * plane;
      float* e = error.ptr<float>();
      for (int ch = 0; ch < c; ++ch)
        for (std::size_t p = 0; p < plane; ++p) {
          const float d = y[ch * plane + p] - x[ch * plane + p];
          e[p] += d * d;
        }
      error /= static_cast<float>(c);
      r.anomaly_map = smooth(error);
      // The mean of the top values.
      std::vector<float> values(r.anomaly_map.ptr<float>(), r.anomaly_map.ptr<float>() + plane);
      const std::size_t top =
          std::max<std::size_t>(1, plane / static_cast<std::size_t>(s_.top_share));
      std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(top - 1),
                       values.end(), std::greater<float>());
      double sum = 0;
      for (std::size_t k = 0; k < top; ++k)
        sum += values[k];
      const double rec = sum / static_cast<double>(top);
      // A term of weight 0 adds nothing: its pooling and search are skipped.
      r.score = s_.rec_weight * (rec - s_.rec_mean) / s_.rec_std;
      if (s_.knn_weight != 0) {
        // Pooled features and their nearest bank row.
        std::vector<float> features;
        const float* zi = z.ptr<float>() + i * zc * zh * zw;
        for (int ch = 0; ch < zc; ++ch)
          adaptive_average(zi + static_cast<std::size_t>(ch) * zh * zw, zh, zw, ph, pw, features);
        r.score += s_.knn_weight * (nearest(bank_, s_.rows, features) - s_.knn_mean) / s_.knn_std;
      }
      if (s_.has_pixels)
        r.score += (nearest(pixel_bank_, s_.rows, pixel_features(x, c, h, w),
                            s_.pixel_neighbours) -
                    s_.pixel_mean) /
                   s_.pixel_std;
      r.label = s_.has_threshold && r.score >= s_.threshold ? 1 : 0;
      r.label_name = r.label == 1 ? "defect" : "good";
    }
  }

 private:
  // A 3x3 [1 2 1]^T [1 2 1] / 16 smoothing with replicated edges.
  static cv::Mat smooth(const cv::Mat& m) {
    cv::Mat padded, out(m.size(), CV_32F);
    cv::copyMakeBorder(m, padded, 1, 1, 1, 1, cv::BORDER_REPLICATE);
    static const float k[3] = {1.f / 4, 2.f / 4, 1.f / 4};
    for (int y = 0; y < m.rows; ++y)
      for (int x = 0; x < m.cols; ++x) {
        float v = 0;
        for (int dy = 0; dy < 3; ++dy)
          for (int dx = 0; dx < 3; ++dx)
            v += k[dy] * k[dx] * padded.at<float>(y + dy, x + dx);
        out.at<float>(y, x) = v;
      }
    return out;
  }

  // The normalised image [c, h, w] as a pixel bank row: each channel's 8-bit values (undoing
  // the normalisation and rounding gives them back exactly) / 255 raised to the power, pooled,
  // then smoothed.
  std::vector<float> pixel_features(const float* x, int c, int h, int w) const {
    const int ph = static_cast<int>(std::min<std::int64_t>(s_.pixel_cells, h));
    const int pw = static_cast<int>(std::min<std::int64_t>(s_.pixel_cells, w));
    const std::size_t plane = static_cast<std::size_t>(h) * w;
    std::vector<float> out, pixels(plane);
    out.reserve(static_cast<std::size_t>(c) * ph * pw);
    for (int ch = 0; ch < c; ++ch) {
      const float* in = x + static_cast<std::size_t>(ch) * plane;
      for (std::size_t p = 0; p < plane; ++p) {
        const double value =
            std::clamp(std::round((in[p] * s_.input_std[static_cast<std::size_t>(ch)] +
                                   s_.input_mean[static_cast<std::size_t>(ch)]) *
                                  255.0),
                       0.0, 255.0);
        pixels[p] = pixel_levels_[static_cast<std::size_t>(value)];
      }
      adaptive_average(pixels.data(), h, w, ph, pw, out);
      gaussian_smooth(out.data() + static_cast<std::size_t>(ch) * ph * pw, ph, pw, s_.pixel_sigma);
    }
    return out;
  }

  cv::dnn::Net net_;
  std::vector<float> bank_, pixel_bank_;
  anomaly_settings s_;
  std::array<float, 256> pixel_levels_{};  ///< pixel_levels_[v] = (v / 255)^pixel_power
};

// Reads a memory bank of rows x columns float32 values from `path` into `bank`; false with
// `error` set when the file is missing or holds another number of values.
bool read_bank(const std::string& path, std::int64_t rows, std::int64_t columns,
               std::vector<float>& bank, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  bank.resize(static_cast<std::size_t>(rows * columns));
  in.read(reinterpret_cast<char*>(bank.data()),
          static_cast<std::streamsize>(bank.size() * sizeof(float)));
  if (in && in.peek() == std::char_traits<char>::eof())
    return true;
  error = path + (std::ifstream(path) ? " does not hold the memory bank of " +
                                            std::to_string(rows) + " x " +
                                            std::to_string(columns) +
                                            " floats tool.json announces (truncated?)"
                                      : " is missing") +
          "; export the tool again";
  return false;
}

}  // namespace

std::unique_ptr<kind_runtime> make_anomaly_runtime(const tool_description& tool,
                                                   std::string& error) {
  anomaly_settings s;
  std::string bank_file, pixel_file;
  try {
    const nlohmann::json& j = tool.settings;
    bank_file = j.at("bank_file").get<std::string>();
    s.rows = number_as<std::int64_t>(j.at("bank_rows"));
    s.columns = number_as<std::int64_t>(j.at("bank_columns"));
    s.feature_cells = number_as<std::int64_t>(j.at("feature_cells"));
    s.top_share = number_as<std::int64_t>(j.at("top_share"));
    s.knn_mean = j.at("knn_mean").get<double>();
    s.knn_std = j.at("knn_std").get<double>();
    s.rec_mean = j.at("reconstruction_mean").get<double>();
    s.rec_std = j.at("reconstruction_std").get<double>();
    s.rec_weight = j.at("reconstruction_weight").get<double>();
    s.has_pixels = j.contains("pixel_bank_file");
    if (s.has_pixels) {
      pixel_file = j.at("pixel_bank_file").get<std::string>();
      s.pixel_columns = number_as<std::int64_t>(j.at("pixel_bank_columns"));
      s.pixel_cells = number_as<std::int64_t>(j.at("pixel_cells"));
      s.pixel_sigma = j.at("pixel_sigma").get<double>();
      s.pixel_mean = j.at("pixel_knn_mean").get<double>();
      s.pixel_std = j.at("pixel_knn_std").get<double>();
      s.knn_weight = j.at("knn_weight").get<double>();
      s.pixel_power = j.at("pixel_power").get<double>();
      s.pixel_neighbours = number_as<std::int64_t>(j.at("pixel_neighbours"));
      s.input_mean = tool.normalization_mean;
      s.input_std = tool.normalization_std;
    }
    s.has_threshold = !j.at("threshold").is_null();
    if (s.has_threshold)
      s.threshold = j.at("threshold").get<double>();
  } catch (const std::exception& e) {  // json::exception, or number_as's out_of_range
    error = tool.folder + "/tool.json lacks the anomaly settings (" + e.what() +
            "); export the tool again";
    return nullptr;
  }
  if (s.rows < 1 || s.columns < 1 || s.top_share < 1 || s.feature_cells < 1 ||
      !(s.knn_std > 0) || !(s.rec_std > 0) ||
      (s.has_pixels &&
       (s.pixel_cells < 1 || !(s.pixel_sigma > 0) || !(s.pixel_power > 0) ||
        s.pixel_power > 1 || s.pixel_neighbours < 1 || s.pixel_neighbours > s.rows ||
        s.pixel_sigma > static_cast<double>(s.pixel_cells) || !(s.pixel_std > 0) ||
        // A pixel row holds every channel's pooled cells: the search reads that many values.
        s.pixel_columns != static_cast<std::int64_t>(tool.info.channels) *
                               std::min<std::int64_t>(s.pixel_cells, tool.info.height) *
                               std::min<std::int64_t>(s.pixel_cells, tool.info.width)))) {
    error = tool.folder + "/tool.json has impossible anomaly settings; export the tool again";
    return nullptr;
  }
  std::vector<float> bank, pixel_bank;
  if (!read_bank(tool.folder + "/" + bank_file, s.rows, s.columns, bank, error) ||
      (s.has_pixels &&
       !read_bank(tool.folder + "/" + pixel_file, s.rows, s.pixel_columns, pixel_bank, error)))
    return nullptr;
  cv::dnn::Net net = load_network(tool, tool.settings.value("model_file", ""), error);
  if (net.empty())
    return nullptr;
  return std::make_unique<anomaly_runtime>(std::move(net), std::move(bank), std::move(pixel_bank),
                                           s);
}

}  // namespace trainyard::deploy
