// The batch-size probe's trials (batch_probe.hpp): timed training and inference steps on copies
// of the job's task, measured by a memory meter.
#include "runtime/train/batch_probe.hpp"

#include <algorithm>
#include <chrono>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/cuda.h>

#include "runtime/train/cpu_memory_meter.hpp"
#include "runtime/train/cuda_memory_meter.hpp"
#include "runtime/train/failures.hpp"
#include "runtime/train/optimizer.hpp"

namespace trainyard {

namespace {

using clock_type = std::chrono::steady_clock;

constexpr int deterministic_auto_batch_cap = 128;

}  // namespace

probe_result probe_batch_size(const torch_engine_options& options,
                              const training_settings& s, const tool_task& task,
                              const task_data& train_data) {
  probe_options po = options.probe;
  // A batch larger than the training set is never used; do not spend probing time on it.
  int largest = std::max(1, po.min_batch);
  while (largest * 2 <= po.max_batch && largest * 2 <= train_data.size())
    largest *= 2;
  po.max_batch = std::max(largest, po.min_batch);
  const int steps = std::max(1, options.probe_steps);

  // Trials run on copies of the model with their own optimizer; the job's model and optimizer are
  // untouched. Images are the first training images (repeated when the set is small).
  torch::Generator gen = at::detail::createCPUGenerator(s.seed);
  const auto rows_for = [&train_data](int b) {
    return torch::arange(static_cast<std::int64_t>(b), torch::kLong).remainder(train_data.size());
  };
  // Trials run where the job trains (the task's device); the meter reads that device.
  const torch::Device device = task.setup().device;
  const auto wait_for_device = [&device] {
    if (device.is_cuda())
      torch::cuda::synchronize(device.index());
  };
  const auto guarded = [](auto&& trial) -> trial_result {
    try {
      return trial();
    } catch (const std::bad_alloc&) {
      return {false, 0, "std::bad_alloc"};
    } catch (const c10::Error& e) {
      return {false, 0, first_line(e.what_without_backtrace())};
    } catch (const std::exception& e) {
      return {false, 0, first_line(e.what())};
    }
  };
  const batch_trial train_trial = [&](int b) {
    return guarded([&]() -> trial_result {
      std::unique_ptr<tool_task> copy = task.clone();
      copy->model()->train();
      const std::unique_ptr<torch::optim::Optimizer> optimizer =
          make_optimizer(s, copy->model()->parameters());
      const torch::Tensor rows = rows_for(b);
      const auto step = [&] {
        optimizer->zero_grad();
        torch::Tensor loss = copy->batch_loss(train_data, rows, gen);
        loss.backward();
        optimizer->step();
        (void)loss.item<double>();
      };
      step();  // warm-up: first-touch allocations, oneDNN primitive creation
      const auto t0 = clock_type::now();
      for (int k = 0; k < steps; ++k)
        step();
      const double seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
      return {true, static_cast<double>(b) * steps / std::max(seconds, 1e-9), ""};
    });
  };
  const batch_trial infer_trial = [&](int b) {
    return guarded([&]() -> trial_result {
      std::unique_ptr<tool_task> copy = task.clone();
      copy->model()->eval();
      torch::NoGradGuard no_grad;
      const torch::Tensor x = copy->transform()(train_data.images.index_select(0, rows_for(b)));
      copy->infer(x);
      wait_for_device();
      const auto t0 = clock_type::now();
      for (int k = 0; k < steps; ++k)
        copy->infer(x);
      wait_for_device();  // a GPU runs the steps after the calls return
      const double seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
      return {true, static_cast<double>(b) * steps / std::max(seconds, 1e-9), ""};
    });
  };

  // The device's own meter unless the options bring one (tests).
  std::unique_ptr<memory_meter> own_meter;
  memory_meter* meter = options.meter.get();
  if (!meter) {
    std::string why_not;
    own_meter = device.is_cuda() ? make_cuda_memory_meter(device.index(), why_not)
                                 : std::make_unique<cpu_memory_meter>(s.memory_share);
    if (!own_meter)
      fail("cannot read the memory of " + device.str() + " to probe the batch size (" + why_not +
               "); set batch_size in the job",
           error_code::out_of_memory);
    meter = own_meter.get();
  }
  probe_result result = probe_batch_sizes(po, *meter, train_trial, infer_trial);
  meter->release_cached();  // the trials' cached blocks go back before the job allocates
  if (s.deterministic && result.train_batch_size > 0) {
    // The fastest size depends on timing noise; a deterministic job must not. Take the largest
    // fitting size up to a fixed cap instead: the same on every run with enough memory.
    int chosen = 0;
    for (const probe_row& row : result.rows)
      if (row.fits && row.batch_size <= deterministic_auto_batch_cap)
        chosen = std::max(chosen, row.batch_size);
    if (chosen > 0)
      result.train_batch_size = chosen;
  }
  return result;
}

expected<void> no_batch_size_fits(const probe_result& probe, const std::string& why_none) {
  if (probe.train_batch_size > 0)
    return {};
  const std::string why = !why_none.empty() ? why_none
                          : probe.rows.empty() ? "no size was tried"
                                               : probe.rows.back().note;
  return make_failure(error_code::out_of_memory,
                      "out of memory: no batch size fits the memory budget (" + why +
                          "); free memory, raise memory_share, or set a small batch_size "
                          "explicitly");
}

expected<probe_result> agree_on_batch_sizes(data_parallel_group& group, const probe_result& own,
                                            bool probed, std::string& why) {
  probe_result agreed = own;
  if (!probed) {
    auto from_lead = group.broadcast({own.train_batch_size, own.inference_batch_size});
    if (!from_lead)
      return from_lead.error();
    agreed.train_batch_size = static_cast<int>((*from_lead)[0]);
    agreed.inference_batch_size = static_cast<int>((*from_lead)[1]);
    return agreed;
  }
  const auto world = static_cast<std::size_t>(group.world_size());
  const auto me = static_cast<std::size_t>(group.rank());
  std::vector<double> sizes(2 * world, 0.0);
  sizes[2 * me] = own.train_batch_size;
  sizes[2 * me + 1] = own.inference_batch_size;
  auto gathered = group.sum(sizes);  // each rank wrote only its own pair: a gather
  if (!gathered)
    return gathered.error();
  std::vector<probe_result> ranks(world);
  for (std::size_t r = 0; r < world; ++r) {
    ranks[r].train_batch_size = static_cast<int>((*gathered)[2 * r]);
    ranks[r].inference_batch_size = static_cast<int>((*gathered)[2 * r + 1]);
  }
  // This rank's own table: on rank 0 the one probe.json keeps; elsewhere its notes say why
  // when this rank found no size.
  ranks[me] = own;
  return agree_batch_sizes(ranks, why);
}

}  // namespace trainyard

