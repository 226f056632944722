// What orchestration costs over a bare LibTorch loop. The same model class, optimizer, batch size,
// threads and Fashion-MNIST images are trained
//   (a) through trainyard: a job submitted to the embedded scheduler, run by the CPU worker actor
//       on its training thread, with iteration events, checkpoints and metric files;
//   (b) in a bare loop written here (shuffle, index_select, forward, cross-entropy, backward,
//       Adam step), with nothing around it;
// alternating a/b each round so both see the same machine load. Each side runs in a process of
// its own (this program started again with --side), because two OpenMP thread teams in one
// process (a bare loop on the main thread, the worker's on its thread) slow each other down.
//
//   train_overhead [images=20000] [batch=128] [threads=0 (all cores)] [rounds=3]
//
// Two figures for (a): the training-loop throughput its iteration report gives (the same basis as
// (b)) and the wall throughput between two iteration events as a client sees them (which also
// pays for validating 256 images, the checkpoint, metrics.csv and curves.png). Prints one JSON
// object; the headline figures are each side's best round. Target: ratio >= 0.97.
// A third side trains the worker's job with deterministic = true: deterministic_ratio is its cost.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <torch/torch.h>

#include "actors/blocking_request.hpp"
#include "actors/embedded_yard.hpp"
#include "bench/fashion_split.hpp"
#include "runtime/tasks/classify/classifier.hpp"
#include "runtime/train/engine.hpp"

namespace {

using namespace trainyard;
using clock_type = std::chrono::steady_clock;

int arg(int argc, char** argv, int i, int fallback) {
  return argc > i ? std::atoi(argv[i]) : fallback;
}

std::string list(const std::vector<double>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i)
    out += (i ? ", " : "") + std::to_string(static_cast<long long>(v[i] + 0.5));
  return out + "]";
}

// (b): one epoch of the bare loop over the split's training images; images/s of the loop.
double bare_loop(const dataset_index& index, const std::vector<std::uint8_t>& assignment,
                 int batch_size, int threads, int model_width) {
  torch::set_num_threads(threads);
  auto geometry = dataset_geometry(index.spec, 28, 28);
  auto set = load_images(index, images_in(assignment, train_set), geometry, threads);
  if (!set) {
    std::fprintf(stderr, "bare loop: %s\n", set.error().message.c_str());
    std::exit(1);
  }
  const torch::Tensor images = input_transform(compute_normalization(set->images))(set->images);
  const torch::Tensor& labels = set->labels;
  torch::manual_seed(42);
  Classifier model(classifier_shape{geometry.channels, 28, 28,
                                    static_cast<int>(index.class_names.size()), model_width});
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-3));
  model->train();
  const std::int64_t n = images.size(0), batch = batch_size;
  const torch::Tensor order = torch::randperm(n, torch::kLong);
  const auto start = clock_type::now();
  for (std::int64_t i = 0; i < n; i += batch) {
    const torch::Tensor rows = order.narrow(0, i, std::min(batch, n - i));
    optimizer.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(
      model->forward(images.index_select(0, rows)), labels.index_select(0, rows));
    loss.backward();
    optimizer.step();
  }
  double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  return static_cast<double>(n) / seconds;
}

// One side in this process: prints "loop_images_per_s wall_images_per_s".
int run_side(const std::string& side, int images, int batch, int threads) {
  // The same allocator settings the engine uses, so (b) is not handicapped.
  tune_malloc_for_training();
  auto data = bench::make_fashion_split(images);
  if (!data) {
    std::fprintf(stderr, "%s\n", data.error().message.c_str());
    return 1;
  }
  const int model_width = tool_spec{}.model_width;
  if (side == "bare") {
    double v = bare_loop(data->index, data->assignment, batch, threads, model_width);
    std::printf("%.1f %.1f\n", v, v);
    return 0;
  }
  const auto workspace = std::filesystem::temp_directory_path() /
                         ("trainyard-bench-" + std::to_string(::getpid()) + "-" +
                          std::to_string(std::random_device{}()));
  caf::actor_system_config cfg;
  configure_actor_system(cfg);
  caf::actor_system system{cfg};
  scheduler_options options;
  options.workspace = workspace.string();
  auto yard = embedded_yard::start(system, options, "train_overhead");
  if (!yard || !(*yard)->declare({data->dataset}, {data->split}) || !(*yard)->add_worker(make_torch_engine())) {
    std::fprintf(stderr, "cannot start the embedded yard in %s\n", options.workspace.c_str());
    return 1;
  }
  job_spec job;
  job.name = "overhead";
  job.tool.name = job.name;
  job.tool.dataset = "fashion";
  job.split = "bench";
  job.settings.iterations = 2;
  job.settings.batch_size = batch;
  job.settings.threads = threads;
  job.settings.deterministic = side == "deterministic";
  // The bare loop's recipe: Adam at 0.001, constant, plain cross-entropy, no averaged weights
  // (the classify kind's own recipe would do more work per step than the loop it is compared
  // with).
  job.settings.optimizer = "adam";
  job.settings.learning_rate = 1e-3;
  job.settings.weight_decay = 0;
  job.settings.schedule = "constant";
  job.settings.label_smoothing = 0;
  job.settings.weight_averaging = 0;
  auto id = (*yard)->submit(job);
  if (!id) {
    std::fprintf(stderr, "submit: %s\n", id.error().message.c_str());
    return 1;
  }
  // Iteration 2's report and the wall time between the two iteration events, as a client
  // waiting on the scheduler sees them.
  std::vector<clock_type::time_point> seen;
  iteration_report last;
  for (int it = 0; it < 2; ++it) {
    auto report = ask<iteration_report>(system, (*yard)->scheduler(), caf::infinite,
                                        wait_iter_atom::value, *id, std::int64_t{0});
    if (!report) {
      std::fprintf(stderr, "wait: %s\n", report.error().message.c_str());
      return 1;
    }
    seen.push_back(clock_type::now());
    last = std::move(*report);
  }
  (*yard)->wait(*id);
  yard->reset();
  std::error_code ec;
  std::filesystem::remove_all(workspace, ec);
  std::printf("%.1f %.1f\n", last.metrics.at("images_per_s"),
              images / std::chrono::duration<double>(seen[1] - seen[0]).count());
  return 0;
}

// Runs one side in a child process and reads its two figures.
std::pair<double, double> side_in_child(const std::string& side, int images, int batch,
                                        int threads) {
  // popen runs a shell: name this program by its real path, not /proc/self/exe.
  auto self_path = std::filesystem::read_symlink("/proc/self/exe").string();
  auto command = self_path + " --side " + side + " " + std::to_string(images) + " " +
                 std::to_string(batch) + " " + std::to_string(threads);
  FILE* pipe = ::popen(command.c_str(), "r");
  double loop = 0, wall = 0;
  if (!pipe || std::fscanf(pipe, "%lf %lf", &loop, &wall) != 2) {
    std::fprintf(stderr, "the %s side failed\n", side.c_str());
    std::exit(1);
  }
  ::pclose(pipe);
  return {loop, wall};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--side")
    return run_side(argv[2], arg(argc, argv, 3, 20000), arg(argc, argv, 4, 128),
                    arg(argc, argv, 5, 2));
  const int images = arg(argc, argv, 1, 20000);
  const int batch = arg(argc, argv, 2, 128);
  const int threads_arg = arg(argc, argv, 3, 0);
  const int rounds = std::max(1, arg(argc, argv, 4, 3));
  const int threads = threads_arg > 0
                        ? threads_arg
                        : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<double> loop_runs, wall_runs, bare_runs, det_runs;
  for (int round = 0; round < rounds; ++round) {
    auto [loop, wall] = side_in_child("worker", images, batch, threads);
    loop_runs.push_back(loop);
    wall_runs.push_back(wall);
    bare_runs.push_back(side_in_child("bare", images, batch, threads).first);
    det_runs.push_back(side_in_child("deterministic", images, batch, threads).first);
    std::fprintf(stderr,
                 "round %d: worker loop %.0f, worker wall %.0f, bare %.0f, worker "
                 "deterministic %.0f images/s\n",
                 round + 1, loop_runs.back(), wall_runs.back(), bare_runs.back(), det_runs.back());
  }
  auto best = [](const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); };
  const double a = best(loop_runs), w = best(wall_runs), b = best(bare_runs), d = best(det_runs);
  std::printf(
    "{\"images\": %d, \"batch_size\": %d, \"threads\": %d, \"worker_images_per_s\": %.1f, "
    "\"worker_wall_images_per_s\": %.1f, \"bare_images_per_s\": %.1f, \"ratio\": %.4f, "
    "\"wall_ratio\": %.4f, \"deterministic_images_per_s\": %.1f, \"deterministic_ratio\": %.4f, "
    "\"worker_runs\": %s, \"worker_wall_runs\": %s, \"bare_runs\": %s, "
    "\"deterministic_runs\": %s}\n",
    images, batch, threads, a, w, b, a / b, w / b, d, d / a, list(loop_runs).c_str(),
    list(wall_runs).c_str(), list(bare_runs).c_str(), list(det_runs).c_str());
  return 0;
}
