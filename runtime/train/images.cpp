// Image files with OpenCV (see images.hpp): decoding, resizing, PNG writing, training curves.
// No torch here: this translation unit stays cheap to compile. Runs on the training thread (and
// the decoding threads it starts) or on the caller's thread for predict/evaluate.
#include "runtime/train/images.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "deploy/image_file.hpp"

namespace trainyard {

namespace fs = std::filesystem;

namespace {

// OpenCV's own thread pool would compete with the decoding threads started here and with
// LibTorch's OpenMP threads; small images gain nothing from it. Set once, before first use.
void configure_opencv_threads() {
  static std::once_flag once;
  std::call_once(once, [] { cv::setNumThreads(0); });
}

// Copies an 8-bit Mat (1 or 3 interleaved channels) into planar (channel, row, column) bytes.
void to_planar(const cv::Mat& image, std::uint8_t* out) {
  const int rows = image.rows, cols = image.cols, channels = image.channels();
  const std::size_t plane = static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols);
  for (int r = 0; r < rows; ++r) {
    const std::uint8_t* row = image.ptr<std::uint8_t>(r);
    if (channels == 1) {
      std::copy(row, row + cols, out + static_cast<std::size_t>(r) * cols);
      continue;
    }
    for (int c = 0; c < cols; ++c)
      for (int ch = 0; ch < channels; ++ch)
        out[ch * plane + static_cast<std::size_t>(r) * cols + c] = row[c * channels + ch];
  }
}

expected<void> write_image_atomically(const std::string& path, const cv::Mat& image) {
  // The temporary name keeps the extension: imwrite picks the format from it.
  const fs::path target(path);
  const fs::path temporary =
      target.parent_path() / (target.stem().string() + ".tmp" + target.extension().string());
  try {
    if (!cv::imwrite(temporary.string(), image))
      return make_failure(error_code::storage_failed,
                          "could not write " + path + "; check the folder exists and is writable");
  } catch (const cv::Exception& e) {
    return make_failure(error_code::storage_failed, "could not write " + path + ": " + e.what());
  }
  std::error_code ec;
  fs::rename(temporary, target, ec);
  if (ec)
    return make_failure(error_code::storage_failed,
                        "could not replace " + path + ": " + ec.message());
  return {};
}

}  // namespace

expected<void> decode_image_file(const std::string& path, const image_geometry& geometry,
                                 std::uint8_t* out) {
  // Reading the bytes ourselves (instead of cv::imread) tells a missing or unreadable file apart
  // from one that does not decode: the first is the dataset's problem, the second the image's.
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    const bool exists = fs::exists(path, ec);
    return make_failure(error_code::dataset_unreadable,
                        exists ? "cannot read image " + path + "; check its permissions"
                               : "image " + path +
                                     " is missing; restore it or rescan the dataset folder");
  }
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string error;
  cv::Mat image = deploy::decode_bounded(
    bytes, path, geometry.channels == 3 ? cv::IMREAD_COLOR : cv::IMREAD_GRAYSCALE, error);
  if (image.empty())
    return make_failure(error_code::image_corrupt, error);
  try {
    if (geometry.channels == 3)
      cv::cvtColor(image, image, cv::COLOR_BGR2RGB);
    if (image.cols != geometry.width || image.rows != geometry.height)
      cv::resize(image, image, cv::Size(geometry.width, geometry.height), 0, 0, cv::INTER_AREA);
  } catch (const cv::Exception& e) {
    return make_failure(error_code::image_corrupt,
                        "image " + path + " could not be resized (" + e.what() +
                          "); remove or replace it");
  }
  to_planar(image, out);
  return {};
}

expected<std::vector<std::uint8_t>> decode_image_files(const std::vector<std::string>& files,
                                                       const image_geometry& geometry,
                                                       int threads) {
  configure_opencv_threads();
  std::vector<std::uint8_t> pixels(files.size() * geometry.bytes());
  std::vector<failure> failures(files.size());
  std::atomic<std::size_t> next{0};
  // Every file is attempted even after a failure, so the error names the first bad file in
  // dataset order (the same on every run) and says how many more there are.
  const auto work = [&] {
    for (std::size_t i = next++; i < files.size(); i = next++) {
      auto decoded = decode_image_file(files[i], geometry, pixels.data() + i * geometry.bytes());
      if (!decoded)
        failures[i] = decoded.error();
    }
  };
  const int count = std::clamp(threads, 1, 16);
  std::vector<std::thread> workers;
  for (int t = 1; t < count && static_cast<std::size_t>(t) < files.size(); ++t)
    workers.emplace_back(work);
  work();
  for (auto& w : workers)
    w.join();

  std::size_t failed = 0;
  const failure* first = nullptr;
  for (const failure& f : failures)
    if (f.code != error_code::none) {
      ++failed;
      if (!first)
        first = &f;
    }
  if (first) {
    failure f = *first;
    if (failed > 1)
      f.message += " (and " + std::to_string(failed - 1) + " more images failed)";
    return f;
  }
  return pixels;
}

std::vector<std::uint8_t> resize_images(const std::vector<std::uint8_t>& pixels,
                                        std::int64_t count, const image_geometry& from,
                                        const image_geometry& to) {
  configure_opencv_threads();
  std::vector<std::uint8_t> out(static_cast<std::size_t>(count) * to.bytes());
  const int channels = std::min(from.channels, to.channels);
  for (std::int64_t i = 0; i < count; ++i)
    for (int ch = 0; ch < channels; ++ch) {
      const cv::Mat src(from.height, from.width, CV_8UC1,
                        const_cast<std::uint8_t*>(pixels.data()) + i * from.bytes() +
                            static_cast<std::size_t>(ch) * from.width * from.height);
      cv::Mat dst(to.height, to.width, CV_8UC1,
                  out.data() + i * to.bytes() + static_cast<std::size_t>(ch) * to.width * to.height);
      cv::resize(src, dst, dst.size(), 0, 0, cv::INTER_AREA);
    }
  return out;
}

expected<void> write_png(const std::string& path, const image_geometry& geometry,
                         const std::uint8_t* pixels) {
  const std::size_t plane = static_cast<std::size_t>(geometry.width) * geometry.height;
  cv::Mat image;
  if (geometry.channels == 1) {
    image = cv::Mat(geometry.height, geometry.width, CV_8UC1,
                    const_cast<std::uint8_t*>(pixels)).clone();
  } else {
    // Planar RGB to interleaved BGR, OpenCV's order.
    std::vector<cv::Mat> planes;
    for (int ch = geometry.channels - 1; ch >= 0; --ch)
      planes.emplace_back(geometry.height, geometry.width, CV_8UC1,
                          const_cast<std::uint8_t*>(pixels) + ch * plane);
    cv::merge(planes, image);
  }
  return write_image_atomically(path, image);
}

expected<image_summary> summarize_image(const std::string& path) {
  const cv::Mat image = cv::imread(path, cv::IMREAD_UNCHANGED);
  if (image.empty())
    return make_failure(error_code::image_corrupt, "image " + path + " could not be decoded");
  image_summary summary;
  summary.width = image.cols;
  summary.height = image.rows;
  summary.channels = image.channels();
  cv::Mat bytes;
  image.convertTo(bytes, CV_8U);
  std::unordered_set<std::uint32_t> colors;
  for (int r = 0; r < bytes.rows && colors.size() < 4096; ++r) {
    const std::uint8_t* row = bytes.ptr<std::uint8_t>(r);
    for (int c = 0; c < bytes.cols; ++c) {
      std::uint32_t key = 0;
      for (int ch = 0; ch < bytes.channels(); ++ch)
        key = (key << 8) | row[c * bytes.channels() + ch];
      colors.insert(key);
    }
  }
  summary.distinct_colors = static_cast<int>(std::min<std::size_t>(colors.size(), 4096));
  return summary;
}

namespace {

// Colours (BGR) after matplotlib's defaults, so the curves look familiar.
const cv::Scalar train_color(180, 119, 31);  // blue
const cv::Scalar val_color(14, 127, 255);    // orange
const cv::Scalar acc_color(44, 160, 44);     // green
const cv::Scalar axis_color(60, 60, 60);
const cv::Scalar grid_color(225, 225, 225);

// A round tick interval (1, 2 or 5 times a power of ten) giving about `intervals` intervals.
double nice_step(double span, int intervals) {
  const double raw = span / intervals;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / power;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * power;
}

// As many decimals as the tick interval needs.
std::string tick_label(double v, double step) {
  const int decimals = std::clamp(static_cast<int>(std::ceil(-std::log10(step) - 1e-9)), 0, 4);
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", decimals, v);
  return text;
}

struct series {
  std::string name;
  cv::Scalar color;
  std::vector<double> values;
};

// One chart: axes with ticks and grid, each series as a polyline with point markers, a legend.
void draw_panel(cv::Mat& canvas, const cv::Rect& area, const std::string& y_name,
                const std::vector<int>& iterations, const std::vector<series>& lines, double y_min,
                double y_max, bool legend = true) {
  const int left = area.x + 58, right = area.x + area.width - 14;
  const int top = area.y + 34, bottom = area.y + area.height - 44;
  const int x_first = iterations.front(), x_last = std::max(iterations.back(), x_first + 1);
  if (!(y_max > y_min))
    y_max = y_min + 1;
  // Widen the range to whole tick intervals.
  const double step = nice_step(y_max - y_min, 5);
  y_min = std::floor(y_min / step + 1e-9) * step;
  y_max = std::ceil(y_max / step - 1e-9) * step;
  const int y_ticks = static_cast<int>(std::lround((y_max - y_min) / step));
  const auto px = [&](double it) {
    return left + static_cast<int>(std::lround((it - x_first) / (x_last - x_first) * (right - left)));
  };
  const auto py = [&](double v) {
    const double t = std::clamp((v - y_min) / (y_max - y_min), 0.0, 1.0);
    return bottom - static_cast<int>(std::lround(t * (bottom - top)));
  };
  const int font = cv::FONT_HERSHEY_SIMPLEX;

  // Horizontal grid and y ticks.
  for (int i = 0; i <= y_ticks; ++i) {
    const double v = y_min + step * i;
    const int y = py(v);
    cv::line(canvas, {left, y}, {right, y}, grid_color, 1);
    cv::line(canvas, {left - 4, y}, {left, y}, axis_color, 1);
    cv::putText(canvas, tick_label(v, step), {area.x + 8, y + 4}, font, 0.38, axis_color, 1,
                cv::LINE_AA);
  }
  // x ticks: at most ten labelled iterations.
  const int span = x_last - x_first;
  const int x_step = std::max(1, (span + 9) / 10);
  for (int it = x_first; it <= x_last; it += x_step) {
    const int x = px(it);
    cv::line(canvas, {x, bottom}, {x, bottom + 4}, axis_color, 1);
    const std::string label = std::to_string(it);
    cv::putText(canvas, label, {x - 4 * static_cast<int>(label.size()), bottom + 18}, font, 0.38,
                axis_color, 1, cv::LINE_AA);
  }
  cv::line(canvas, {left, top}, {left, bottom}, axis_color, 1);
  cv::line(canvas, {left, bottom}, {right, bottom}, axis_color, 1);
  cv::putText(canvas, "iteration", {(left + right) / 2 - 30, bottom + 36}, font, 0.45, axis_color, 1,
              cv::LINE_AA);
  cv::putText(canvas, y_name, {left, top - 12}, font, 0.5, axis_color, 1, cv::LINE_AA);

  for (const series& s : lines) {
    std::vector<cv::Point> points;
    for (std::size_t i = 0; i < iterations.size() && i < s.values.size(); ++i)
      if (std::isfinite(s.values[i]))
        points.emplace_back(px(iterations[i]), py(s.values[i]));
    if (points.size() > 1)
      cv::polylines(canvas, points, false, s.color, 2, cv::LINE_AA);
    for (const cv::Point& p : points)
      cv::circle(canvas, p, 3, s.color, cv::FILLED, cv::LINE_AA);
  }
  // Legend in the upper right corner of the plot.
  int y = top + 14;
  for (const series& s : legend ? lines : std::vector<series>{}) {
    const int x = right - 150;
    cv::line(canvas, {x, y - 4}, {x + 22, y - 4}, s.color, 2, cv::LINE_AA);
    cv::putText(canvas, s.name, {x + 28, y}, font, 0.42, axis_color, 1, cv::LINE_AA);
    y += 18;
  }
}

}  // namespace

expected<void> draw_training_curves(const std::vector<curve_point>& points,
                                    const std::string& title, const std::string& path,
                                    const std::string& metric_name) {
  if (points.empty())
    return make_failure(error_code::invalid_request, "no iterations to draw");
  cv::Mat canvas(520, 1000, CV_8UC3, cv::Scalar(255, 255, 255));
  std::vector<int> iterations;
  series train{"training loss", train_color, {}}, val{"validation loss", val_color, {}};
  series acc{metric_name, acc_color, {}};
  double loss_max = 0, acc_min = 1;
  for (const curve_point& p : points) {
    iterations.push_back(p.iteration);
    train.values.push_back(p.train_loss);
    val.values.push_back(p.val_loss);
    acc.values.push_back(p.val_accuracy);
    for (double v : {p.train_loss, p.val_loss})
      if (std::isfinite(v))
        loss_max = std::max(loss_max, v);
    if (std::isfinite(p.val_accuracy))
      acc_min = std::min(acc_min, p.val_accuracy);
  }
  // Accuracy axis from a little below the worst iteration up to 1, so small gains show.
  const double acc_floor = std::max(0.0, acc_min - 0.02);
  try {
    cv::putText(canvas, title, {20, 26}, cv::FONT_HERSHEY_SIMPLEX, 0.6, axis_color, 1, cv::LINE_AA);
    draw_panel(canvas, cv::Rect(0, 30, 500, 490), "loss", iterations, {train, val}, 0,
               loss_max > 0 ? loss_max * 1.02 : 1);
    draw_panel(canvas, cv::Rect(500, 30, 500, 490), metric_name, iterations, {acc},
               acc_floor, 1.0);
  } catch (const cv::Exception& e) {
    return make_failure(error_code::storage_failed, std::string("drawing curves failed: ") + e.what());
  }
  return write_image_atomically(path, canvas);
}

expected<void> draw_curve_overlay(const std::vector<named_curve>& curves,
                                  const std::string& title, const std::string& metric_name,
                                  const std::string& path) {
  // Every curve on the iterations any of them has; a curve without a point there has a gap.
  std::vector<int> iterations;
  for (const named_curve& c : curves)
    iterations.insert(iterations.end(), c.iterations.begin(), c.iterations.end());
  std::sort(iterations.begin(), iterations.end());
  iterations.erase(std::unique(iterations.begin(), iterations.end()), iterations.end());
  if (iterations.empty())
    return make_failure(error_code::invalid_request, "no iterations to draw");
  // matplotlib's tab10 colours (BGR), repeated past ten curves.
  static const cv::Scalar palette[] = {{180, 119, 31}, {14, 127, 255}, {44, 160, 44},
                                       {40, 39, 214},  {189, 103, 148}, {75, 86, 140},
                                       {194, 119, 227}, {127, 127, 127}, {34, 189, 188},
                                       {207, 190, 23}};
  std::vector<series> lines;
  double low = 1;
  for (std::size_t i = 0; i < curves.size(); ++i) {
    series line{curves[i].name, palette[i % 10],
                std::vector<double>(iterations.size(), std::nan(""))};
    for (std::size_t k = 0; k < curves[i].iterations.size() && k < curves[i].values.size(); ++k) {
      const auto at = std::lower_bound(iterations.begin(), iterations.end(),
                                       curves[i].iterations[k]) - iterations.begin();
      line.values[at] = curves[i].values[k];
      if (std::isfinite(curves[i].values[k]))
        low = std::min(low, curves[i].values[k]);
    }
    lines.push_back(std::move(line));
  }
  // The legend goes under the chart, one job a line, so long variant names fit.
  const int chart_height = 480, row = 20;
  cv::Mat canvas(chart_height + 50 + row * static_cast<int>(curves.size()), 1000, CV_8UC3,
                 cv::Scalar(255, 255, 255));
  try {
    cv::putText(canvas, title, {20, 26}, cv::FONT_HERSHEY_SIMPLEX, 0.6, axis_color, 1, cv::LINE_AA);
    draw_panel(canvas, cv::Rect(0, 30, 1000, chart_height), metric_name, iterations, lines,
               std::max(0.0, low - 0.02), 1.0, false);
    int y = 30 + chart_height + 10;
    for (const series& line : lines) {
      cv::line(canvas, {60, y - 4}, {90, y - 4}, line.color, 2, cv::LINE_AA);
      cv::putText(canvas, line.name, {98, y}, cv::FONT_HERSHEY_SIMPLEX, 0.45, axis_color, 1,
                  cv::LINE_AA);
      y += row;
    }
  } catch (const cv::Exception& e) {
    return make_failure(error_code::storage_failed, std::string("drawing curves failed: ") + e.what());
  }
  return write_image_atomically(path, canvas);
}

}  // namespace trainyard
