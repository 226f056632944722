// Fuzz target: the COCO reader of locate datasets (load_coco_index and load_boxes in
// runtime/data/dataset_readers.hpp) on any bytes as the annotations file. Both must answer with
// a value or an error.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_files.hpp"
#include "runtime/data/dataset_readers.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace trainyard;
  const auto& folder = fuzz::scratch();
  dataset_spec spec;
  spec.name = "fuzz";
  spec.kind = dataset_kind::coco;
  spec.path = folder.path().string();
  spec.annotations = folder.write("annotations.json", data, size);
  auto index = load_coco_index(spec);
  (void)index;
  auto boxes = load_boxes(spec);
  (void)boxes;
  return 0;
}
