// Fuzz target: the label table of masks datasets (read_label_table in
// runtime/data/annotations.hpp) on any bytes. It must answer with labels or an error.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_files.hpp"
#include "runtime/data/annotations.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = trainyard::fuzz::scratch().write("labels.txt", data, size);
  auto labels = trainyard::read_label_table(path);
  (void)labels;
  return 0;
}
