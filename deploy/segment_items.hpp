// The instance stage of a two-stage segment tool, on OpenCV matrices: the items found from the
// U-Net's centre head (centre peaks and offset voting) and their cut-out crops for the item
// classifier. The same arithmetic as `trainyard predict` (find_items and crop_items of the
// training runtime), so that an exported tool names the same items.
// Internal to trainyard_runtime.
#pragma once

#include <vector>

#include <opencv2/core.hpp>

namespace trainyard::deploy {

/// How centres are picked from the centre heatmap (tool.json settings of a segment tool).
struct item_finding {
  float centre_threshold = 0.3f;  ///< a peak scores at least this probability
  int centre_window = 7;          ///< a peak is the maximum of the window around it (odd)
  int most_items = 32;            ///< at most this many centres per image, the best scoring
};

/// The items of one image.
struct found_items {
  cv::Mat parts;                ///< CV_32SC1: each pixel's item number, -1 off items
  std::vector<cv::Rect> boxes;  ///< each item's extent over its pixels, in item order
};

/// Items of one image: the centres are the local maxima of `heat` (CV_32FC1 probabilities) over
/// the window that score at least the threshold, at most `most_items` of the best (the best
/// pixel alone when there is foreground but no such peak); each pixel of `foreground` (CV_8UC1,
/// non-zero on items) joins the centre nearest to where its offset (`offset_x`, `offset_y`,
/// CV_32FC1, in pixels) points. Items that no pixel joined are dropped; numbers have no gaps and
/// follow the centres' order.
found_items find_items(const cv::Mat& foreground, const cv::Mat& heat, const cv::Mat& offset_x,
                       const cv::Mat& offset_y, const item_finding& finding);

/// How an item is framed for the item classifier.
struct item_cropping {
  int size = 28;           ///< side of the square crop, pixels
  float margin = 1.15f;    ///< the crop's side over the item box's longer side
  std::vector<float> background;  ///< per channel: the normalised value of black
};

/// The crops of `items` in one normalised image (`channels` planes of `height` x `width` floats,
/// contiguous): each a square of margin x the box's longer side around the box's centre,
/// resampled bilinearly (pixel centres, outside the image reading the background) to size x size,
/// where only the item's own pixels show and every other pixel reads the background. Returns a
/// 4-d CV_32F blob [items, channels, size, size] (empty when there are no items).
cv::Mat crop_items(const float* image, int channels, int height, int width,
                   const found_items& items, const item_cropping& cropping);

}  // namespace trainyard::deploy
