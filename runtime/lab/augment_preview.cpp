// The augmentation preview grid with OpenCV (see augment_preview.hpp). Runs on the command's
// thread; images go through the same apply_augmentation as training, so what the grid shows is
// what the model is fed.
#include "runtime/lab/augment_preview.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "runtime/data/annotations.hpp"
#include "runtime/data/dataset_index.hpp"
#include "runtime/data/dataset_readers.hpp"
#include "runtime/core/seeded_rng.hpp"
#include "runtime/tasks/kinds.hpp"
#include "runtime/train/annotation_augment.hpp"
#include "runtime/tasks/common/masks.hpp"

namespace trainyard {

namespace {

/// One dataset image with what annotates it, planar pixels as apply_augmentation takes them.
struct sample {
  int width = 0, height = 0, channels = 1;
  std::vector<std::uint8_t> pixels;
  std::vector<std::uint8_t> mask;  // empty when none
  std::vector<box> boxes;
  bool has_boxes = false;
};

expected<sample> read_sample(const std::string& file, bool colour) {
  cv::Mat image;
  try {
    image = cv::imread(file, colour ? cv::IMREAD_COLOR : cv::IMREAD_GRAYSCALE);
  } catch (const cv::Exception& e) {
    return make_failure(error_code::image_corrupt, "image " + file + " does not decode: " + e.what());
  }
  if (image.empty()) {
    return make_failure(error_code::image_corrupt,
                        "image " + file + " is missing or does not decode; remove or replace it");
  }
  sample s;
  s.width = image.cols;
  s.height = image.rows;
  s.channels = image.channels();
  std::vector<cv::Mat> planes;
  cv::split(image, planes);
  for (const auto& p : planes) s.pixels.insert(s.pixels.end(), p.datastart, p.dataend);
  return s;
}

cv::Scalar label_colour(int label, const std::vector<mask_label>& table) {
  for (const auto& l : table) {
    if (l.index == label) return cv::Scalar(l.b, l.g, l.r);
  }
  std::uint8_t r = 0, g = 0, b = 0;
  default_label_colour(label, r, g, b);
  return cv::Scalar(b, g, r);
}

/// One grid cell: the image fitted into `cell` pixels, the mask blended over it, boxes on top.
cv::Mat render_cell(const sample& s, int cell, const std::vector<mask_label>& table,
                    bool draw_boxes) {
  std::vector<cv::Mat> planes;
  const std::size_t plane = static_cast<std::size_t>(s.width) * s.height;
  for (int c = 0; c < s.channels; ++c) {
    planes.emplace_back(s.height, s.width, CV_8UC1, const_cast<std::uint8_t*>(s.pixels.data() + c * plane));
  }
  cv::Mat image;
  cv::merge(planes, image);
  if (s.channels == 1) cv::cvtColor(image, image, cv::COLOR_GRAY2BGR);
  if (!s.mask.empty()) {
    cv::Mat mask(s.height, s.width, CV_8UC1, const_cast<std::uint8_t*>(s.mask.data()));
    for (int y = 0; y < s.height; ++y) {
      for (int x = 0; x < s.width; ++x) {
        int v = mask.at<std::uint8_t>(y, x);
        if (v == 0) continue;
        cv::Scalar c = label_colour(v, table);
        auto& px = image.at<cv::Vec3b>(y, x);
        for (int k = 0; k < 3; ++k) px[k] = static_cast<std::uint8_t>(0.55 * px[k] + 0.45 * c[k]);
      }
    }
  }
  double f = std::min(static_cast<double>(cell) / s.width, static_cast<double>(cell) / s.height);
  int w = std::max(1, static_cast<int>(std::lround(s.width * f)));
  int h = std::max(1, static_cast<int>(std::lround(s.height * f)));
  cv::Mat fitted;
  cv::resize(image, fitted, cv::Size(w, h), 0, 0, f >= 1 ? cv::INTER_NEAREST : cv::INTER_AREA);
  if (draw_boxes) {
    for (const auto& b : s.boxes) {
      cv::Point p0(static_cast<int>(std::lround(b.x * f)), static_cast<int>(std::lround(b.y * f)));
      cv::Point p1(static_cast<int>(std::lround((b.x + b.width) * f)) - 1,
                   static_cast<int>(std::lround((b.y + b.height) * f)) - 1);
      cv::rectangle(fitted, p0, p1, label_colour(b.label + 1, table), 1);
    }
  }
  cv::Mat out(cell, cell, CV_8UC3, cv::Scalar(40, 40, 40));
  fitted.copyTo(out(cv::Rect((cell - w) / 2, (cell - h) / 2, w, h)));
  return out;
}

}  // namespace

expected<preview_summary> write_augment_preview(const preview_request& r) {
  const tool_kind_info* kind = find_tool_kind(r.kind);
  if (auto ok = check_augmentation(r.augmentation, kind && kind->boxes); !ok) return ok.error();
  if (r.images < 1 || r.samples < 0 || r.cell < 16) {
    return make_failure(error_code::invalid_config, "augment-preview: at least one image, no "
                                                    "negative sample count and cells of 16 pixels or more");
  }
  auto index = load_dataset_index(r.dataset);
  if (!index) return index.error();
  if (index->size() == 0) {
    return make_failure(error_code::dataset_unreadable, "the dataset has no images to preview");
  }
  // The images: distinct, picked with the seed.
  seeded_rng pick(r.seed);
  std::vector<std::size_t> chosen;
  const std::size_t rows = std::min<std::size_t>(static_cast<std::size_t>(r.images), index->size());
  std::set<std::size_t> seen;
  while (chosen.size() < rows) {
    auto i = static_cast<std::size_t>(pick.below(index->size()));
    if (seen.insert(i).second) chosen.push_back(i);
  }
  std::vector<sample> samples;
  std::vector<mask_label> table;
  preview_summary summary;
  if (r.dataset.kind == dataset_kind::fashion_mnist) {
    auto idx = load_idx_images(r.dataset);
    if (!idx) return idx.error();
    for (auto i : chosen) {
      sample s;
      s.width = static_cast<int>(idx->cols);
      s.height = static_cast<int>(idx->rows);
      auto at = idx->pixels.begin() + static_cast<std::ptrdiff_t>(i * idx->cols * idx->rows);
      s.pixels.assign(at, at + idx->cols * idx->rows);
      samples.push_back(std::move(s));
    }
  } else {
    expected<box_dataset> boxes = box_dataset{};
    if (r.dataset.kind == dataset_kind::coco) {
      boxes = load_boxes(r.dataset);
      if (!boxes) return boxes.error();
    }
    if (r.dataset.kind == dataset_kind::masks) {
      auto t = read_label_table(r.dataset.annotations);
      if (!t) return t.error();
      table = *t;
    }
    for (auto i : chosen) {
      auto s = read_sample(index->files[i], r.dataset.color);
      if (!s) return s.error();
      if (r.dataset.kind == dataset_kind::coco) {
        s->boxes = boxes->images[i].boxes;
        s->has_boxes = true;
      }
      if (i < index->mask_files.size() && !index->mask_files[i].empty()) {
        // Anomaly masks mark defects with any non-zero value: shown in the colour of label 1.
        int labels = r.dataset.kind == dataset_kind::masks ? static_cast<int>(table.size()) : 256;
        auto m = read_mask(index->mask_files[i], s->width, s->height, labels);
        if (!m) return m.error();
        s->mask = std::move(*m);
        if (r.dataset.kind == dataset_kind::anomaly) {
          for (auto& v : s->mask) v = v != 0 ? 1 : 0;
        }
      }
      samples.push_back(std::move(*s));
    }
  }

  const int columns = 3 + r.samples, header = 22, cell = r.cell, gap = 4;
  cv::Mat grid(header + static_cast<int>(rows) * (cell + gap), columns * (cell + gap),
               CV_8UC3, cv::Scalar(255, 255, 255));
  for (int c = 0; c < columns; ++c) {
    std::string title = c == 0 ? "original" : c == 1 ? "lower limit" : c == 2 ? "upper limit"
                                                                              : "random " + std::to_string(c - 2);
    cv::putText(grid, title, cv::Point(c * (cell + gap) + 4, 16), cv::FONT_HERSHEY_SIMPLEX, 0.42,
                cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  }
  for (std::size_t row = 0; row < rows; ++row) {
    for (int c = 0; c < columns; ++c) {
      sample s = samples[row];
      if (c > 0) {
        augmentation_draw d =
            c == 1 ? augmentation_limit(r.augmentation, false)
            : c == 2 ? augmentation_limit(r.augmentation, true)
                     : draw_augmentation(r.augmentation, r.seed * 1000003u + row * 64 + static_cast<std::uint64_t>(c));
        // Boxes cannot follow rotation or shear (refused above for locate tools); without them
        // the image is still shown, its boxes left out.
        bool keep_boxes = s.has_boxes && !d.turns_boxes();
        if (!keep_boxes) s.boxes.clear();
        auto ok = apply_augmentation(d, image_ref{s.width, s.height, s.channels, s.pixels.data()},
                                     s.mask.empty() ? nullptr : s.mask.data(),
                                     keep_boxes ? &s.boxes : nullptr);
        if (!ok) return ok.error();
      }
      cv::Mat tile = render_cell(s, cell, table, s.has_boxes);
      tile.copyTo(grid(cv::Rect(c * (cell + gap), header + static_cast<int>(row) * (cell + gap), cell, cell)));
    }
    summary.boxes |= samples[row].has_boxes;
    summary.masks |= !samples[row].mask.empty();
  }
  try {
    if (!cv::imwrite(r.out, grid)) {
      return make_failure(error_code::storage_failed,
                          "could not write " + r.out + "; check the folder exists and is writable");
    }
  } catch (const cv::Exception& e) {
    return make_failure(error_code::storage_failed, "could not write " + r.out + ": " + e.what() +
                                                        " (the file name must end in .png)");
  }
  summary.rows = static_cast<int>(rows);
  summary.columns = columns;
  summary.width = grid.cols;
  summary.height = grid.rows;
  return summary;
}

}  // namespace trainyard
