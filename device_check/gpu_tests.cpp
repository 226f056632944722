// device_check_tests: the checks of trainyard's training runtime that need a GPU (the CUDA
// memory meter, out-of-memory recovery inside the batch-size probe, determinism and the model's
// agreement with the CPU), plus the one part of the recovery that any machine can check. Plain
// checks, no GoogleTest (the GPU machine has none). A GPU check on a machine without CUDA (or
// without the CUDA meter) prints "SKIP: <name>: <reason>" and counts as no failure.
//
//   device_check_tests [--device cuda:N] [--out FILE.json]
//
// Prints PASS / FAIL / SKIP per check; exit status 1 when a check failed, else 0. Synthetic
// images: no dataset needed.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "device_check/bench.hpp"
#include "device_check/report.hpp"
#include "runtime/train/cuda_memory_meter.hpp"

namespace trainyard::device_check {
namespace {

struct check_failed {
  std::string what;
};
struct check_skipped {
  std::string why;
};

void expect(bool condition, const std::string& what) {
  if (!condition)
    throw check_failed{what};
}

constexpr std::uint64_t gib = 1ull << 30;

// The device under test and its meter; a GPU check skips when either is missing.
struct gpu {
  torch::Device device{torch::kCPU};
  std::unique_ptr<memory_meter> owned;
  cuda_memory_meter* meter = nullptr;
  std::string why_not;
};

cuda_memory_meter& need_gpu(gpu& g) {
  if (!g.meter)
    throw check_skipped{g.why_not};
  return *g.meter;
}

// Random gray images and labels on the device, seeded: enough for steps and trials.
bench_context synthetic_context(const torch::Device& device, std::int64_t images) {
  torch::manual_seed(7);
  bench_context c;
  c.device = device;
  c.trial_steps = 2;
  const labelled_images set{torch::randint(0, 256, {images, 1, 28, 28}, torch::kUInt8),
                            torch::randint(0, 10, {images}, torch::kLong)};
  set_data(c, set, set);
  return c;
}

// Any machine: an out-of-memory error inside a trial is a failed trial that releases memory;
// another error is a failed trial that does not.
void out_of_memory_is_reported_and_released(gpu&) {
  int released = 0;
  const auto release = [&released] { ++released; };
  const trial_result oom = guarded_trial(
      []() -> trial_result {
        TORCH_CHECK_WITH(OutOfMemoryError, false, "CUDA out of memory. Tried to allocate 1 TiB");
        return {true, 1, ""};
      },
      release);
  expect(!oom.ok && oom.error.rfind("out of memory: ", 0) == 0,
         "c10::OutOfMemoryError became: " + oom.error);
  expect(released == 1, "release_memory calls after an OutOfMemoryError: " +
                            std::to_string(released));
  const trial_result text = guarded_trial(
      []() -> trial_result {
        TORCH_CHECK(false, "HIP out of memory on device 0");
        return {true, 1, ""};
      },
      release);
  expect(!text.ok && released == 2, "an error whose text says out of memory did not release");
  const trial_result other = guarded_trial(
      []() -> trial_result {
        TORCH_CHECK(false, "shape mismatch");
        return {true, 1, ""};
      },
      release);
  expect(!other.ok && released == 2 && other.error.find("shape mismatch") != std::string::npos,
         "an unrelated error released memory or lost its text: " + other.error);
}

// The meter's budget is the device's memory; its peak sees a 256 MiB tensor and forgets it after
// reset_peak; release_cached returns freed blocks to the device.
void cuda_meter_reads_the_device(gpu& g) {
  cuda_memory_meter& meter = need_gpu(g);
  expect(meter.budget_bytes() > gib, "budget " + format_bytes(meter.budget_bytes()));
  const std::uint64_t block = 256ull << 20;
  meter.reset_peak();
  {
    const torch::Tensor t = torch::empty({static_cast<std::int64_t>(block)},
                                         torch::TensorOptions(torch::kUInt8).device(g.device));
    expect(meter.peak_bytes() >= block, "peak with 256 MiB live: " +
                                            format_bytes(meter.peak_bytes()));
  }
  expect(meter.reserved_bytes() >= block, "the freed block should stay cached until released");
  meter.release_cached();
  expect(meter.reserved_bytes() < block,
         "reserved after release_cached: " + format_bytes(meter.reserved_bytes()));
  meter.reset_peak();
  expect(meter.peak_bytes() < block, "peak after reset_peak: " + format_bytes(meter.peak_bytes()));
}

// The probe with the real meter, where sizes from 64 up run the device out of memory for real
// (1 GiB blocks until CUDA refuses one): 8, 16 and 32 fit, 64 is reported as not fitting, the
// cache its blocks went to is released, and training at a fitting size still runs afterwards.
void out_of_memory_inside_the_probe_recovers(gpu& g) {
  cuda_memory_meter& meter = need_gpu(g);
  // The real meter, counting the probe's calls of release_cached.
  struct counting_meter final : memory_meter {
    explicit counting_meter(cuda_memory_meter& m) : real(m) {}
    std::uint64_t budget_bytes() override { return real.budget_bytes(); }
    void reset_peak() override { real.reset_peak(); }
    std::uint64_t peak_bytes() override { return real.peak_bytes(); }
    void release_cached() override {
      ++released;
      real.release_cached();
    }
    cuda_memory_meter& real;
    int released = 0;
  } counting(meter);
  bench_context c = synthetic_context(g.device, 512);
  const batch_trial real_trial = make_train_trial(c);
  const batch_trial train = [&](int b) {
    if (b < 64)
      return real_trial(b);
    return guarded_trial(
        [&]() -> trial_result {
          std::vector<torch::Tensor> blocks;
          const auto bound = static_cast<int>(2 * meter.budget_bytes() / gib + 2);
          for (int k = 0; k < bound; ++k)
            blocks.push_back(torch::empty({static_cast<std::int64_t>(gib)},
                                          torch::TensorOptions(torch::kUInt8).device(g.device)));
          throw std::runtime_error("the device never ran out after " + std::to_string(bound) +
                                   " GiB");
        },
        nullptr);
  };
  probe_options po;
  po.min_batch = 8;
  po.max_batch = 256;
  const probe_result probe = probe_batch_sizes(po, counting, train, make_infer_trial(c));
  expect(probe.rows.size() == 4, "rows: " + std::to_string(probe.rows.size()) + " (want 4)");
  for (int i = 0; i < 3; ++i)
    expect(probe.rows[i].fits, "size " + std::to_string(probe.rows[i].batch_size) +
                                   " did not fit: " + probe.rows[i].note);
  expect(!probe.rows[3].fits && probe.rows[3].note.find("out of memory") != std::string::npos,
         "size 64: " + probe.rows[3].note);
  expect(probe.train_batch_size >= 8 && probe.train_batch_size <= 32,
         "chosen " + std::to_string(probe.train_batch_size));
  expect(counting.released == 1, "release_cached calls: " + std::to_string(counting.released));
  expect(meter.reserved_bytes() < 2 * gib,
         "still reserved after the release: " + format_bytes(meter.reserved_bytes()));
  Classifier model = make_classifier(c);
  const auto optimizer = make_adam(model);
  const torch::Tensor rows = torch::arange(32, torch::TensorOptions(torch::kLong));
  const double loss = train_step(model, *optimizer, c, rows.to(c.data_device));
  expect(std::isfinite(loss), "loss after the recovery: " + std::to_string(loss));
}

// The probe over real trials on the GPU: every size up to 1024 fits and the peak grows with the
// batch.
void probe_on_the_gpu_measures_growing_peaks(gpu& g) {
  cuda_memory_meter& meter = need_gpu(g);
  const bench_context c = synthetic_context(g.device, 1024);
  probe_options po;
  po.max_batch = 1024;
  po.give_up_ratio = 0;  // every size, whatever its throughput
  const probe_result probe = probe_batch_sizes(po, meter, make_train_trial(c), make_infer_trial(c));
  print_probe_table(probe, std::cerr);
  expect(probe.rows.size() == 8, "rows: " + std::to_string(probe.rows.size()) + " (want 8)");
  for (const probe_row& row : probe.rows)
    expect(row.fits && row.peak_bytes > 0 && row.infer_images_per_s > 0,
           "size " + std::to_string(row.batch_size) + ": " + row.note);
  expect(probe.rows.back().peak_bytes > probe.rows.front().peak_bytes,
         "peak at 1024 " + format_bytes(probe.rows.back().peak_bytes) + " vs at 8 " +
             format_bytes(probe.rows.front().peak_bytes));
}

// Two seeded trainings on the GPU with deterministic algorithms give the same weights.
void training_on_the_gpu_is_deterministic(gpu& g) {
  need_gpu(g);
  const bench_context c = synthetic_context(g.device, 2048);
  const determinism_result r = check_determinism(c, 20, 128);
  expect(r.error.empty(), "error: " + r.error);
  expect(r.identical, "weights differ by up to " + std::to_string(r.max_abs_diff));
}

// The same weights give the same logits on the GPU as on the CPU, up to TF32 and summation
// order (cuDNN may run fp32 convolutions in TF32 unless told otherwise).
void the_model_on_the_gpu_agrees_with_the_cpu(gpu& g) {
  need_gpu(g);
  bench_context on_cpu = synthetic_context(torch::kCPU, 8);
  bench_context on_gpu = synthetic_context(g.device, 8);
  Classifier cpu_model = make_classifier(on_cpu);
  Classifier gpu_model = make_classifier(on_gpu);
  cpu_model->eval();
  gpu_model->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({256, 1, 28, 28});
  const torch::Tensor a = cpu_model->forward(x);
  const torch::Tensor b = gpu_model->forward(x.to(g.device)).cpu();
  const double diff = (a - b).abs().max().item<double>();
  const double agree = a.argmax(1).eq(b.argmax(1)).to(torch::kDouble).mean().item<double>();
  expect(diff < 5e-2, "largest logit difference " + std::to_string(diff));
  expect(agree >= 0.99, "predictions agree on " + std::to_string(agree * 100) + "%");
}

struct named_check {
  const char* name;
  void (*run)(gpu&);
};

}  // namespace
}  // namespace trainyard::device_check

int main(int argc, char** argv) {
  setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", 0);  // before cuBLAS starts, as in device_check
  using namespace trainyard;
  using namespace trainyard::device_check;
  std::string device = "cuda:0", out;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string arg = argv[i];
    if (arg == "--device")
      device = argv[i + 1];
    else if (arg == "--out")
      out = argv[i + 1];
  }
  gpu g;
  if (!torch::cuda::is_available()) {
    std::string why;
    // Ask the meter why: its answer names a CPU-only build; otherwise no device is visible.
    make_cuda_memory_meter(0, why);
    g.why_not = "no CUDA device: " + (why.empty() ? "torch::cuda::is_available() is false" : why);
  } else {
    g.device = torch::Device(device);
    g.owned = make_cuda_memory_meter(g.device.has_index() ? g.device.index() : 0, g.why_not);
    g.meter = dynamic_cast<cuda_memory_meter*>(g.owned.get());
    if (!g.meter)
      g.why_not = "no CUDA memory meter: " + g.why_not;
  }
  const named_check checks[] = {
      {"out_of_memory_is_reported_and_released", out_of_memory_is_reported_and_released},
      {"cuda_meter_reads_the_device", cuda_meter_reads_the_device},
      {"out_of_memory_inside_the_probe_recovers", out_of_memory_inside_the_probe_recovers},
      {"probe_on_the_gpu_measures_growing_peaks", probe_on_the_gpu_measures_growing_peaks},
      {"training_on_the_gpu_is_deterministic", training_on_the_gpu_is_deterministic},
      {"the_model_on_the_gpu_agrees_with_the_cpu", the_model_on_the_gpu_agrees_with_the_cpu},
  };
  std::vector<std::string> results;
  int failed = 0;
  for (const named_check& check : checks) {
    std::string status = "PASS", detail;
    const auto start = std::chrono::steady_clock::now();
    try {
      check.run(g);
    } catch (const check_skipped& s) {
      status = "SKIP";
      detail = s.why;
    } catch (const check_failed& f) {
      status = "FAIL";
      detail = f.what;
    } catch (const std::exception& e) {
      status = "FAIL";
      const std::string what = e.what();
      detail = "threw: " + what.substr(0, what.find('\n'));
    }
    const double seconds = seconds_since(start);
    failed += status == "FAIL";
    std::printf("%s: %s%s%s (%.2f s)\n", status.c_str(), check.name, detail.empty() ? "" : ": ",
                detail.c_str(), seconds);
    std::fflush(stdout);
    results.push_back(json_object()
                          .text("name", check.name)
                          .text("status", status)
                          .text("detail", detail)
                          .number("seconds", seconds)
                          .str());
  }
  if (!out.empty())
    std::ofstream(out) << json_object()
                              .raw("checks", json_array(results))
                              .integer("failed", failed)
                              .str()
                       << "\n";
  return failed > 0 ? 1 : 0;
}
