// Fuzz target: the IDX reader of Fashion-MNIST datasets (runtime/data/dataset_index.hpp) on any
// bytes, plain or gzipped as the reader takes them. The first byte chooses the file: even, an
// image file read by load_idx_images; odd, a label file read by load_dataset_index beside an
// image file of no images. Both must answer with a value or an error.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_files.hpp"
#include "runtime/data/dataset_index.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace trainyard;
  if (size == 0) return 0;
  const auto& folder = fuzz::scratch();
  dataset_spec spec;
  spec.name = "fuzz";
  spec.kind = dataset_kind::fashion_mnist;
  spec.subset = "train";
  spec.path = folder.path().string();
  if (data[0] % 2 == 0) {
    folder.write("train-images-idx3-ubyte", data + 1, size - 1);
    auto images = load_idx_images(spec);
    (void)images;
  } else {
    // An IDX image file of 0 images of 28x28 pixels.
    static const std::uint8_t no_images[16] = {0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28};
    folder.write("train-images-idx3-ubyte", no_images, sizeof no_images);
    folder.write("train-labels-idx1-ubyte", data + 1, size - 1);
    auto index = load_dataset_index(spec);
    (void)index;
  }
  return 0;
}
