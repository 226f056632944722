// The device check's measurements of the classify model on one device (the CPU or a CUDA GPU):
// the batch-size probe's trials, a timed training epoch, timed inference, and a determinism
// check. The model, its input transform, its evaluation and its optimizer are trainyard's own
// (classifier.cpp, input.cpp, optimizer.cpp); only the loops are written here, the way the
// engine's batch_probe.cpp and training loop run them. One thread uses these at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <torch/torch.h>

#include "runtime/policy/batch_size_probe.hpp"
#include "runtime/tasks/classify/classifier.hpp"
#include "runtime/train/input.hpp"

namespace trainyard::device_check {

/// What every measurement shares.
struct bench_context {
  torch::Device device{torch::kCPU};       ///< where the model trains
  torch::Device data_device{torch::kCPU};  ///< where the images are kept (set_data decides)
  std::uint64_t seed = 42;        ///< initial weights and the order of the epoch's images
  int trial_steps = 3;            ///< timed steps of each probe trial, after one warm-up step
  labelled_images train;          ///< on `data_device`
  labelled_images test;           ///< on `data_device`
  input_transform transform;      ///< from the training images' statistics; output on `device`
  /// Called after a training epoch or inference pass ran out of memory, once its tensors are
  /// freed (the meter's release_cached; the probe calls the meter itself); may be empty.
  std::function<void()> release_memory;
};

/// Sets the images, and the transform from the training images' statistics. Where an
/// input_transform can be given a device (the engine's GPU input path: 8-bit batches stay on the
/// CPU and cross to the device in the transform), the images stay on the CPU as the engine keeps
/// them; with a CPU-only transform they are moved to `c.device` once.
void set_data(bench_context& c, labelled_images train, labelled_images test);

/// The classify tool's normal model for 1x28x28 images and 10 classes (classify_shape), its
/// initial weights drawn from `c.seed`, on `c.device`, in training mode.
Classifier make_classifier(const bench_context& c);

/// Adam, learning rate 1e-3, no weight decay, through trainyard's make_optimizer.
std::unique_ptr<torch::optim::Optimizer> make_adam(Classifier& model);

/// One training step (forward, cross-entropy, backward, optimizer step) on the training images
/// `rows` (a long tensor on `c.data_device`); the loss, read back (which waits for the device).
double train_step(Classifier& model, torch::optim::Optimizer& optimizer, const bench_context& c,
                  const torch::Tensor& rows);

/// Runs `trial` and turns every exception into a failed result, so the probe can go on. An
/// out-of-memory error (c10::OutOfMemoryError, std::bad_alloc, or a LibTorch error whose text
/// says so) is reported as "out of memory: ..." and `release_memory` is called (when set) after
/// the trial's tensors are gone, so the next steps find the memory free.
trial_result guarded_trial(const std::function<trial_result()>& trial,
                           const std::function<void()>& release_memory);

/// The probe's trials at batch size b, on the first b training images (repeated when fewer):
/// `c.trial_steps` timed training steps of a fresh model and its own Adam after one warm-up
/// step; or as many inference steps in eval mode without gradients. Guarded: they never throw.
/// They leave releasing memory after a failure to the probe (memory_meter::release_cached).
batch_trial make_train_trial(const bench_context& c);
batch_trial make_infer_trial(const bench_context& c);

/// A timed pass over the training images.
struct pass_result {
  int batch_size = 0;
  std::int64_t images = 0;
  double seconds = 0;
  double images_per_s = 0;
  double loss = 0;      ///< training: the last step's loss
  std::string error;    ///< what failed; empty when it ran
};

/// One epoch of training of `model` over `c.train` in an order drawn from `c.seed`, at
/// `batch_size` (the last batch may be smaller), timed from the first step to the last loss read.
pass_result train_epoch(Classifier& model, torch::optim::Optimizer& optimizer,
                        const bench_context& c, int batch_size);

/// Predictions of `model` (eval mode, no gradients) over every training image at `batch_size`,
/// timed until the last prediction is on the host.
pass_result time_inference(Classifier& model, const bench_context& c, int batch_size);

/// Two trainings of `steps` steps at `batch_size` from the same seed, with LibTorch's
/// deterministic algorithms on (and cuDNN deterministic, its benchmark off); the settings are
/// put back afterwards.
struct determinism_result {
  bool identical = false;  ///< every parameter and buffer bit for bit equal
  double max_abs_diff = 0; ///< largest difference between the two runs' weights
  int steps = 0;
  int batch_size = 0;
  std::string error;       ///< an operation without a deterministic kernel, or another failure
};
determinism_result check_determinism(const bench_context& c, int steps, int batch_size);

/// Seconds since `start` on the steady clock.
double seconds_since(std::chrono::steady_clock::time_point start);

}  // namespace trainyard::device_check
