// Label masks decoded with OpenCV (see masks.hpp). Runs on the training thread or the decoding
// threads it starts; no shared state.
#include "runtime/tasks/common/masks.hpp"

#include <filesystem>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

namespace trainyard {

expected<std::vector<std::uint8_t>> read_mask(const std::string& path, int expected_width,
                                              int expected_height, int label_count) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return make_failure(error_code::dataset_unreadable,
                        "mask " + path + " does not exist; every image of a masks dataset needs "
                        "a label PNG with the same name in the masks folder");
  }
  const std::string form = "; a mask must be an 8-bit single-channel (grayscale) PNG of the "
                           "image's size whose pixel values are label indices";
  cv::Mat mask;
  try {
    mask = cv::imread(path, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    return make_failure(error_code::image_corrupt, "mask " + path + " does not decode: " +
                                                       e.what() + form);
  }
  if (mask.empty()) {
    return make_failure(error_code::image_corrupt, "mask " + path + " does not decode" + form);
  }
  if (mask.type() != CV_8UC1) {
    return make_failure(error_code::image_corrupt,
                        "mask " + path + " has " + std::to_string(mask.channels()) +
                            " channel(s) of " + (mask.depth() == CV_8U ? "8" : "more than 8") +
                            " bits" + form);
  }
  if (mask.cols != expected_width || mask.rows != expected_height) {
    return make_failure(error_code::image_corrupt,
                        "mask " + path + " is " + std::to_string(mask.cols) + "x" +
                            std::to_string(mask.rows) + " pixels but its image is " +
                            std::to_string(expected_width) + "x" +
                            std::to_string(expected_height) + form);
  }
  std::vector<std::uint8_t> out(static_cast<std::size_t>(mask.cols) * mask.rows);
  for (int y = 0; y < mask.rows; ++y) {
    const std::uint8_t* row = mask.ptr<std::uint8_t>(y);
    for (int x = 0; x < mask.cols; ++x) {
      if (row[x] >= label_count) {
        return make_failure(error_code::image_corrupt,
                            "mask " + path + ": pixel (x " + std::to_string(x) + ", y " +
                                std::to_string(y) + ") has the value " + std::to_string(row[x]) +
                                " but the label table declares only 0-" +
                                std::to_string(label_count - 1) +
                                "; add the label to the table or fix the mask");
      }
      out[static_cast<std::size_t>(y) * mask.cols + x] = row[x];
    }
  }
  return out;
}

}  // namespace trainyard
