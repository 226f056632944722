// Image files decoded within a bound. OpenCV allocates the pixels an image's header declares before
// it reads them (a 62-byte BMP can ask for 1.2 GB), and its own bound (OPENCV_IO_MAX_IMAGE_PIXELS)
// is read when the library loads, too early to lower from a program. So the size a PNG, JPEG, BMP
// or PNM header declares is read first, and only those formats are decoded. Training (folder
// datasets, predict) and trainyard_runtime (tool::run_files) both decode through here, so a file
// one refuses the other refuses too, with the same words.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

namespace trainyard::deploy {

/// The most pixels a decoded image may have (10,000 x 10,000).
inline constexpr std::int64_t max_decoded_pixels = 100000000;

/// Width x height as the header of a PNG, JPEG, BMP or PNM file declares it; nullopt for another
/// format or a header too short to say.
std::optional<std::int64_t> declared_pixels(const std::vector<char>& bytes);

/// Decodes `bytes`, the whole of the file `path`, with cv::imdecode and `imread_flags`, once its
/// header declares at most max_decoded_pixels. An empty Mat when it does not, when it is not a
/// PNG, JPEG, BMP or PNM file, or when it does not decode; `error` then names the file and says
/// what to do.
cv::Mat decode_bounded(const std::vector<char>& bytes, const std::string& path, int imread_flags,
                       std::string& error);

}  // namespace trainyard::deploy
