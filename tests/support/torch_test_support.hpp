// Shared by the torch tests (Engine*, ToolOps*, Images*): a small slice of the real
// Fashion-MNIST, a recording observer that can ask for a stop, and one engine for the whole binary
// (so the 70,000 images are decoded once); scratch folders come from tests/support/temp_folder.hpp.
// Torch-free: the tests see LibTorch only through the runtime's torch-free headers.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/data/dataset_index.hpp"
#include "runtime/data/splits.hpp"
#include "runtime/train/engine.hpp"
#include "tests/support/temp_folder.hpp"

namespace trainyard::testing {

inline const char* fashion_mnist_folder() { return "/usr/share/datasets/fashion-mnist"; }

inline bool fashion_mnist_installed() {
  return std::filesystem::exists(std::string(fashion_mnist_folder()) +
                                 "/train-images-idx3-ubyte.gz");
}

#define TRAINYARD_REQUIRE_FASHION_MNIST()                                                      \
  do {                                                                                         \
    if (!::trainyard::testing::fashion_mnist_installed())                                      \
      GTEST_SKIP() << "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)"; \
  } while (0)

/// Fashion-MNIST (all 70,000 images) with a counted split: 2,000 train, 500 validation, 500 test.
struct dataset_slice {
  dataset_spec dataset;
  dataset_index index;
  std::vector<std::uint8_t> assignment;
};

inline dataset_slice make_fashion_slice(std::uint64_t seed = 7, double train = 2000,
                                        double validation = 500, double test = 500) {
  dataset_slice s;
  s.dataset.name = "fashion";
  s.dataset.kind = dataset_kind::fashion_mnist;
  s.dataset.path = fashion_mnist_folder();
  auto index = load_dataset_index(s.dataset);
  if (!index)
    throw std::runtime_error(index.error().message);
  s.index = *index;
  split_spec split;
  split.name = "small";
  split.dataset = "fashion";
  split.mode = split_mode::count;
  split.train = train;
  split.validation = validation;
  split.test = test;
  split.seed = seed;
  auto assignment = make_split(s.index, split);
  if (!assignment)
    throw std::runtime_error(assignment.error().message);
  s.assignment = *assignment;
  return s;
}

inline const dataset_slice& fashion_slice() {
  static const dataset_slice slice = make_fashion_slice();
  return slice;
}

/// The engine every test uses: its image cache makes later tests skip decoding.
inline training_engine& shared_engine() {
  static std::unique_ptr<training_engine> engine = make_torch_engine();
  return *engine;
}

/// A job on the small slice: fixed batch 64, all cores, no augmentation.
inline training_request make_request(job_id id, const std::string& tool,
                                     const std::string& workspace, int iterations,
                                     bool deterministic = false) {
  training_request r;
  r.job = id;
  r.spec.name = "job-" + std::to_string(id);
  r.spec.tool.name = tool;
  r.spec.tool.dataset = "fashion";
  r.spec.split = "small";
  r.spec.settings.iterations = iterations;
  r.spec.settings.batch_size = 64;
  r.spec.settings.deterministic = deterministic;
  r.dataset = fashion_slice().dataset;
  r.assignment = fashion_slice().assignment;
  r.workspace = workspace;
  return r;
}

/// Records what the engine reports and asks for a stop when told to.
class recording_observer : public training_observer {
 public:
  std::vector<iteration_report> reports;
  std::optional<probe_result> probe;
  /// Ask for a stop once this iteration has completed (0: never).
  int stop_after_iteration = 0;
  /// Ask for a stop in the middle of the iteration after this many completed reports, a few
  /// steps in (-1: never).
  int stop_inside_after_reports = -1;

  void batch_size_chosen(const probe_result& p) override { probe = p; }
  void iteration_completed(const iteration_report& r) override {
    reports.push_back(r);
    polls_at_report_ = polls_.load();
    if (r.iteration == stop_after_iteration)
      stop_ = true;
  }
  bool stop_requested() const override {
    const long polls = ++polls_;
    if (stop_inside_after_reports >= 0 &&
        reports.size() == static_cast<std::size_t>(stop_inside_after_reports) &&
        polls - polls_at_report_ > 5)
      return true;
    return stop_.load();
  }

 private:
  mutable std::atomic<long> polls_{0};
  long polls_at_report_ = 0;
  std::atomic<bool> stop_{false};
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty())
      lines.push_back(line);
  return lines;
}

}  // namespace trainyard::testing
