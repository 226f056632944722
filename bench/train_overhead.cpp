// What the training engine costs over a bare LibTorch loop: one epoch over the same Fashion-MNIST
// images with the same model class, optimizer, batch size and threads, (a) through
// make_torch_engine()->train() and (b) through the reference loop (runtime/torch/diagnostics.hpp),
// alternating a/b/a/b so both see the same machine load. Throughput counts training images over
// the training loop only (the engine's images_per_s metric), so validation and files do not count.
//
//   train_overhead [images=20000] [batch=128] [threads=0 (all cores)] [rounds=2]
//
// Prints one JSON object; the headline figures are the best round of each, the least disturbed by
// whatever else runs on the machine. Target: ratio >= 0.97.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "runtime/dataset_index.hpp"
#include "runtime/torch/diagnostics.hpp"
#include "runtime/torch/engine.hpp"

namespace {

using namespace trainyard;

class throughput_observer : public training_observer {
 public:
  double images_per_s = 0;
  void iteration_completed(const iteration_report& r) override {
    images_per_s = r.metrics.at("images_per_s");
  }
  bool stop_requested() const override { return false; }
};

int arg(int argc, char** argv, int i, int fallback) {
  return argc > i ? std::atoi(argv[i]) : fallback;
}

std::string list(const std::vector<double>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i)
    out += (i ? ", " : "") + std::to_string(static_cast<long long>(v[i] + 0.5));
  return out + "]";
}

}  // namespace

int main(int argc, char** argv) {
  const int images = arg(argc, argv, 1, 20000);
  const int batch = arg(argc, argv, 2, 128);
  const int threads = arg(argc, argv, 3, 0);
  const int rounds = std::max(1, arg(argc, argv, 4, 2));

  dataset_spec dataset;
  dataset.name = "fashion";
  dataset.path = "/usr/share/datasets/fashion-mnist";
  auto index = load_dataset_index(dataset);
  if (!index) {
    std::fprintf(stderr, "%s\n", index.error().message.c_str());
    return 1;
  }
  split_spec split;
  split.name = "bench";
  split.mode = split_mode::count;
  split.train = images;
  split.validation = 1000;
  split.test = 0;
  auto assignment = make_split(*index, split);
  if (!assignment) {
    std::fprintf(stderr, "%s\n", assignment.error().message.c_str());
    return 1;
  }

  const std::filesystem::path workspace =
      std::filesystem::temp_directory_path() /
      ("trainyard-bench-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
  auto engine = make_torch_engine();
  training_request request;
  request.spec.name = "overhead";
  request.spec.tool.name = "overhead";
  request.spec.split = split.name;
  request.spec.settings.iterations = 1;
  request.spec.settings.batch_size = batch;
  request.spec.settings.threads = threads;
  request.dataset = dataset;
  request.assignment = *assignment;
  request.workspace = workspace.string();

  reference_loop_options bare;
  bare.batch_size = batch;
  bare.threads = threads;

  std::vector<double> engine_runs, bare_runs;
  int status = 0;
  for (int round = 0; round < rounds && status == 0; ++round) {
    request.job = static_cast<job_id>(round + 1);  // a new job each time: a fresh tool
    throughput_observer observer;
    const training_outcome outcome = engine->train(request, observer);
    if (outcome.state != job_state::completed) {
      std::fprintf(stderr, "engine: %s\n", outcome.message.c_str());
      status = 1;
      break;
    }
    engine_runs.push_back(observer.images_per_s);

    auto reference = run_reference_loop(dataset, *assignment, bare);
    if (!reference) {
      std::fprintf(stderr, "bare loop: %s\n", reference.error().message.c_str());
      status = 1;
      break;
    }
    bare_runs.push_back(reference->images_per_s);
    std::fprintf(stderr, "round %d: engine %.0f images/s, bare %.0f images/s\n", round + 1,
                 engine_runs.back(), bare_runs.back());
  }
  std::error_code ec;
  std::filesystem::remove_all(workspace, ec);
  if (status != 0)
    return status;

  const double a = *std::max_element(engine_runs.begin(), engine_runs.end());
  const double b = *std::max_element(bare_runs.begin(), bare_runs.end());
  std::printf(
      "{\"images\": %d, \"batch_size\": %d, \"threads\": %d, \"engine_images_per_s\": %.1f, "
      "\"bare_images_per_s\": %.1f, \"ratio\": %.4f, \"engine_runs\": %s, \"bare_runs\": %s}\n",
      images, batch, threads, a, b, a / b, list(engine_runs).c_str(), list(bare_runs).c_str());
  return 0;
}
