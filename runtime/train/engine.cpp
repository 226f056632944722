// The CPU LibTorch training engine (engine.hpp): a job as a sequence of named steps (run() below
// reads as the plan), the batch-size probe's trials, and the checks that need the disk. Runs on
// the worker's training thread, one job at a time per engine. What differs between tool kinds
// (model, targets, loss, metrics, extra state) sits behind tool_task (tool_task.hpp); the loop,
// the probe, checkpoints (checkpoint.hpp), determinism and the metrics files are the same for
// every kind.
//
// Determinism: every random draw of an iteration comes from seeds derived from (seed, iteration)
// (seeds.hpp): the default generator (dropout) is reseeded at the start of each iteration, and
// shuffling and augmentation use their own generators seeded the same way. An iteration therefore
// depends only on the state saved in the checkpoint after the previous one, so a resumed job
// retraces an uninterrupted one bit for bit.
#include "runtime/train/engine.hpp"

#include <algorithm>
#include <cmath>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <tuple>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "runtime/core/validate.hpp"
#include "runtime/data/dataset_index.hpp"
#include "runtime/data/splits.hpp"
#include "runtime/policy/early_stopping.hpp"
#include "runtime/policy/job_length.hpp"
#include "runtime/policy/learning_rate.hpp"
#include "runtime/store/spec_json.hpp"
#include "runtime/tasks/kinds.hpp"
#include "runtime/train/checkpoint.hpp"
#include "runtime/train/cuda_memory_meter.hpp"
#include "runtime/train/batch_probe.hpp"
#include "runtime/train/data_parallel.hpp"
#include "runtime/train/devices.hpp"
#include "runtime/train/evaluation_count.hpp"
#include "runtime/train/failures.hpp"
#include "runtime/train/images.hpp"
#include "runtime/train/input.hpp"
#include "runtime/train/optimizer.hpp"
#include "runtime/train/seeds.hpp"
#include "runtime/train/tool_files.hpp"
#include "runtime/train/tool_lineage.hpp"
#include "runtime/train/tool_task.hpp"

namespace trainyard {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

// The working state of one job, handed from step to step. The steps fill it in the order of
// run(); each says which fields it sets.
struct job {
  job(const training_request& r, training_observer& o)
      : request(r),
        observer(o),
        spec(r.spec),
        settings(resolve_recipe(r.spec.tool, r.spec.settings)),
        tool(r.spec.tool.name),
        folder(tool_folder(r.workspace, r.spec.tool.name)),
        world(r.parallel.world_size),
        lead(r.parallel.rank == 0) {}

  const training_request& request;
  training_observer& observer;
  const job_spec& spec;
  /// The job's settings with the kind's recipe in place of every `auto` (resolve_recipe): what
  /// it trains with and what settings.json records.
  const training_settings settings;
  const std::string& tool;
  const fs::path folder;
  // Data-parallel (devices > 1): rank 0, the lead, probes, validates and writes the tool's files;
  // the other ranks train their share of every global batch and take rank 0's decisions.
  const int world;
  const bool lead;
  /// plan_job: the worker's device; the model, its optimizer state and every batch live there.
  torch::Device device = torch::kCPU;

  // plan_job: what this job does (resume, continue or start fresh) and the tool's state.
  std::unique_ptr<loaded_checkpoint> checkpoint;
  bool resume = false;    ///< the checkpoint is this job's own: go on where it stopped
  bool carry_on = false;  ///< resume, or continue training the checkpoint's tool
  std::string checkpoint_note;  ///< said with the outcome: the checkpoint fallen back from
  tool_state state;
  // load_sets: the tool a fresh job starts from (initialize_from), and the decoded sets with
  // their targets.
  std::optional<trained_tool> source;
  image_geometry geometry;
  task_setup setup;
  task_data train, validation, test;
  // build_model: the task (built once), its model and optimizer.
  std::unique_ptr<tool_task> task;
  std::shared_ptr<torch::nn::Module> model;
  std::string monitored;
  std::string stopping;  // the metric early stopping follows (the monitored one but for anomaly)
  metric_goal stopping_goal = metric_goal::maximize;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  std::vector<torch::Tensor> parameters;  ///< the model's, in the order all ranks reduce them
  /// The lead's moving average of the weights (weight_averaging > 0), else null.
  std::unique_ptr<weight_average> average;
  // load_sets: the job's length; the learning-rate schedule spans the job's own iterations,
  // `schedule_length` of them after the tool's first `schedule_start` (a continued tool's
  // earlier jobs).
  int schedule_start = 0;
  int schedule_length = 1;
  int patience = 0;  ///< early stopping's, scaled with an auto job's length
  // join_group: the data-parallel group and this rank's random streams.
  data_parallel_group* group = nullptr;
  /// The rank's own dropout draws, on its device (ranks, and jobs on the GPUs of one node,
  /// share a process and its default generators); undefined for a one-device CPU job.
  torch::Generator dropout_gen;
  std::uint64_t rank_seed = 0;   ///< dropout and augmentation differ between ranks
  bool stopped = false;          ///< stopped on request
  bool test_each_iteration = false;  ///< torch_engine_options::test_each_iteration

  std::string file(const char* name) const { return (folder / name).string(); }
};

// What one iteration's training pass measured.
struct iteration_pass {
  clock_type::time_point start;
  double loss_sum = 0;      ///< the batches' losses, each times its size
  double loop_seconds = 0;  ///< the batches alone
};

std::string job_label(const training_request& r) {
  return r.spec.name.empty() ? "job " + std::to_string(r.job) : "job " + r.spec.name;
}

// Step: plan the job. Sets checkpoint, resume, carry_on and the state's job, target and (fresh
// jobs) origin; creates the tool folder and applies the process settings.
void plan_job(job& j) {
  need(validate(j.request));
  if (j.world > 1 && !j.observer.rendezvous())
    fail("devices = " + std::to_string(j.world) +
             " needs a rendezvous store for the ranks to meet, and this worker has none; run the "
             "job through a scheduler that places data-parallel jobs",
         error_code::invalid_request);
  j.device = training_device(j.request.device, j.spec.tool.kind);
  tune_malloc_for_training();
  j.checkpoint = need(read_latest_checkpoint(j.file(tool_files::checkpoint),
                                             j.file(tool_files::previous_checkpoint),
                                             j.spec.continue_training, j.checkpoint_note,
                                             j.device));
  j.resume = j.checkpoint && j.checkpoint->state.job == j.request.job;
  j.carry_on = j.resume || j.spec.continue_training;
  if (j.spec.continue_training && !j.resume)
    check_continuation(j.checkpoint.get(), j.spec);

  tool_state& state = j.state;
  const training_settings& settings = j.settings;
  if (j.carry_on) {
    state = j.checkpoint->state;
    if (!j.resume) {
      state.job = j.request.job;
      state.job_name = j.spec.name;
    }
  } else {
    j.checkpoint.reset();
    state.job = j.request.job;
    state.job_name = j.spec.name;
    state.split = j.spec.split;
    state.seed = settings.seed;
    state.tool = j.spec.tool;
    state.dataset = j.request.dataset;
  }
  state.training = settings;
  std::error_code ec;
  fs::create_directories(j.folder, ec);
  if (ec)
    fail("cannot create tool folder " + j.folder.string() + ": " + ec.message() +
             "; check the workspace is writable",
         error_code::storage_failed);

  // Parallel reductions split work by thread, so the bits of the result depend on the thread
  // count: a deterministic job resumed on another machine keeps the count it started with.
  // Otherwise more threads than the worker's cores only crowd the machine: all cores it is.
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  state.threads = j.resume && settings.deterministic && state.threads > 0 ? state.threads
                  : settings.threads > 0 ? std::min(settings.threads, cores)
                                         : cores;
  torch::set_num_threads(state.threads);
  at::globalContext().setDeterministicAlgorithms(settings.deterministic, false);
  if (j.device.is_cuda()) {
    // cuDNN's deterministic kernels, and no timing-based choice of kernels, for a deterministic
    // job; cuBLAS needs its fixed workspace (CUBLAS_WORKSPACE_CONFIG, set when a GPU's worker is
    // made, actors/worker.cpp) as well.
    at::globalContext().setDeterministicCuDNN(settings.deterministic);
    at::globalContext().setBenchmarkCuDNN(!settings.deterministic);
  }
}

// Step: load the sets. Sets geometry, setup (all but the normalisation of a carried-on tool,
// which the state keeps), the three sets with their targets, and a fresh tool's class names,
// channels and normalisation.
void load_sets(job& j, image_cache& cache) {
  const training_request& request = j.request;
  const dataset_index index = need(load_dataset_index(request.dataset));
  if (index.size() != request.assignment.size())
    fail("split " + j.spec.split + " assigns " + std::to_string(request.assignment.size()) +
             " images but dataset " + request.dataset.name + " has " +
             std::to_string(index.size()) + "; redraw the split for the current dataset",
         error_code::invalid_request);
  tool_state& state = j.state;
  const std::vector<std::string> class_names = need(task_class_names(state.tool, index));
  j.geometry = dataset_geometry(request.dataset, j.spec.tool.input_width, j.spec.tool.input_height);
  if (!j.carry_on && !j.spec.initialize_from.empty())
    j.source = open_source_tool(j.request.workspace, j.spec, j.geometry.channels);
  if (j.carry_on &&
      (state.channels != j.geometry.channels || state.class_names.size() != class_names.size()))
    fail("tool " + j.tool + " was trained with " + std::to_string(state.class_names.size()) +
             " classes and " + std::to_string(state.channels) + " channels but dataset " +
             request.dataset.name + " now has " + std::to_string(class_names.size()) +
             " classes and " + std::to_string(j.geometry.channels) +
             "; train the tool from scratch",
         error_code::invalid_request);
  j.setup = task_setup{state.tool,   j.geometry.channels, class_names,
                       task_colours(request.dataset, class_names.size()),
                       state.norm,   j.settings.augmentation};
  j.setup.label_smoothing = j.settings.label_smoothing;
  j.setup.device = j.device;
  const auto set_data = [&](split_set set) {
    const std::vector<std::int64_t> images = images_in(request.assignment, set);
    labelled_images decoded = need(cache.images(index, images, j.geometry, state.threads));
    return need(task_targets(j.setup, index, images, std::move(decoded), set));
  };
  j.train = set_data(train_set);
  j.validation = set_data(validation_set);
  j.test = set_data(test_set);
  if (j.train.size() == 0 || j.validation.size() == 0)
    fail("split " + j.spec.split + " has " + std::to_string(j.train.size()) + " training and " +
             std::to_string(j.validation.size()) +
             " validation images; training needs both, so give the split a share of each",
         error_code::invalid_config);
  if (!j.carry_on) {
    state.class_names = class_names;
    state.channels = j.geometry.channels;
    // A tool started from another keeps the normalisation its weights were trained with.
    state.norm = j.source ? j.source->record.norm : compute_normalization(j.train.images);
    j.setup.norm = state.norm;
  }
  // The job's length (iterations = auto: from the training set's size) and where it ends; a
  // resumed job keeps the end it started with.
  const job_length length =
    length_of_job(j.settings, j.train.size(), !j.spec.initialize_from.empty());
  j.patience = length.patience;
  if (!j.resume)
    state.target = (j.carry_on ? state.completed : 0) + length.iterations;
  j.schedule_length = length.iterations;
  j.schedule_start = std::max(0, state.target - length.iterations);
}

// Step: build the model and optimizer. Sets task, model, the monitored and stopping metrics and
// the optimizer; a carried-on
// job takes the checkpoint's weights, optimizer state and generator state.
void build_model(job& j) {
  // The process's default generator: two ranks (or jobs) in one process must not draw from it
  // between another's seeding and its model's initial weights, so the seeding and the model's
  // construction hold this lock together.
  static std::mutex init_mutex;
  {
    std::lock_guard<std::mutex> lock(init_mutex);
    torch::manual_seed(j.state.seed);
    j.task = need(make_tool_task(j.setup));
  }
  j.model = j.task->model();
  if (j.source) {
    copy_matching_weights(*j.source->task->model(), *j.model);
    j.source.reset();
  }
  j.parameters = j.model->parameters();
  j.monitored = j.task->monitored_metric();
  std::tie(j.stopping, j.stopping_goal) = stopping_metric_of(j.spec.tool.kind);
  // A carried-on rule that followed another metric (saved before the kind's stopping metric
  // changed) starts over: the job's first iteration becomes the best.
  if (j.carry_on && j.state.stopping.metric != j.stopping)
    j.state.stopping = early_stopping_state{};
  j.state.stopping.metric = j.stopping;
  j.optimizer = make_optimizer(j.settings, j.model->parameters());
  if (j.carry_on) {
    restore_training(*j.checkpoint, *j.model, *j.optimizer, j.settings.optimizer);
    // A continued job may bring its own learning rate (the schedule sets it at every step).
    set_learning_rate(*j.optimizer, j.settings.learning_rate);
  }
  if (j.settings.weight_averaging > 0 && j.lead) {
    // The average starts from the model's weights; a carried-on tool continues the checkpoint's
    // average where it has one.
    j.average = std::make_unique<weight_average>(*j.model, j.settings.weight_averaging);
    if (j.carry_on)
      restore_average(*j.checkpoint, *j.average);
  }
  j.checkpoint.reset();  // release the archive
  // A fresh job replaces the tool, but only once its data and model are known to be good: a job
  // that fails on a corrupt image leaves the previously trained tool intact.
  if (!j.carry_on && j.lead)
    remove_tool_files(j.folder.string());
}

// Reseeds the iteration's random streams.
struct iteration_generators {
  torch::Generator shuffle, augment;
};
iteration_generators start_iteration(job& j, int iteration) {
  const std::uint64_t seed = j.state.seed;
  torch::manual_seed(iteration_seed(seed, iteration, random_stream::dropout));
  if (j.dropout_gen.defined())
    j.dropout_gen.set_current_seed(iteration_seed(j.rank_seed, iteration, random_stream::dropout));
  return {at::detail::createCPUGenerator(iteration_seed(seed, iteration, random_stream::shuffle)),
          at::detail::createCPUGenerator(
              iteration_seed(j.rank_seed, iteration, random_stream::augmentation))};
}

std::string number_text(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

// A job whose loss or monitored metric is no longer a number has diverged: it fails before that
// iteration is recorded, so best.pt and the checkpoint keep the last finite weights.
[[noreturn]] void diverged(const job& j, int iteration, const std::string& what) {
  const int kept = iteration - 1;
  fail("training diverged in iteration " + std::to_string(iteration) + ": " + what + ". " +
           (kept > 0 ? "The weights of iteration " + std::to_string(kept) + " are kept. "
                     : std::string("No weights were saved. ")) +
           "Lower learning_rate (now " + number_text(j.settings.learning_rate) +
           ") and submit the job again",
       error_code::training_failed);
}

// Step: train one iteration, a pass over the training set. False when a stop request cut it
// short: a partial iteration is thrown away, the checkpoint on disk stays the last completed one.
bool train_iteration(job& j, int iteration, iteration_pass& pass) {
  pass.start = clock_type::now();
  iteration_generators gen = start_iteration(j, iteration);
  const std::int64_t n = j.train.size();
  const torch::Tensor order = torch::randperm(n, gen.shuffle, torch::kLong);
  const std::int64_t batch = j.state.batch_size * j.world;  // a global step: every rank's share
  const std::int64_t steps = (n + batch - 1) / batch;
  data_parallel_group* group = j.group;
  const auto loop_start = clock_type::now();
  // The hot loop: nothing here beyond what a bare LibTorch loop does, plus one atomic load
  // (stop_requested) and the input transform.
  for (std::int64_t start = 0; start < n; start += batch) {
    const bool stop_here = j.observer.stop_requested();
    if (stop_here && !group)
      return false;
    const std::int64_t m = std::min(batch, n - start);
    // Data-parallel: this rank's rows of the global batch, its loss weighted by its share, so
    // that the summed gradients are those of the whole batch's mean loss.
    const auto share = group ? group->share_of(m) : data_parallel_group::share{0, m};
    double step_loss = 0;
    // The schedule's rate for this step of the job.
    const double progress = schedule_progress(iteration - 1 - j.schedule_start, start / batch,
                                              steps, j.schedule_length);
    set_learning_rate(*j.optimizer,
                      j.settings.learning_rate *
                          learning_rate_factor(j.settings.schedule, j.settings.warmup, progress));
    j.optimizer->zero_grad();
    if (share.count > 0) {
      const torch::Tensor rows = order.narrow(0, start + share.offset, share.count);
      torch::Tensor loss = j.task->batch_loss(j.train, rows, gen.augment);
      if (group)
        loss = loss * (static_cast<double>(share.count) / static_cast<double>(m));
      loss.backward();
      step_loss = loss.item<double>() * static_cast<double>(m);
    }
    if (group) {
      const step_agreement agreed =
          need(group->all_reduce_gradients(j.parameters, stop_here, step_loss));
      if (agreed.stop)
        return false;
      step_loss = agreed.loss_sum;
    }
    // Every rank sees the same (summed) loss, so all of them end here together.
    if (!std::isfinite(step_loss))
      diverged(j, iteration, "its training loss is " + std::to_string(step_loss / m));
    j.optimizer->step();
    if (j.average)
      j.average->update();
    pass.loss_sum += step_loss;
  }
  pass.loop_seconds = std::chrono::duration<double>(clock_type::now() - loop_start).count();
  return true;
}

// The iteration as the observer sees it (the worker forwards it to the scheduler), with the
// early-stopping rule's decision.
void report_iteration(job& j, const metrics_row& row, double monitored_value,
                      const early_stopping_decision& decision, const metric_map& test) {
  iteration_report report;
  report.job = j.request.job;
  report.tool = j.tool;
  report.iteration = row.iteration;
  report.target_iterations = j.state.target;
  report.metrics = row.validation;
  report.metrics.insert({{"train_loss", row.train_loss},
                         {"val_loss", row.val_loss},
                         {"images_per_s", row.images_per_s},
                         {"seconds", row.seconds}});
  report.metrics.insert(test.begin(), test.end());
  report.best_iteration = j.state.stopping.best_iteration;
  report.best_value = j.state.stopping.best_value;
  report.patience_counter = j.state.stopping.counter;
  report.batch_size = j.state.batch_size;
  report.monitored_name = j.monitored;
  report.monitored_value = monitored_value;
  // Only an auto job (no explicit count, not a continuation) ends on the rule; the others
  // track it to know their best weights.
  report.early_stop =
      decision.stop && j.settings.iterations == 0 && !j.spec.continue_training;
  if (report.early_stop)
    report.stop_reason = decision.reason;
  j.observer.iteration_completed(report);
}

// Step (lead): record an iteration. Validates, keeps the best weights, writes the checkpoint,
// metrics.csv and the curves, and reports.
void record_iteration(job& j, int iteration, const iteration_pass& pass) {
  const early_stopping_rule rule{j.patience, j.settings.min_delta,
                                 /*max_iterations=*/0, j.stopping_goal};
  // With weight averaging, the averaged weights are what is validated and kept as best.pt.
  std::optional<weight_average::swapped> averaged;
  if (j.average)
    averaged.emplace(*j.average);
  j.task->prepare(j.train);
  metric_map val = j.task->evaluate(j.validation, "val_");
  const double monitored_value = val.at(j.monitored);
  if (!std::isfinite(monitored_value) || !std::isfinite(val.at("val_loss")))
    diverged(j, iteration, "its validation " + j.monitored + " is " +
                               std::to_string(monitored_value) + " and val_loss " +
                               std::to_string(val.at("val_loss")));
  const early_stopping_decision decision =
      observe(rule, j.state.stopping, iteration, val.at(j.stopping));
  if (decision.improved)
    save_atomically(j.file(tool_files::best),
                    [&j](std::ostream& out) { torch::save(j.model, out); });
  metric_map test;
  if (j.test_each_iteration && j.test.size() > 0) {
    const auto test_start = clock_type::now();
    test = j.task->evaluate(j.test, "test_");
    test["test_seconds"] =
        std::chrono::duration<double>(clock_type::now() - test_start).count();
  }
  averaged.reset();  // the raw weights train on and go into the checkpoint

  const auto n = static_cast<double>(j.train.size());
  metrics_row row;
  row.iteration = iteration;
  row.train_loss = pass.loss_sum / n;
  row.val_loss = val.at("val_loss");
  val.erase("val_loss");
  row.validation = val;
  row.images_per_s = n / std::max(pass.loop_seconds, 1e-9);
  row.batch_size = j.state.batch_size;
  row.seconds = std::chrono::duration<double>(clock_type::now() - pass.start).count();
  j.state.history.push_back(row);
  j.state.completed = iteration;
  save_checkpoint(j.file(tool_files::checkpoint), j.state, *j.model, *j.optimizer,
                  j.settings.optimizer, j.average.get());

  need(write_file_atomically(j.file(tool_files::metrics_csv), metrics_csv(j.state.history)));
  std::vector<curve_point> points;
  for (const metrics_row& r : j.state.history)
    points.push_back({r.iteration, r.train_loss, r.val_loss, r.validation.at(j.monitored)});
  need(draw_training_curves(points, "tool " + j.tool + " (" + job_label(j.request) + ")",
                            j.file(tool_files::curves), j.monitored));
  report_iteration(j, row, monitored_value, decision, test);
}

// Data-parallel: at the end of an iteration the ranks learn whether any of them asks to stop,
// and rank 0's best iteration. True: stop here.
bool agree_after_iteration(job& j) {
  const double best = j.lead ? j.state.stopping.best_iteration : 0;
  const auto sums = need(j.group->sum({j.observer.stop_requested() ? 1.0 : 0.0, best}));
  j.state.stopping.best_iteration = static_cast<int>(sums[1]);
  return sums[0] > 0 && j.state.completed < j.state.target;
}

// Step: train iterations until the target or a stop request.
void train_iterations(job& j) {
  j.model->train();
  while (j.state.completed < j.state.target) {
    if (!j.group && j.observer.stop_requested()) {  // data-parallel ranks agree after each step
      j.stopped = true;
      return;
    }
    const int iteration = j.state.completed + 1;
    iteration_pass pass;
    if (!train_iteration(j, iteration, pass)) {
      j.stopped = true;
      return;
    }
    if (j.lead)
      record_iteration(j, iteration, pass);
    else
      j.state.completed = iteration;
    if (j.group && agree_after_iteration(j)) {
      j.stopped = true;
      return;
    }
  }
}

// Step (lead): finish. Loads the best weights, tunes and saves the task's state, evaluates the
// test set and writes metrics.json and settings.json; returns the final metrics.
metric_map finish_tool(job& j) {
  torch::load(j.model, j.file(tool_files::best), j.device);
  metric_map final_metrics;
  for (const metrics_row& r : j.state.history)
    if (r.iteration == j.state.stopping.best_iteration) {
      final_metrics = r.validation;
      final_metrics["val_loss"] = r.val_loss;
    }
  // State the best weights need beside them (anomaly: memory bank, threshold tuned on validation).
  j.task->prepare(j.train);
  for (const auto& [name, value] : j.task->tune(j.validation))
    final_metrics[name] = value;
  torch::serialize::OutputArchive task_archive;
  if (j.task->save_state(task_archive))
    save_atomically(j.file(tool_files::task_state),
                    [&task_archive](std::ostream& out) { task_archive.save_to(out); });
  if (j.test.size() > 0) {
    count_test_evaluation();
    for (const auto& [name, value] : j.task->evaluate(j.test, "test_"))
      final_metrics[name] = value;
  }
  final_metrics["trained_iterations"] = j.state.completed;
  final_metrics["best_iteration"] = j.state.stopping.best_iteration;
  need(write_file_atomically(j.file(tool_files::metrics_json), to_json(final_metrics) + "\n"));
  need(write_file_atomically(j.file(tool_files::settings), to_json(j.state)));
  return final_metrics;
}

// Step: finish the job, into its outcome.
training_outcome finish(job& j) {
  training_outcome outcome;
  outcome.state = j.stopped ? job_state::stopped : job_state::completed;
  outcome.trained_iterations = j.state.completed;
  outcome.best_iteration = j.state.stopping.best_iteration;
  outcome.batch_size = j.state.batch_size;
  if (j.stopped)
    outcome.message = "stopped on request after iteration " + std::to_string(j.state.completed);
  if (!j.checkpoint_note.empty() && j.carry_on)
    outcome.message += (outcome.message.empty() ? "" : "; ") + j.checkpoint_note;
  if (!j.lead) {
    outcome.message += std::string(j.stopped ? "; " : "") + "rank " +
                       std::to_string(j.request.parallel.rank) + " of " +
                       std::to_string(j.world) + ": rank 0 reports the metrics and writes the tool";
    return outcome;
  }
  if (!fs::exists(j.file(tool_files::best))) {
    outcome.message = "stopped before the first iteration completed; the tool has no trained "
                      "weights yet";
    return outcome;
  }
  outcome.final_metrics = finish_tool(j);
  return outcome;
}

class torch_engine final : public training_engine {
 public:
  explicit torch_engine(torch_engine_options options) : options_(std::move(options)) {}

  training_outcome train(const training_request& request, training_observer& observer) override {
    training_outcome outcome = train_or_fail(request, observer);
    // A data-parallel rank that fails tells the others why before its connections close.
    if (outcome.state == job_state::failed && request.parallel.world_size > 1 &&
        observer.rendezvous())
      post_rank_failure(*observer.rendezvous(), request.parallel, outcome.message);
    group_.reset();
    // A job that failed on a GPU (out of memory, most likely) leaves the caching allocator's
    // blocks to the device, so the worker's next job starts with all of it.
    if (outcome.state == job_state::failed && cuda_index(request.device) >= 0)
      release_cuda_cache();
    return outcome;
  }

 private:
  training_outcome train_or_fail(const training_request& request, training_observer& observer) {
    try {
      return run(request, observer);
    } catch (const job_failure& e) {
      return failed(e.f);
    } catch (const std::bad_alloc&) {
      return failed("out of memory while training tool " + request.spec.tool.name +
                        "; set a smaller batch_size (or free memory) and run the job again",
                    error_code::out_of_memory);
    } catch (const c10::Error& e) {
      const std::string what = e.what_without_backtrace();
      if (is_allocation_failure(what))
        return failed("out of memory while training tool " + request.spec.tool.name + " (" +
                          first_line(what) + "); set a smaller batch_size and run the job again",
                      error_code::out_of_memory);
      return failed("LibTorch failed while training tool " + request.spec.tool.name + ": " +
                    first_line(what) + "; check the tool's settings and dataset, then retry");
    } catch (const std::exception& e) {
      return failed("training tool " + request.spec.tool.name + " failed: " + first_line(e.what()) +
                    "; check the workspace is writable and retry");
    } catch (...) {
      return failed("training tool " + request.spec.tool.name +
                    " failed with an unknown error; retry, and report it if it persists");
    }
  }

  training_outcome run(const training_request& request, training_observer& observer);
  probe_result choose_batch_size(const job& j);
  void join_group(job& j, probe_result& probe);

  torch_engine_options options_;
  image_cache cache_;
  std::unique_ptr<data_parallel_group> group_;  ///< the job's group while a devices > 1 job runs
};

// A job runs as these steps; each throws job_failure (or a LibTorch error) to end it.
training_outcome torch_engine::run(const training_request& request, training_observer& observer) {
  job j(request, observer);
  j.test_each_iteration = options_.test_each_iteration;
  plan_job(j);
  load_sets(j, cache_);
  build_model(j);
  probe_result probe = choose_batch_size(j);
  join_group(j, probe);
  if (j.lead) {
    observer.batch_size_chosen(probe);
    need(write_file_atomically(j.file(tool_files::settings), to_json(j.state)));
  }
  train_iterations(j);
  return finish(j);
}

// Step: choose the batch size: the resumed job's, the one set, or the probe's choice on this
// rank's device (every rank of a data-parallel job probes its own; join_group agrees).
probe_result torch_engine::choose_batch_size(const job& j) {
  probe_result probe;
  const int set = j.settings.batch_size;
  if (j.resume || (j.carry_on && set == 0)) {
    probe.train_batch_size = j.state.batch_size;
    probe.inference_batch_size =
        j.state.inference_batch_size > 0 ? j.state.inference_batch_size : j.state.batch_size;
  } else if (set > 0) {
    probe.train_batch_size = probe.inference_batch_size = set;
  } else {
    probe = probe_batch_size(options_, j.settings, *j.task, j.train);
  }
  return probe;
}

// Step: join the data-parallel group (devices > 1): every rank starts from the agreed batch
// sizes and rank 0's weights. Sets group, rank_seed, dropout_gen and the state's batch sizes.
void torch_engine::join_group(job& j, probe_result& probe) {
  tool_state& state = j.state;
  j.rank_seed = state.seed;
  std::string why_none;
  if (j.world > 1) {
    group_ = need(data_parallel_group::join(j.request.parallel, *j.observer.rendezvous(),
                                            options_.parallel,
                                            j.device.is_cuda() ? j.device.index() : -1));
    j.group = group_.get();
    const auto from_lead = need(j.group->broadcast({state.completed, state.target}));
    if (from_lead[0] != state.completed || from_lead[1] != state.target)
      fail("rank " + std::to_string(j.group->rank()) + " found tool " + j.tool +
               " at iteration " + std::to_string(state.completed) + " of " +
               std::to_string(state.target) + " but rank 0 at " + std::to_string(from_lead[0]) +
               " of " + std::to_string(from_lead[1]) +
               "; the ranks of a data-parallel job must share the workspace folder",
           error_code::invalid_request);
    const bool probed = !(j.resume || j.carry_on) && j.settings.batch_size == 0;
    probe = need(agree_on_batch_sizes(*j.group, probe, probed, why_none));
    need(j.group->broadcast_module(*j.model));
    if (!j.lead)
      j.rank_seed =
          splitmix64(state.seed ^ splitmix64(static_cast<std::uint64_t>(j.group->rank())));
  }
  // A carried-on tool keeps the probe.json of the job that chose its batch size.
  if (!j.carry_on && j.lead)
    need(write_file_atomically(j.file(tool_files::probe), to_json(probe)));
  need(no_batch_size_fits(probe, why_none));
  if (j.world > 1 || j.device.is_cuda()) {
    j.dropout_gen = device_generator(j.device, j.rank_seed);
    j.task->set_dropout_generator(j.dropout_gen);
  }
  state.batch_size = probe.train_batch_size;
  state.inference_batch_size = probe.inference_batch_size;
}

}  // namespace

std::unique_ptr<training_engine> make_torch_engine(torch_engine_options options) {
  return std::make_unique<torch_engine>(std::move(options));
}

}  // namespace trainyard
