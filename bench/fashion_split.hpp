// The Fashion-MNIST split the data benchmarks train on (bench/data_parallel.cpp,
// bench/train_overhead.cpp): the Debian package's training file as dataset "fashion", and split
// "bench" of `images` training and 256 validation images, counted. Header only: every .cpp in
// bench/ is a program of its own.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/data/dataset_index.hpp"
#include "runtime/data/splits.hpp"

namespace trainyard::bench {

struct fashion_split {
  dataset_spec dataset;
  split_spec split;
  dataset_index index;
  std::vector<std::uint8_t> assignment;  ///< make_split's set per image
};

inline expected<fashion_split> make_fashion_split(int images) {
  fashion_split out;
  out.dataset.name = "fashion";
  out.dataset.path = "/usr/share/datasets/fashion-mnist";
  out.split.name = "bench";
  out.split.dataset = "fashion";
  out.split.mode = split_mode::count;
  out.split.train = images;
  out.split.validation = 256;
  out.split.test = 0;
  auto index = load_dataset_index(out.dataset);
  if (!index)
    return index.error();
  auto assignment = make_split(*index, out.split);
  if (!assignment)
    return assignment.error();
  out.index = std::move(*index);
  out.assignment = std::move(*assignment);
  return out;
}

}  // namespace trainyard::bench
