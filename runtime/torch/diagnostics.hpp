// Torch-free entry points for tests and benchmarks, which cannot include LibTorch themselves:
// trainyard_torch links it privately, so its include paths do not reach them. Not part of the
// runtime's public face (engine.hpp); nothing else should call these.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "runtime/error.hpp"
#include "runtime/specs.hpp"

namespace trainyard {

/// Raw bytes of every parameter and buffer of a weights file the engine wrote (best.pt), by
/// dotted name ("conv1.weight", "norm1.running_mean"): two runs are bit-identical when these are.
expected<std::map<std::string, std::string>> read_weight_bytes(const std::string& path);

/// The overhead benchmark's baseline: a bare LibTorch loop (shuffle, index_select, forward,
/// cross-entropy, backward, Adam step) over the same model class and the same normalised images
/// the engine trains on, without augmentation, observers, validation or files.
struct reference_loop_options {
  int batch_size = 128;
  int threads = 0;            ///< 0 = all cores
  int model_width = 32;
  double learning_rate = 1e-3;
  std::uint64_t seed = 42;
};
struct reference_loop_result {
  std::int64_t images = 0;   ///< training images of the epoch
  double seconds = 0;        ///< the training loop only
  double images_per_s = 0;
  double mean_loss = 0;
};
/// One epoch over the training set of `assignment`.
expected<reference_loop_result> run_reference_loop(const dataset_spec& dataset,
                                                   const std::vector<std::uint8_t>& assignment,
                                                   const reference_loop_options& options);

}  // namespace trainyard
