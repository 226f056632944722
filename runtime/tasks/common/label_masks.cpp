// Label mask and label table reading (label_masks.hpp).
#include "runtime/tasks/common/label_masks.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "runtime/tasks/common/masks.hpp"

namespace trainyard {

namespace {

// An image's width and height: from a PNG's header (its first 24 bytes), else by decoding it.
expected<cv::Size> image_size(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char head[24] = {};
  if (in.read(reinterpret_cast<char*>(head), sizeof(head)) && head[0] == 0x89 &&
      head[1] == 'P' && head[2] == 'N' && head[3] == 'G') {
    auto be32 = [&](int at) {
      return (int(head[at]) << 24) | (int(head[at + 1]) << 16) | (int(head[at + 2]) << 8) |
             int(head[at + 3]);
    };
    return cv::Size(be32(16), be32(20));
  }
  const cv::Mat image = cv::imread(path, cv::IMREAD_UNCHANGED);
  if (image.empty())
    return make_failure(error_code::image_corrupt, "image " + path + " does not decode");
  return image.size();
}

}  // namespace

expected<std::vector<std::uint8_t>> read_label_mask_file(const std::string& path,
                                                         const std::string& image_path,
                                                         int label_count, int width, int height) {
  auto image = image_size(image_path);
  if (!image)
    return image.error();
  auto mask = read_mask(path, image->width, image->height, label_count);
  if (!mask)
    return mask.error();
  if (image->width == width && image->height == height)
    return mask;
  const cv::Mat full(image->height, image->width, CV_8UC1, mask->data());
  cv::Mat sized;
  cv::resize(full, sized, cv::Size(width, height), 0, 0, cv::INTER_NEAREST);
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
