// Label mask and label table reading (label_masks.hpp).
#include "runtime/tasks/common/label_masks.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace trainyard {

expected<std::vector<std::uint8_t>> read_label_mask_file(const std::string& path, int width,
                                                         int height) {
  if (!std::filesystem::exists(path))
    return make_failure(error_code::dataset_unreadable,
                        "label mask " + path + " is missing; every image of a masks dataset "
                        "needs a mask PNG with the same file stem");
  const cv::Mat mask = cv::imread(path, cv::IMREAD_UNCHANGED);
  if (mask.empty() || mask.depth() != CV_8U || mask.channels() != 1)
    return make_failure(error_code::image_corrupt,
                        "label mask " + path + " is not an 8-bit single-channel PNG of label "
                        "indices; rewrite it as one (pixel value = label)");
  cv::Mat sized = mask;
  if (mask.cols != width || mask.rows != height)
    cv::resize(mask, sized, cv::Size(width, height), 0, 0, cv::INTER_NEAREST);
  std::vector<std::uint8_t> out(static_cast<std::size_t>(width) * height);
  for (int r = 0; r < height; ++r) {
    const std::uint8_t* row = sized.ptr<std::uint8_t>(r);
    std::copy(row, row + width, out.begin() + static_cast<std::ptrdiff_t>(r) * width);
  }
  return out;
}

expected<std::vector<label_entry>> read_label_entries(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return make_failure(error_code::dataset_unreadable,
                        "label table " + path + " cannot be read; check the dataset's "
                        "annotations path");
  std::vector<label_entry> out;
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (auto hash = line.find('#'); hash != std::string::npos)
      line.erase(hash);
    std::istringstream fields(line);
    label_entry e;
    if (!(fields >> e.index))
      continue;  // blank or comment
    if (!(fields >> e.name) || e.index < 0 || e.index > 255)
      return make_failure(error_code::invalid_config,
                          path + ":" + std::to_string(number) +
                              ": expected \"INDEX NAME [R G B]\" with INDEX 0..255");
    int r, g, b;
    if (fields >> r >> g >> b) {
      e.r = r;
      e.g = g;
      e.b = b;
    }
    out.push_back(e);
  }
  return out;
}

}  // namespace trainyard
