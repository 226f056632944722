// Bounded image decoding (see image_file.hpp).
#include "deploy/image_file.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <limits>

#include <opencv2/imgcodecs.hpp>

namespace trainyard::deploy {

// Other formats are refused: OpenCV's readers of the rest (TIFF, JPEG 2000, EXR, ...) would each
// need their header parsed here to be bounded too.
std::optional<std::int64_t> declared_pixels(const std::vector<char>& b) {
  const auto byte = [&b](std::size_t i) -> std::uint32_t {
    return i < b.size() ? static_cast<std::uint8_t>(b[i]) : 0u;
  };
  const auto be16 = [&](std::size_t i) { return byte(i) << 8 | byte(i + 1); };
  const auto be32 = [&](std::size_t i) { return be16(i) << 16 | be16(i + 2); };
  const auto le32 = [&](std::size_t i) {
    return byte(i) | byte(i + 1) << 8 | byte(i + 2) << 16 | byte(i + 3) << 24;
  };
  const auto area = [](std::int64_t w, std::int64_t h) {
    const std::int64_t side = std::int64_t{1} << 31;  // no product of two overflows
    return std::min(std::abs(w), side) * std::min(std::abs(h), side);
  };
  if (b.size() >= 24 && byte(0) == 0x89 && byte(1) == 'P' && byte(2) == 'N' && byte(3) == 'G')
    return area(be32(16), be32(20));
  if (b.size() >= 26 && byte(0) == 'B' && byte(1) == 'M') {
    if (le32(14) == 12)  // OS/2's core header: 16-bit sizes
      return area(byte(18) | byte(19) << 8, byte(20) | byte(21) << 8);
    return area(static_cast<std::int32_t>(le32(18)), static_cast<std::int32_t>(le32(22)));
  }
  if (b.size() >= 4 && byte(0) == 0xFF && byte(1) == 0xD8) {
    // JPEG: the markers up to the first start-of-frame, which holds the height and width.
    for (std::size_t i = 2; i + 8 < b.size();) {
      if (byte(i) != 0xFF)
        return std::nullopt;
      const std::uint32_t marker = byte(i + 1);
      if (marker == 0xFF) {
        ++i;
        continue;
      }
      const bool frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 &&
                         marker != 0xCC;
      if (frame)
        return area(be16(i + 5), be16(i + 7));
      if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
        i += 2;
        continue;
      }
      i += 2 + be16(i + 2);
    }
    return std::nullopt;
  }
  if (b.size() >= 3 && byte(0) == 'P' && byte(1) >= '1' && byte(1) <= '7') {
    // PNM: "P5 <width> <height> ..." in text, with comments from '#' to the end of a line.
    std::int64_t numbers[2] = {0, 0};
    std::size_t i = 2;
    for (auto& n : numbers) {
      while (i < b.size() && (std::isspace(static_cast<unsigned char>(b[i])) || b[i] == '#')) {
        if (b[i] == '#')
          while (i < b.size() && b[i] != '\n')
            ++i;
        else
          ++i;
      }
      if (i >= b.size() || !std::isdigit(static_cast<unsigned char>(b[i])))
        return std::nullopt;
      while (i < b.size() && std::isdigit(static_cast<unsigned char>(b[i])) && n < (1LL << 40))
        n = n * 10 + (b[i++] - '0');
    }
    return area(numbers[0], numbers[1]);
  }
  return std::nullopt;
}

cv::Mat decode_bounded(const std::vector<char>& bytes, const std::string& path, int imread_flags,
                       std::string& error) {
  const auto pixels = declared_pixels(bytes);
  if (bytes.empty()) {
    error = "image " + path + " is empty and could not be decoded; remove or replace it";
    return {};
  }
  if (!pixels) {
    error = "image " + path + " could not be decoded: it is not a PNG, JPEG, BMP or PNM file (the "
            "formats trainyard reads); remove or replace it";
    return {};
  }
  if (*pixels > max_decoded_pixels) {
    error = "image " + path + " declares " + std::to_string(*pixels / 1000000) +
            " megapixels, more than trainyard decodes (" +
            std::to_string(max_decoded_pixels / 1000000) +
            ", e.g. 10,000 x 10,000); shrink it, or leave it out";
    return {};
  }
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    error = "image " + path + " is a file of more than 2 GB, more than trainyard decodes; shrink "
            "it, or leave it out";
    return {};
  }
  cv::Mat image;
  try {
    const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8UC1,
                         const_cast<char*>(bytes.data()));
    image = cv::imdecode(buffer, imread_flags);
  } catch (const cv::Exception&) {
    image = cv::Mat();
  }
  if (image.empty())
    error = "image " + path + " could not be decoded; remove or replace it";
  return image;
}

}  // namespace trainyard::deploy
