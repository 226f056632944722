// A BMP file whose header declares 20,000 x 20,000 pixels in 62 bytes: OpenCV would allocate
// 1.2 GB for it before finding the pixels missing. Tests of the decoding bound write it.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>

namespace trainyard::testing {

inline void write_huge_bmp(const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  const auto u32 = [&out](std::uint32_t v) {
    for (int i = 0; i < 4; ++i)
      out.put(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  const auto u16 = [&out](std::uint16_t v) {
    out.put(static_cast<char>(v & 0xff));
    out.put(static_cast<char>(v >> 8));
  };
  out << "BM";
  u32(62), u32(0), u32(54);                          // file size, reserved, pixel offset
  u32(40), u32(20000), u32(20000), u16(1), u16(24);  // header size, width, height, planes, bpp
  u32(0), u32(0), u32(2835), u32(2835), u32(0), u32(0);
  u32(0x00ffffff), u32(0);  // a few bytes of pixels
}

/// What the decoders answer for it.
inline std::string huge_bmp_refusal(const std::string& path) {
  return "image " + path + " declares 400 megapixels, more than trainyard decodes (100, e.g. "
         "10,000 x 10,000); shrink it, or leave it out";
}

}  // namespace trainyard::testing
