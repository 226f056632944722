// device_check: the classify model's batch-size probe, throughput, determinism and accuracy on
// one device, with trainyard's own probe policy, memory meters, model and optimizer. Prints one
// JSON object on stdout (and into --out) and readable tables on stderr.
//
//   device_check [--data DIR] [--device auto|cpu|cuda|cuda:N] [--out FILE.json] [--quick]
//                [--seed N] [--threads N] [--train-images N]
//
// Exit status: 0 when every step ran and the two seeded trainings were bit-identical, 1 when a
// step failed or they differed, 2 for bad options, missing data or a device that is not there.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include <torch/torch.h>
#include <torch/version.h>

#include "device_check/bench.hpp"
#include "device_check/idx_data.hpp"
#include "device_check/report.hpp"
#include "runtime/train/cpu_memory_meter.hpp"
#include "runtime/train/cuda_memory_meter.hpp"
#include "runtime/train/engine.hpp"

namespace trainyard::device_check {
namespace {

struct options {
  std::string data = "device_check/data";  ///< folder of the uncompressed IDX files
  std::string device = "auto";             ///< auto: cuda:0 when CUDA is there, else cpu
  std::string out;                         ///< also write the JSON here; empty: stdout only
  bool quick = false;                      ///< small slices and sizes: seconds on a CPU
  std::uint64_t seed = 42;
  int threads = 0;                         ///< CPU intra-op threads; 0: every core
  std::int64_t train_images = 0;           ///< 0: quick 4,096, else every image carried
};

// What a run measures with; the size limits follow --quick and the device.
struct plan {
  std::int64_t train_images = 0, test_images = 0;
  int max_batch = 0, trial_steps = 0, determinism_steps = 0, determinism_batch = 0;
};

expected<options> parse_options(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--quick")
      o.quick = true;
    else if (arg == "--data")
      o.data = value();
    else if (arg == "--device")
      o.device = value();
    else if (arg == "--out")
      o.out = value();
    else if (arg == "--seed")
      o.seed = std::strtoull(value().c_str(), nullptr, 10);
    else if (arg == "--threads")
      o.threads = std::atoi(value().c_str());
    else if (arg == "--train-images")
      o.train_images = std::atoll(value().c_str());
    else
      return make_failure(error_code::invalid_config,
                          "unknown option " + arg +
                              "; use --data DIR --device auto|cpu|cuda:N --out FILE.json "
                              "--quick --seed N --threads N --train-images N");
  }
  return o;
}

plan make_plan(const options& o, bool cuda) {
  plan p;
  p.train_images = o.train_images > 0 ? o.train_images : (o.quick ? 4096 : 0);
  p.test_images = o.quick ? 2000 : 0;
  // A GPU's throughput keeps rising to batches of thousands; a CPU's flattens out by 256.
  p.max_batch = cuda ? (o.quick ? 2048 : 16384) : (o.quick ? 256 : 1024);
  p.trial_steps = cuda ? (o.quick ? 3 : 5) : (o.quick ? 2 : 3);
  p.determinism_steps = o.quick ? 8 : 40;
  p.determinism_batch = o.quick ? 64 : 128;
  return p;
}

// A GPU without the CUDA meter (not compiled in, or CUDA not askable): no budget, no peaks, so
// only failed trials stop the probe.
class unmetered final : public memory_meter {
 public:
  std::uint64_t budget_bytes() override { return 0; }
  void reset_peak() override {}
  std::uint64_t peak_bytes() override { return 0; }
};

struct device_setup {
  torch::Device device{torch::kCPU};
  std::string name;
  std::uint64_t total_bytes = 0;
  std::unique_ptr<memory_meter> meter;
  std::string meter_kind;  ///< what the meter reads
  std::string meter_note;  ///< why there is no CUDA meter, when there is none
};

expected<device_setup> choose_device(const options& o) {
  device_setup s;
  const bool cuda_there = torch::cuda::is_available();
  std::string wanted = o.device;
  if (wanted == "auto")
    wanted = cuda_there ? "cuda:0" : "cpu";
  if (wanted == "cpu") {
    tune_malloc_for_training();
    torch::set_num_threads(o.threads > 0 ? o.threads
                                         : static_cast<int>(std::thread::hardware_concurrency()));
    s.name = "cpu";
    s.meter = std::make_unique<cpu_memory_meter>(0.5);
    s.total_bytes = s.meter->budget_bytes();
    s.meter_kind = "cpu: resident set high-water mark (VmHWM) against half the available RAM";
    return s;
  }
  if (wanted.rfind("cuda", 0) != 0)
    return make_failure(error_code::invalid_config, "--device " + o.device + ": auto, cpu, cuda:N");
  if (!cuda_there)
    return make_failure(error_code::invalid_config,
                        "--device " + o.device + ": this LibTorch sees no CUDA device");
  s.device = torch::Device(wanted);
  const int index = s.device.has_index() ? s.device.index() : 0;
  std::string why_not;
  s.meter = make_cuda_memory_meter(index, why_not);
  if (auto* cuda = dynamic_cast<cuda_memory_meter*>(s.meter.get())) {
    s.name = cuda->device_name();
    s.total_bytes = cuda->budget_bytes();
    s.meter_kind = "cuda: caching allocator's peak reserved bytes against the device's memory";
  } else {
    s.name = wanted + " (name unknown without the CUDA meter)";
    s.meter = std::make_unique<unmetered>();
    s.meter_kind = "none";
    s.meter_note = why_not;
  }
  return s;
}

// The training and test images on the device, normalised with the training images' statistics.
expected<bench_context> load_context(const options& o, const plan& p, device_setup& s) {
  bench_context c;
  c.device = s.device;
  c.seed = o.seed;
  c.trial_steps = p.trial_steps;
  auto train = read_idx_pair(o.data, "train", p.train_images);
  if (!train)
    return train.error();
  auto test = read_idx_pair(o.data, "t10k", p.test_images);
  if (!test)
    return test.error();
  set_data(c, std::move(*train), std::move(*test));
  memory_meter* meter = s.meter.get();
  c.release_memory = [meter] { meter->release_cached(); };
  return c;
}

std::string device_json(const device_setup& s) {
  const char* cublas = std::getenv("CUBLAS_WORKSPACE_CONFIG");
  return json_object()
      .text("kind", s.device.is_cuda() ? "cuda" : "cpu")
      .text("device", s.device.str())
      .text("name", s.name)
      .integer("memory_bytes", static_cast<std::int64_t>(s.total_bytes))
      .text("memory_meter", s.meter_kind)
      .text("no_cuda_meter_because", s.meter_note)
      .text("libtorch_version", TORCH_VERSION)
      .flag("libtorch_cuda", torch::cuda::is_available())
      .flag("cudnn", s.device.is_cuda() && torch::cuda::cudnn_is_available())
      .integer("cpu_threads", torch::get_num_threads())
      .text("cublas_workspace_config", cublas ? cublas : "")
      .str();
}

std::string pass_json(const pass_result& r) {
  return json_object()
      .integer("batch_size", r.batch_size)
      .integer("images", r.images)
      .number("seconds", r.seconds)
      .number("images_per_s", r.images_per_s)
      .text("error", r.error)
      .str();
}

// The probe, a training epoch and an inference pass at the sizes it chose, the test accuracy
// after that epoch, and the determinism check. Fills `json` and the stderr tables; true when
// every step ran and the trainings were identical.
bool measure(const plan& p, device_setup& s, bench_context& c, json_object& json) {
  // Sizes up to the largest power of two the training set fills, as batch_probe.cpp caps them.
  probe_options po;
  int largest = po.min_batch;
  while (largest * 2 <= p.max_batch && largest * 2 <= c.train.size())
    largest *= 2;
  po.max_batch = largest;
  auto start = std::chrono::steady_clock::now();
  const probe_result probe =
      probe_batch_sizes(po, *s.meter, make_train_trial(c), make_infer_trial(c));
  const double probe_seconds = seconds_since(start);
  print_probe_table(probe, std::cerr);
  // Nothing fitting is a failure, but the smallest size still gives the other numbers.
  const int train_batch = probe.train_batch_size > 0 ? probe.train_batch_size : po.min_batch;
  const int infer_batch = probe.inference_batch_size > 0 ? probe.inference_batch_size : train_batch;

  Classifier model = make_classifier(c);
  const std::unique_ptr<torch::optim::Optimizer> optimizer = make_adam(model);
  const pass_result epoch = train_epoch(model, *optimizer, c, train_batch);
  const pass_result inference = time_inference(model, c, infer_batch);
  set_evaluation test;
  std::string test_error;
  try {
    test = evaluate_classifier(model, c.test, c.transform, evaluation_batch_size, false);
  } catch (const std::exception& e) {
    const std::string what = e.what();
    test_error = what.substr(0, what.find('\n'));
  }
  const determinism_result same = check_determinism(c, p.determinism_steps, p.determinism_batch);

  std::fprintf(stderr, "training:  %.0f images/s at batch %d (%lld images, %.2f s)%s%s\n",
               epoch.images_per_s, epoch.batch_size, static_cast<long long>(epoch.images),
               epoch.seconds, epoch.error.empty() ? "" : " FAILED: ", epoch.error.c_str());
  std::fprintf(stderr, "inference: %.0f images/s at batch %d (%lld images, %.2f s)%s%s\n",
               inference.images_per_s, inference.batch_size,
               static_cast<long long>(inference.images), inference.seconds,
               inference.error.empty() ? "" : " FAILED: ", inference.error.c_str());
  std::fprintf(stderr, "test accuracy after one epoch: %.4f on %lld images%s%s\n", test.accuracy,
               static_cast<long long>(test.images), test_error.empty() ? "" : " FAILED: ",
               test_error.c_str());
  std::fprintf(stderr, "determinism: %s (max |difference| %g, %d steps at batch %d)%s%s\n",
               same.identical ? "identical" : "DIFFERENT", same.max_abs_diff, same.steps,
               same.batch_size, same.error.empty() ? "" : " FAILED: ", same.error.c_str());

  json.raw("probe", probe_json(probe))
      .number("probe_seconds", probe_seconds)
      .raw("training", pass_json(epoch))
      .raw("inference", pass_json(inference))
      .raw("test", json_object()
                       .integer("images", test.images)
                       .number("accuracy", test.accuracy)
                       .number("loss", test.loss)
                       .text("after", "one epoch of the training images")
                       .text("error", test_error)
                       .str())
      .raw("determinism", json_object()
                              .flag("identical", same.identical)
                              .number("max_abs_diff", same.max_abs_diff)
                              .integer("steps", same.steps)
                              .integer("batch_size", same.batch_size)
                              .text("error", same.error)
                              .str());
  return probe.train_batch_size > 0 && epoch.error.empty() && inference.error.empty() &&
         test_error.empty() && same.identical && same.error.empty();
}

// The whole run: exit status 0, 1 or 2 (see the top of the file).
int run(const options& o, json_object& json) {
  auto setup = choose_device(o);
  if (!setup) {
    json.text("error", setup.error().message);
    return 2;
  }
  const plan p = make_plan(o, setup->device.is_cuda());
  json.raw("device", device_json(*setup));
  std::fprintf(stderr, "device: %s (%s), %s\n", setup->name.c_str(), setup->device.str().c_str(),
               format_bytes(setup->total_bytes).c_str());
  if (!setup->meter_note.empty())
    std::fprintf(stderr, "no CUDA memory meter: %s\n", setup->meter_note.c_str());
  auto context = load_context(o, p, *setup);
  if (!context) {
    json.text("error", context.error().message);
    return 2;
  }
  json.raw("data", json_object()
                       .text("folder", o.data)
                       .integer("train_images", context->train.size())
                       .integer("test_images", context->test.size())
                       .str());
  std::fprintf(stderr, "data: %lld training, %lld test images from %s\n",
               static_cast<long long>(context->train.size()),
               static_cast<long long>(context->test.size()), o.data.c_str());
  try {
    return measure(p, *setup, *context, json) ? 0 : 1;
  } catch (const std::exception& e) {
    // The measurements guard their own steps; this catches what escapes them (a device lost).
    const std::string what = e.what();
    json.text("error", what.substr(0, what.find('\n')));
    return 1;
  }
}

}  // namespace
}  // namespace trainyard::device_check

int main(int argc, char** argv) {
  // cuBLAS fixes its workspace when its handle is made, at the first CUDA matrix product; the
  // determinism check needs this configuration from the start. A value the caller set wins.
  setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", 0);
  using namespace trainyard::device_check;
  const auto start = std::chrono::steady_clock::now();
  auto parsed = parse_options(argc, argv);
  if (!parsed) {
    std::cerr << "device_check: " << parsed.error().message << "\n";
    return 2;
  }
  json_object json;
  json.text("mode", parsed->quick ? "quick" : "full")
      .raw("build", json_object()
                        .text("libtorch", DEVICE_CHECK_TORCH_HOW)
                        .text("cuda_memory_meter", DEVICE_CHECK_METER_STATE)
                        .text("classifier_source", DEVICE_CHECK_CLASSIFIER)
                        .str());
  const int status = run(*parsed, json);
  json.number("seconds", seconds_since(start)).integer("exit_status", status);
  const std::string text = json.str();
  std::cout << text << std::endl;
  if (!parsed->out.empty()) {
    std::ofstream out(parsed->out);
    out << text << "\n";
    if (!out) {
      std::cerr << "device_check: cannot write " << parsed->out << "\n";
      return 2;
    }
  }
  return status;
}
