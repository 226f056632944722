// What data parallelism buys on one machine: the same job trained by one rank with every core,
// and by two ranks (devices = 2) that each get half of the cores, each rank a process of its own
// (this program started again with --rank), meeting through a rendezvous store in files and
// talking Gloo over 127.0.0.1. Also the time of one step's gradient all-reduce (the default
// model's 458k floats plus the step's flags), measured between the two rank processes after
// training.
//
//   data_parallel [images=20000] [batch=128 per rank] [threads=0 (all cores)] [rounds=2]
//
// The two ranks train with batch `batch` each, so their global step covers twice the images of
// the one-rank job's step. Throughput is iteration 2's images/s as rank 0 reports it (the
// whole training set over the training loop's time; iteration 1 pays the warm-up). Prints one
// JSON object; the headline figures are each side's best round.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <torch/torch.h>

#include "bench/fashion_split.hpp"
#include "runtime/tasks/classify/classifier.hpp"
#include "runtime/train/data_parallel.hpp"
#include "runtime/train/engine.hpp"

namespace {

using namespace trainyard;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

int arg(int argc, char** argv, int i, int fallback) {
  return argc > i ? std::atoi(argv[i]) : fallback;
}

std::string list(const std::vector<double>& v) {
  std::string out = "[";
  char buffer[32];
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::snprintf(buffer, sizeof buffer, "%s%.1f", i ? ", " : "", v[i]);
    out += buffer;
  }
  return out + "]";
}

// A rendezvous store for processes of one machine: a file per key in a folder.
class file_rendezvous final : public rendezvous_store {
 public:
  explicit file_rendezvous(fs::path folder) : folder_(std::move(folder)) {}

  expected<void> set(const std::string& key, const std::vector<std::uint8_t>& value) override {
    const fs::path temporary = path(key).string() + ".tmp" + std::to_string(::getpid());
    {
      std::ofstream out(temporary, std::ios::binary);
      out.write(reinterpret_cast<const char*>(value.data()),
                static_cast<std::streamsize>(value.size()));
      if (!out)
        return make_failure(error_code::storage_failed, "cannot write " + temporary.string());
    }
    fs::rename(temporary, path(key));
    return {};
  }
  expected<std::vector<std::uint8_t>> get(const std::string& key,
                                          std::chrono::milliseconds timeout) override {
    const auto deadline = clock_type::now() + timeout;
    for (;;) {
      std::ifstream in(path(key), std::ios::binary);
      if (in)
        return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), {});
      if (clock_type::now() >= deadline)
        return make_failure(error_code::timeout, "key " + key + " not set in time");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  expected<std::int64_t> add(const std::string& key, std::int64_t delta) override {
    const int lock = ::open((folder_ / "lock").c_str(), O_CREAT | O_RDWR, 0600);
    ::flock(lock, LOCK_EX);
    std::int64_t value = 0;
    if (auto current = get(key, std::chrono::milliseconds::zero()))
      value = std::atoll(std::string(current->begin(), current->end()).c_str());
    value += delta;
    const std::string text = std::to_string(value);
    auto done = set(key, std::vector<std::uint8_t>(text.begin(), text.end()));
    ::flock(lock, LOCK_UN);
    ::close(lock);
    if (!done)
      return done.error();
    return value;
  }

 private:
  fs::path path(const std::string& key) const {
    std::string name;
    for (char c : key)
      name += std::isalnum(static_cast<unsigned char>(c))
                  ? std::string(1, c)
                  : "_" + std::to_string(static_cast<int>(c));
    return folder_ / name;
  }
  fs::path folder_;
};

class bench_observer final : public training_observer {
 public:
  explicit bench_observer(rendezvous_store* store) : store_(store) {}
  std::vector<iteration_report> reports;
  void iteration_completed(const iteration_report& r) override { reports.push_back(r); }
  bool stop_requested() const override { return false; }
  rendezvous_store* rendezvous() override { return store_; }

 private:
  rendezvous_store* store_;
};

// One rank in this process. Rank 0 prints "images_per_s all_reduce_ms_per_step floats".
int run_rank(int rank, int world, const std::string& shared, int images, int batch, int threads) {
  auto data = bench::make_fashion_split(images);
  if (!data) {
    std::fprintf(stderr, "%s\n", data.error().message.c_str());
    return 1;
  }
  file_rendezvous store(fs::path(shared) / "store");
  training_request request;
  request.job = 1;
  request.spec.name = "data-parallel";
  request.spec.tool.name = "data-parallel";
  request.spec.tool.dataset = "fashion";
  request.spec.split = "bench";
  request.spec.settings.iterations = 2;
  request.spec.settings.batch_size = batch;
  request.spec.settings.threads = threads;
  request.spec.settings.devices = world;
  request.dataset = data->dataset;
  request.assignment = data->assignment;
  request.workspace = (fs::path(shared) / "workspace").string();
  request.parallel = {rank, world, "bench", "127.0.0.1"};
  bench_observer observer(world > 1 ? &store : nullptr);
  auto engine = make_torch_engine();
  const training_outcome outcome = engine->train(request, observer);
  if (outcome.state != job_state::completed) {
    std::fprintf(stderr, "rank %d: %s\n", rank, outcome.message.c_str());
    return 1;
  }

  // The all-reduce of one step: the default model's gradients, between the rank processes.
  double all_reduce_ms = 0;
  std::int64_t floats = 0;
  if (world > 1) {
    torch::set_num_threads(threads);
    Classifier model(classifier_shape{1, 28, 28, 10, tool_spec{}.model_width});
    std::vector<torch::Tensor> parameters = model->parameters();
    for (torch::Tensor& p : parameters) {
      p.mutable_grad() = torch::randn_like(p);
      floats += p.numel();
    }
    auto group = data_parallel_group::join({rank, world, "bench.all-reduce", "127.0.0.1"}, store,
                                           data_parallel_options{});
    if (!group) {
      std::fprintf(stderr, "rank %d: %s\n", rank, group.error().message.c_str());
      return 1;
    }
    constexpr int warm_up = 5, steps = 50;
    for (int k = 0; k < warm_up + steps; ++k) {
      if (k == warm_up)
        (void)(*group)->barrier();
      if (!(*group)->all_reduce_gradients(parameters, false, 1.0)) {
        std::fprintf(stderr, "rank %d: the all-reduce failed\n", rank);
        return 1;
      }
      if (k == warm_up - 1)
        all_reduce_ms = -(*group)->all_reduce_ms();
    }
    all_reduce_ms = (all_reduce_ms + (*group)->all_reduce_ms()) / steps;
  }
  if (rank == 0)
    std::printf("%.1f %.4f %lld\n", observer.reports.back().metrics.at("images_per_s"),
                all_reduce_ms, static_cast<long long>(floats + 2));
  return 0;
}

struct side_result {
  double images_per_s = 0;
  double all_reduce_ms = 0;
  long long floats = 0;
};

// Runs `world` rank processes on a fresh shared folder; rank 0's figures.
side_result side_in_children(int world, int images, int batch, int threads) {
  const fs::path shared = fs::temp_directory_path() /
                          ("trainyard-dp-bench-" + std::to_string(::getpid()) + "-" +
                           std::to_string(std::random_device{}()));
  fs::create_directories(shared / "store");
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  std::vector<FILE*> pipes;
  for (int rank = 0; rank < world; ++rank) {
    const std::string command = self + " --rank " + std::to_string(rank) + " " +
                                std::to_string(world) + " " + shared.string() + " " +
                                std::to_string(images) + " " + std::to_string(batch) + " " +
                                std::to_string(threads);
    pipes.push_back(::popen(command.c_str(), "r"));
  }
  side_result r;
  const bool read = pipes[0] && std::fscanf(pipes[0], "%lf %lf %lld", &r.images_per_s,
                                           &r.all_reduce_ms, &r.floats) == 3;
  bool ok = read;
  for (FILE* pipe : pipes)
    ok = pipe && ::pclose(pipe) == 0 && ok;
  std::error_code ec;
  fs::remove_all(shared, ec);
  if (!ok) {
    std::fprintf(stderr, "the %d-rank side failed\n", world);
    std::exit(1);
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--rank")
    return run_rank(arg(argc, argv, 2, 0), arg(argc, argv, 3, 1), argv[4], arg(argc, argv, 5, 20000),
                    arg(argc, argv, 6, 128), arg(argc, argv, 7, 1));
  const int images = arg(argc, argv, 1, 20000);
  const int batch = arg(argc, argv, 2, 128);
  const int threads_arg = arg(argc, argv, 3, 0);
  const int rounds = std::max(1, arg(argc, argv, 4, 2));
  const int threads = threads_arg > 0
                          ? threads_arg
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int per_rank = std::max(1, threads / 2);
  std::vector<double> one_runs, two_runs, all_reduce_runs;
  long long floats = 0;
  for (int round = 0; round < rounds; ++round) {
    one_runs.push_back(side_in_children(1, images, batch, threads).images_per_s);
    const side_result two = side_in_children(2, images, batch, per_rank);
    two_runs.push_back(two.images_per_s);
    all_reduce_runs.push_back(two.all_reduce_ms);
    floats = two.floats;
    std::fprintf(stderr, "round %d: one rank %.0f, two ranks %.0f images/s, all-reduce %.2f ms\n",
                 round + 1, one_runs.back(), two_runs.back(), all_reduce_runs.back());
  }
  const auto best = [](const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); };
  const double one = best(one_runs), two = best(two_runs);
  const double all_reduce = *std::min_element(all_reduce_runs.begin(), all_reduce_runs.end());
  std::printf(
      "{\"images\": %d, \"batch_size_per_rank\": %d, \"threads_one_rank\": %d, "
      "\"threads_per_rank_of_two\": %d, \"one_rank_images_per_s\": %.1f, "
      "\"two_ranks_images_per_s\": %.1f, \"speedup\": %.4f, \"all_reduce_floats\": %lld, "
      "\"all_reduce_ms_per_step\": %.3f, \"one_rank_runs\": %s, \"two_rank_runs\": %s, "
      "\"all_reduce_ms_runs\": %s}\n",
      images, batch, threads, per_rank, one, two, two / one, floats, all_reduce,
      list(one_runs).c_str(), list(two_runs).c_str(), list(all_reduce_runs).c_str());
  return 0;
}
