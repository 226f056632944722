// Fuzz target: the label-mask PNG reader (read_gray_png in runtime/data/dataset_readers.hpp,
// zlib only) on any bytes. It must answer with an image whose pixels fill width x height, or an
// error.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_files.hpp"
#include "runtime/data/dataset_readers.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = trainyard::fuzz::scratch().write("mask.png", data, size);
  auto image = trainyard::read_gray_png(path);
  if (image && image->pixels.size() !=
                   static_cast<std::size_t>(image->width) * static_cast<std::size_t>(image->height))
    __builtin_trap();
  return 0;
}
