// Box pictures with OpenCV (see box_drawing.hpp).
#include "runtime/tasks/locate/box_drawing.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace trainyard {

namespace {

// Ten well-separated colours (BGR), repeated for more labels.
cv::Scalar label_colour(int label) {
  static const cv::Scalar palette[] = {
      {48, 48, 255},  {48, 200, 48},  {255, 128, 0}, {0, 220, 255}, {255, 0, 200},
      {255, 255, 0},  {0, 128, 255},  {160, 80, 255}, {128, 255, 128}, {200, 200, 200}};
  const int n = static_cast<int>(sizeof(palette) / sizeof(palette[0]));
  return palette[((label % n) + n) % n];
}

}  // namespace

expected<std::vector<std::uint8_t>> draw_boxes(const std::uint8_t* pixels, int width, int height,
                                               int channels, const std::vector<scored_box>& boxes,
                                               const std::vector<std::string>& labels) {
  if (pixels == nullptr || width <= 0 || height <= 0 || (channels != 1 && channels != 3))
    return make_failure(error_code::invalid_request,
                        "draw_boxes needs a 1- or 3-channel image of positive size");
  try {
    cv::Mat picture;
    const std::size_t plane = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
    if (channels == 1) {
      const cv::Mat gray(height, width, CV_8UC1, const_cast<std::uint8_t*>(pixels));
      cv::cvtColor(gray, picture, cv::COLOR_GRAY2BGR);
    } else {
      // Planar RGB to interleaved BGR.
      std::vector<cv::Mat> planes;
      for (int c = 2; c >= 0; --c) {
        std::uint8_t* channel =
            const_cast<std::uint8_t*>(pixels) + static_cast<std::size_t>(c) * plane;
        planes.emplace_back(height, width, CV_8UC1, channel);
      }
      cv::merge(planes, picture);
    }
    const double font_scale = 0.3;
    for (const scored_box& d : boxes) {
      const int x0 = static_cast<int>(std::lround(d.b.x));
      const int y0 = static_cast<int>(std::lround(d.b.y));
      const int x1 = static_cast<int>(std::lround(d.b.x + d.b.width)) - 1;
      const int y1 = static_cast<int>(std::lround(d.b.y + d.b.height)) - 1;
      if (x1 < x0 || y1 < y0)
        continue;
      const cv::Scalar colour = label_colour(d.b.label);
      cv::rectangle(picture, cv::Point(x0, y0), cv::Point(x1, y1), colour, 1, cv::LINE_8);
      std::string caption = d.b.label >= 0 && static_cast<std::size_t>(d.b.label) < labels.size()
                                ? labels[static_cast<std::size_t>(d.b.label)]
                                : std::to_string(d.b.label);
      if (d.score > 0) {
        char score[16];
        std::snprintf(score, sizeof score, " %.2f", static_cast<double>(d.score));
        caption += score;
      }
      int baseline = 0;
      const cv::Size text =
          cv::getTextSize(caption, cv::FONT_HERSHEY_SIMPLEX, font_scale, 1, &baseline);
      // Above the box when it fits, else just inside its top edge.
      const int text_y = y0 - 2 >= text.height ? y0 - 2 : y0 + text.height + 1;
      cv::putText(picture, caption, cv::Point(x0, text_y), cv::FONT_HERSHEY_SIMPLEX, font_scale,
                  colour, 1, cv::LINE_AA);
    }
    std::vector<std::uint8_t> png;
    if (!cv::imencode(".png", picture, png))
      return make_failure(error_code::image_corrupt, "OpenCV could not encode the boxes as PNG");
    return png;
  } catch (const cv::Exception& e) {
    return make_failure(error_code::image_corrupt,
                        std::string("drawing boxes failed in OpenCV: ") + e.what());
  }
}

}  // namespace trainyard
