// Fuzz target: the image decoding of folder datasets and predict (decode_image_file in
// runtime/train/images.hpp, OpenCV) on any bytes as an image file. The first byte chooses gray
// or colour; the rest is the file. It must fill the pixels or answer an error.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz/fuzz_files.hpp"
#include "runtime/train/images.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace trainyard;
  if (size == 0) return 0;
  image_geometry geometry;
  geometry.channels = data[0] % 2 == 0 ? 1 : 3;
  geometry.width = 24;
  geometry.height = 16;
  const auto path = fuzz::scratch().write("image.png", data + 1, size - 1);
  std::vector<std::uint8_t> pixels(geometry.bytes());
  auto decoded = decode_image_file(path, geometry, pixels.data());
  (void)decoded;
  return 0;
}
