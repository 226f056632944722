// The device check's measurements (bench.hpp).
#include "device_check/bench.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <new>
#include <type_traits>

#include <ATen/CPUGeneratorImpl.h>

#include "runtime/train/failures.hpp"
#include "runtime/train/optimizer.hpp"

namespace trainyard::device_check {

namespace F = torch::nn::functional;
using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

Classifier make_classifier(const bench_context& c) {
  // Seeds the CPU generator (the initial weights are drawn there) and every CUDA device's (the
  // dropout masks of a CUDA model).
  torch::manual_seed(c.seed);
  Classifier model(classify_shape("normal", 1, 28, 28, 10, 32, true, 0.25));
  model->to(c.device);
  model->train();
  return model;
}

std::unique_ptr<torch::optim::Optimizer> make_adam(Classifier& model) {
  training_settings settings;
  settings.optimizer = "adam";
  settings.learning_rate = 1e-3;
  settings.weight_decay = 0;
  return make_optimizer(settings, model->parameters());
}

namespace {

// The transform's constructor that takes a device, where input.hpp has one.
template <class transform = input_transform>
transform transform_for(const normalization& n, const torch::Device& device) {
  if constexpr (std::is_constructible_v<transform, const normalization&, torch::Device>)
    return transform(n, device);
  else
    return transform(n);
}

}  // namespace

void set_data(bench_context& c, labelled_images train, labelled_images test) {
  constexpr bool transform_moves =
      std::is_constructible_v<input_transform, const normalization&, torch::Device>;
  c.data_device = transform_moves ? torch::Device(torch::kCPU) : c.device;
  c.transform = transform_for(compute_normalization(train.images), c.device);
  c.train = {train.images.to(c.data_device), train.labels.to(c.data_device)};
  c.test = {test.images.to(c.data_device), test.labels.to(c.data_device)};
}

double train_step(Classifier& model, torch::optim::Optimizer& optimizer, const bench_context& c,
                  const torch::Tensor& rows) {
  optimizer.zero_grad();
  const torch::Tensor x = c.transform(c.train.images.index_select(0, rows));
  const torch::Tensor y = c.train.labels.index_select(0, rows).to(c.device);
  torch::Tensor loss = F::cross_entropy(model->forward(x), y);
  loss.backward();
  optimizer.step();
  return loss.item<double>();
}

trial_result guarded_trial(const std::function<trial_result()>& trial,
                           const std::function<void()>& release_memory) {
  std::string error;
  bool out_of_memory = false;
  // The handlers run after the trial's stack is unwound: its tensors are freed (back in the
  // caching allocator's cache on a GPU) by the time release_memory returns them to the device.
  try {
    return trial();
  } catch (const c10::OutOfMemoryError& e) {
    error = first_line(e.what_without_backtrace());
    out_of_memory = true;
  } catch (const c10::Error& e) {
    error = first_line(e.what_without_backtrace());
    out_of_memory = is_allocation_failure(error);
  } catch (const std::bad_alloc&) {
    error = "std::bad_alloc";
    out_of_memory = true;
  } catch (const std::exception& e) {
    error = first_line(e.what());
    out_of_memory = is_allocation_failure(error);
  }
  if (out_of_memory && release_memory)
    release_memory();
  return {false, 0, out_of_memory ? "out of memory: " + error : error};
}

namespace {

// The first b training images (repeated when the set is smaller), as batch_probe.cpp takes them.
torch::Tensor first_rows(const bench_context& c, int b) {
  return torch::arange(static_cast<std::int64_t>(b), torch::TensorOptions(torch::kLong))
      .remainder(c.train.size())
      .to(c.data_device);
}

// Waits for the device's queued work, so a timer stopped afterwards counts all of it.
void wait_for_device(const torch::Device& device) {
  if (device.is_cuda())
    torch::cuda::synchronize(device.index());
}

}  // namespace

batch_trial make_train_trial(const bench_context& c) {
  return [&c](int b) {
    return guarded_trial(
        [&c, b]() -> trial_result {
          Classifier model = make_classifier(c);
          const std::unique_ptr<torch::optim::Optimizer> optimizer = make_adam(model);
          const torch::Tensor rows = first_rows(c, b);
          train_step(model, *optimizer, c, rows);  // warm-up: allocations, kernel selection
          const auto start = clock_type::now();
          for (int k = 0; k < c.trial_steps; ++k)
            train_step(model, *optimizer, c, rows);
          const double seconds = std::max(seconds_since(start), 1e-9);
          return {true, static_cast<double>(b) * c.trial_steps / seconds, ""};
        },
        nullptr);
  };
}

batch_trial make_infer_trial(const bench_context& c) {
  return [&c](int b) {
    return guarded_trial(
        [&c, b]() -> trial_result {
          Classifier model = make_classifier(c);
          model->eval();
          torch::NoGradGuard no_grad;
          const torch::Tensor x = c.transform(c.train.images.index_select(0, first_rows(c, b)));
          model->forward(x);
          wait_for_device(c.device);
          const auto start = clock_type::now();
          for (int k = 0; k < c.trial_steps; ++k)
            model->forward(x);
          wait_for_device(c.device);
          const double seconds = std::max(seconds_since(start), 1e-9);
          return {true, static_cast<double>(b) * c.trial_steps / seconds, ""};
        },
        nullptr);
  };
}

namespace {

// A permutation of the training images drawn from the seed on the CPU (the same order on every
// device), moved to the device.
torch::Tensor epoch_order(const bench_context& c) {
  torch::Generator generator = at::detail::createCPUGenerator(c.seed);
  return torch::randperm(c.train.size(), generator, torch::TensorOptions(torch::kLong))
      .to(c.data_device);
}

}  // namespace

pass_result train_epoch(Classifier& model, torch::optim::Optimizer& optimizer,
                        const bench_context& c, int batch_size) {
  pass_result r;
  r.batch_size = batch_size;
  const std::function<trial_result()> epoch = [&]() -> trial_result {
    model->train();
    const torch::Tensor order = epoch_order(c);
    const std::int64_t n = c.train.size();
    const auto start = clock_type::now();
    for (std::int64_t at = 0; at < n; at += batch_size) {
      const std::int64_t m = std::min<std::int64_t>(batch_size, n - at);
      r.loss = train_step(model, optimizer, c, order.narrow(0, at, m));
      r.images += m;
    }
    r.seconds = seconds_since(start);
    return {true, 0, ""};
  };
  const trial_result ran = guarded_trial(epoch, c.release_memory);
  r.error = ran.error;
  r.images_per_s = r.seconds > 0 ? static_cast<double>(r.images) / r.seconds : 0;
  return r;
}

pass_result time_inference(Classifier& model, const bench_context& c, int batch_size) {
  pass_result r;
  r.batch_size = batch_size;
  const std::function<trial_result()> pass = [&]() -> trial_result {
    model->eval();
    torch::NoGradGuard no_grad;
    const std::int64_t n = c.train.size();
    torch::Tensor predicted =
        torch::empty({n}, torch::TensorOptions(torch::kLong).device(c.device));
    const auto start = clock_type::now();
    for (std::int64_t at = 0; at < n; at += batch_size) {
      const std::int64_t m = std::min<std::int64_t>(batch_size, n - at);
      const torch::Tensor x = c.transform(c.train.images.narrow(0, at, m));
      predicted.narrow(0, at, m).copy_(model->forward(x).argmax(1));
      r.images += m;
    }
    const torch::Tensor on_host = predicted.cpu();  // waits for the last prediction
    r.seconds = seconds_since(start);
    return {true, 0, ""};
  };
  const trial_result ran = guarded_trial(pass, c.release_memory);
  model->train();
  r.error = ran.error;
  r.images_per_s = r.seconds > 0 ? static_cast<double>(r.images) / r.seconds : 0;
  return r;
}

namespace {

// The model's parameters and buffers after `steps` steps from the seed, copied to the CPU.
std::vector<torch::Tensor> train_from_seed(const bench_context& c, int steps, int batch_size) {
  Classifier model = make_classifier(c);
  const std::unique_ptr<torch::optim::Optimizer> optimizer = make_adam(model);
  const torch::Tensor order = epoch_order(c);
  const std::int64_t n = c.train.size();
  const std::int64_t b = std::min<std::int64_t>(batch_size, n);
  for (int k = 0; k < steps; ++k) {
    // Consecutive batches of the order, wrapping before the end of the set.
    const std::int64_t at = (k * b) % std::max<std::int64_t>(1, n - b + 1);
    train_step(model, *optimizer, c, order.narrow(0, at, b));
  }
  std::vector<torch::Tensor> state;
  for (const torch::Tensor& p : model->parameters())
    state.push_back(p.detach().cpu());
  for (const torch::Tensor& buffer : model->buffers())
    state.push_back(buffer.cpu());
  return state;
}

}  // namespace

determinism_result check_determinism(const bench_context& c, int steps, int batch_size) {
  determinism_result r;
  r.steps = steps;
  r.batch_size = batch_size;
  auto& context = at::globalContext();
  const bool algorithms_before = context.deterministicAlgorithms();
  const bool warn_only_before = context.deterministicAlgorithmsWarnOnly();
  const bool cudnn_deterministic_before = context.deterministicCuDNN();
  const bool cudnn_benchmark_before = context.benchmarkCuDNN();
  context.setDeterministicAlgorithms(true, /*warn_only=*/false);
  context.setDeterministicCuDNN(true);
  context.setBenchmarkCuDNN(false);
  try {
    const std::vector<torch::Tensor> first = train_from_seed(c, steps, batch_size);
    const std::vector<torch::Tensor> second = train_from_seed(c, steps, batch_size);
    // Same model, same order of tensors: the two lists line up.
    r.identical = true;
    for (std::size_t i = 0; i < first.size(); ++i) {
      r.identical = r.identical && torch::equal(first[i], second[i]);
      const torch::Tensor diff = first[i].to(torch::kDouble) - second[i].to(torch::kDouble);
      if (diff.numel() > 0)
        r.max_abs_diff = std::max(r.max_abs_diff, diff.abs().max().item<double>());
    }
  } catch (const c10::Error& e) {
    r.error = first_line(e.what_without_backtrace());
  } catch (const std::exception& e) {
    r.error = first_line(e.what());
  }
  context.setDeterministicAlgorithms(algorithms_before, warn_only_before);
  context.setDeterministicCuDNN(cudnn_deterministic_before);
  context.setBenchmarkCuDNN(cudnn_benchmark_before);
  return r;
}

}  // namespace trainyard::device_check
