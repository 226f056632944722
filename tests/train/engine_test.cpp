// The CPU training engine on small slices of the real Fashion-MNIST: real LibTorch training,
// real files. Each test owns a temporary workspace; all share one engine (and its image cache).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <thread>

#include "runtime/store/spec_json.hpp"
#include "runtime/train/diagnostics.hpp"
#include "runtime/train/engine.hpp"
#include "runtime/train/images.hpp"
#include "runtime/train/tool_files.hpp"
#include "tests/support/simulated_meter.hpp"
#include "tests/support/torch_test_support.hpp"

namespace trainyard {
namespace {

namespace fs = std::filesystem;
using testing::fashion_slice;
using testing::make_request;
using testing::read_file;
using testing::read_lines;
using testing::recording_observer;
using testing::shared_engine;
using testing::temp_folder;

std::string tool_file(const std::string& workspace, const std::string& tool, const char* name) {
  return tool_folder(workspace, tool) + "/" + name;
}

std::map<std::string, std::string> best_weights(const std::string& workspace,
                                                const std::string& tool) {
  auto weights = read_weight_bytes(tool_file(workspace, tool, tool_files::best));
  EXPECT_TRUE(weights) << (weights ? "" : weights.error().message);
  return weights ? *weights : std::map<std::string, std::string>{};
}

// Validation and test numbers of a run, without the timings.
std::vector<double> learning_numbers(const training_outcome& outcome,
                                     const std::vector<iteration_report>& reports) {
  std::vector<double> numbers;
  for (const auto& [key, value] : outcome.final_metrics)
    numbers.push_back(value);
  for (const iteration_report& r : reports)
    for (const char* key : {"train_loss", "val_loss", "val_accuracy"})
      numbers.push_back(r.metrics.at(key));
  return numbers;
}

TEST(EngineTraining, ShortTrainingBeatsChanceAndWritesEveryToolFile) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  temp_folder workspace("engine");
  recording_observer observer;
  training_request request = make_request(1, "shirts", workspace.str(), 3);
  request.spec.settings.threads = 1024;  // more than this machine has: it trains on all cores
  const training_outcome outcome = shared_engine().train(request, observer);

  ASSERT_EQ(outcome.state, job_state::completed) << outcome.message;
  EXPECT_EQ(outcome.trained_iterations, 3);
  EXPECT_EQ(outcome.batch_size, 64);
  // Chance is 0.1 on ten classes; three epochs over 2,000 images reach about 0.8.
  ASSERT_TRUE(outcome.final_metrics.count("test_accuracy"));
  EXPECT_GT(outcome.final_metrics.at("test_accuracy"), 0.6);
  EXPECT_GT(outcome.final_metrics.at("val_accuracy"), 0.6);
  EXPECT_EQ(outcome.final_metrics.at("trained_iterations"), 3);
  EXPECT_EQ(outcome.final_metrics.at("best_iteration"), outcome.best_iteration);

  // The observer heard the batch size once and every iteration in order.
  ASSERT_TRUE(observer.probe.has_value());
  EXPECT_EQ(observer.probe->train_batch_size, 64);
  ASSERT_EQ(observer.reports.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const iteration_report& r = observer.reports[static_cast<std::size_t>(i)];
    EXPECT_EQ(r.iteration, i + 1);
    EXPECT_EQ(r.target_iterations, 3);
    EXPECT_EQ(r.batch_size, 64);
    EXPECT_EQ(r.tool, "shirts");
    EXPECT_EQ(r.job, 1u);
    for (const char* key : {"train_loss", "val_loss", "val_accuracy", "images_per_s", "seconds"})
      EXPECT_TRUE(r.metrics.count(key)) << key;
    EXPECT_GT(r.metrics.at("images_per_s"), 0);
    EXPECT_GE(r.best_value, r.metrics.at("val_accuracy") - 1e-12);
  }
  // Training loss falls from the first epoch to the last.
  EXPECT_LT(observer.reports.back().metrics.at("train_loss"),
            observer.reports.front().metrics.at("train_loss"));

  const std::string ws = workspace.str();
  for (const std::string& name : tool_files::all())
    EXPECT_TRUE(fs::exists(tool_file(ws, "shirts", name.c_str()))) << name;

  const auto csv = read_lines(tool_file(ws, "shirts", tool_files::metrics_csv));
  ASSERT_EQ(csv.size(), 4u);
  EXPECT_EQ(csv[0], "iteration,train_loss,val_loss,val_accuracy,images_per_s,seconds,batch_size");
  for (int i = 1; i <= 3; ++i)
    EXPECT_EQ(csv[static_cast<std::size_t>(i)].substr(0, 2), std::to_string(i) + ",");

  auto metrics = metric_map_from_json(read_file(tool_file(ws, "shirts", tool_files::metrics_json)));
  ASSERT_TRUE(metrics) << metrics.error().message;
  EXPECT_EQ(*metrics, outcome.final_metrics);

  auto curves = summarize_image(tool_file(ws, "shirts", tool_files::curves));
  ASSERT_TRUE(curves) << curves.error().message;
  EXPECT_GE(curves->width, 400);
  EXPECT_GE(curves->height, 300);
  EXPECT_GT(curves->distinct_colors, 20);  // lines, text and anti-aliasing, not a blank canvas

  auto record = tool_state_from_json(read_file(tool_file(ws, "shirts", tool_files::settings)),
                                     "settings.json");
  ASSERT_TRUE(record) << record.error().message;
  EXPECT_EQ(record->split, "small");
  EXPECT_EQ(record->class_names.size(), 10u);
  EXPECT_EQ(record->channels, 1);
  EXPECT_EQ(record->completed, 3);
  EXPECT_EQ(record->threads, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  ASSERT_EQ(record->norm.mean.size(), 1u);
  EXPECT_NEAR(record->norm.mean[0], 0.286, 0.02);  // Fashion-MNIST's known statistics
  EXPECT_NEAR(record->norm.std[0], 0.353, 0.02);

  EXPECT_FALSE(best_weights(ws, "shirts").empty());
}

TEST(EngineTraining, AugmentedTrainingStillLearns) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  temp_folder workspace("engine");
  recording_observer observer;
  training_request request = make_request(2, "augmented", workspace.str(), 1);
  augmentation_settings& a = request.spec.settings.augmentation;
  a.flip_horizontal = true;
  a.rotation = 10;
  a.scale = 0.1;
  a.shift = 0.1;
  a.shear = 5;
  a.brightness = 0.1;
  a.contrast = 0.1;
  a.noise = 0.02;
  const training_outcome outcome = shared_engine().train(request, observer);
  ASSERT_EQ(outcome.state, job_state::completed) << outcome.message;
  EXPECT_GT(outcome.final_metrics.at("test_accuracy"), 0.5);
}

TEST(EngineDeterminism, RerunsAndResumedRunsAreBitIdentical) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  temp_folder workspace("engine");
  const std::string ws = workspace.str();

  recording_observer first_observer;
  const training_outcome first =
      shared_engine().train(make_request(10, "first", ws, 3, true), first_observer);
  ASSERT_EQ(first.state, job_state::completed) << first.message;

  recording_observer second_observer;
  const training_outcome second =
      shared_engine().train(make_request(11, "second", ws, 3, true), second_observer);
  ASSERT_EQ(second.state, job_state::completed) << second.message;
  EXPECT_EQ(best_weights(ws, "first"), best_weights(ws, "second"));
  EXPECT_EQ(learning_numbers(first, first_observer.reports),
            learning_numbers(second, second_observer.reports));

  // Interrupted a few steps into iteration 2, then the same job again: it resumes from the
  // iteration-1 checkpoint and ends with the uninterrupted run's weights, bit for bit.
  recording_observer interrupted_observer;
  interrupted_observer.stop_inside_after_reports = 1;
  const training_request resumable = make_request(12, "resumed", ws, 3, true);
  const training_outcome interrupted = shared_engine().train(resumable, interrupted_observer);
  EXPECT_EQ(interrupted.state, job_state::stopped);
  EXPECT_EQ(interrupted.trained_iterations, 1);
  EXPECT_EQ(read_lines(tool_file(ws, "resumed", tool_files::metrics_csv)).size(), 2u);

  recording_observer resumed_observer;
  const training_outcome resumed = shared_engine().train(resumable, resumed_observer);
  ASSERT_EQ(resumed.state, job_state::completed) << resumed.message;
  EXPECT_EQ(resumed.trained_iterations, 3);
  ASSERT_EQ(resumed_observer.reports.size(), 2u);  // iterations 2 and 3 only
  EXPECT_EQ(resumed_observer.reports.front().iteration, 2);
  EXPECT_EQ(best_weights(ws, "first"), best_weights(ws, "resumed"));
  std::vector<iteration_report> all = interrupted_observer.reports;
  all.insert(all.end(), resumed_observer.reports.begin(), resumed_observer.reports.end());
  EXPECT_EQ(learning_numbers(first, first_observer.reports), learning_numbers(resumed, all));
  EXPECT_EQ(read_lines(tool_file(ws, "resumed", tool_files::metrics_csv)).size(), 4u);
}

// checkpoint.pt damaged outside trainyard (half of it gone) after iteration 2 of 3: the job goes
// on from the checkpoint before it, says so, and ends with the weights of an undamaged run.
TEST(EngineCheckpoint, ADamagedCheckpointCostsOneIterationAndTheJobSaysSo) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  temp_folder workspace("engine");
  const std::string ws = workspace.str();
  recording_observer clean_observer;
  ASSERT_EQ(shared_engine().train(make_request(60, "clean", ws, 3, true), clean_observer).state,
            job_state::completed);

  const training_request request = make_request(61, "damaged", ws, 3, true);
  recording_observer first;
  first.stop_after_iteration = 2;
  ASSERT_EQ(shared_engine().train(request, first).state, job_state::stopped);
  const std::string latest = tool_file(ws, "damaged", tool_files::checkpoint);
  const std::string previous = tool_file(ws, "damaged", tool_files::previous_checkpoint);
  ASSERT_TRUE(fs::exists(previous)) << "the checkpoint before the last is kept";
  fs::resize_file(latest, fs::file_size(latest) / 2);

  recording_observer again;
  const training_outcome resumed = shared_engine().train(request, again);
  ASSERT_EQ(resumed.state, job_state::completed) << resumed.message;
  ASSERT_EQ(again.reports.size(), 2u);  // iteration 2 again, then 3
  EXPECT_EQ(again.reports.front().iteration, 2);
  EXPECT_NE(resumed.message.find("checkpoint " + latest + " is unreadable ("), std::string::npos)
    << resumed.message;
  EXPECT_NE(resumed.message.find("went on from the checkpoint before it (" + previous +
                                 ", iteration 1)"),
            std::string::npos)
    << resumed.message;
  EXPECT_EQ(best_weights(ws, "clean"), best_weights(ws, "damaged"));

  // Both damaged: a continue job, which needs the checkpoint, fails naming it.
  fs::resize_file(latest, fs::file_size(latest) / 2);
  fs::resize_file(previous, fs::file_size(previous) / 2);
  training_request more = make_request(62, "damaged", ws, 1, true);
  more.spec.continue_training = true;
  recording_observer refused_observer;
  const training_outcome refused = shared_engine().train(more, refused_observer);
  EXPECT_EQ(refused.state, job_state::failed);
  EXPECT_EQ(refused.error, error_code::storage_failed);
  EXPECT_NE(refused.message.find("checkpoint " + latest + " is unreadable ("), std::string::npos)
    << refused.message;
  EXPECT_NE(refused.message.find("delete it to train the tool from scratch"), std::string::npos)
    << refused.message;
}

TEST(EngineStop, StopAfterFirstIterationLeavesAConsistentTool) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  temp_folder workspace("engine");
  const std::string ws = workspace.str();
  recording_observer observer;
  observer.stop_after_iteration = 1;
  const training_request request = make_request(20, "stopper", ws, 5);
  const training_outcome outcome = shared_engine().train(request, observer);

  EXPECT_EQ(outcome.state, job_state::stopped);
  EXPECT_EQ(outcome.trained_iterations, 1);
  EXPECT_EQ(outcome.best_iteration, 1);
  EXPECT_FALSE(outcome.message.empty());
  ASSERT_EQ(observer.reports.size(), 1u);
  // The stopped tool is usable: best weights, final metrics on the test set, one metrics row.
  EXPECT_TRUE(outcome.final_metrics.count("test_accuracy"));
  EXPECT_EQ(read_lines(tool_file(ws, "stopper", tool_files::metrics_csv)).size(), 2u);
  EXPECT_TRUE(fs::exists(tool_file(ws, "stopper", tool_files::best)));
  EXPECT_TRUE(fs::exists(tool_file(ws, "stopper", tool_files::metrics_json)));
  EXPECT_FALSE(fs::exists(tool_file(ws, "stopper", "checkpoint.pt.tmp")));

  // The checkpoint holds iteration 1 of a 5-iteration job: running the job again resumes there.
  recording_observer again;
  again.stop_after_iteration = 2;
  const training_outcome resumed = shared_engine().train(request, again);
  EXPECT_EQ(resumed.state, job_state::stopped);
  ASSERT_EQ(again.reports.size(), 1u);
  EXPECT_EQ(again.reports[0].iteration, 2);
  EXPECT_EQ(again.reports[0].target_iterations, 5);
}

TEST(EngineContinue, ContinuedTrainingCarriesIterationsAndEarlyStoppingState) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  temp_folder workspace("engine");
  const std::string ws = workspace.str();

  // min_delta = 1: no iteration after the first can count as an improvement, so the patience
  // counter climbs 0, 1 in the first job and must go on 2, 3 in the continued one.
  training_request first = make_request(30, "carried", ws, 2);
  first.spec.settings.min_delta = 1.0;
  recording_observer first_observer;
  const training_outcome a = shared_engine().train(first, first_observer);
  ASSERT_EQ(a.state, job_state::completed) << a.message;
  ASSERT_EQ(first_observer.reports.size(), 2u);
  EXPECT_EQ(first_observer.reports[1].patience_counter, 1);

  training_request more = make_request(31, "carried", ws, 2);
  more.spec.continue_training = true;
  more.spec.settings.min_delta = 1.0;
  more.spec.settings.batch_size = 0;  // auto on continue: the tool's batch size, no probing
  recording_observer more_observer;
  const training_outcome b = shared_engine().train(more, more_observer);
  ASSERT_EQ(b.state, job_state::completed) << b.message;
  EXPECT_EQ(b.trained_iterations, 4);
  EXPECT_EQ(b.batch_size, 64);
  ASSERT_EQ(more_observer.reports.size(), 2u);
  EXPECT_EQ(more_observer.reports[0].iteration, 3);
  EXPECT_EQ(more_observer.reports[1].iteration, 4);
  EXPECT_EQ(more_observer.reports[1].target_iterations, 4);
  EXPECT_EQ(more_observer.reports[0].best_iteration, 1);
  EXPECT_EQ(more_observer.reports[0].patience_counter, 2);
  EXPECT_EQ(more_observer.reports[1].patience_counter, 3);
  EXPECT_EQ(more_observer.reports[1].best_value, first_observer.reports[0].best_value);
  EXPECT_EQ(b.best_iteration, 1);
  EXPECT_EQ(read_lines(tool_file(ws, "carried", tool_files::metrics_csv)).size(), 5u);

  // Another split is refused, with the reason and what to do.
  training_request elsewhere = make_request(32, "carried", ws, 2);
  elsewhere.spec.continue_training = true;
  elsewhere.spec.split = "other";
  recording_observer refused_observer;
  const training_outcome refused = shared_engine().train(elsewhere, refused_observer);
  EXPECT_EQ(refused.state, job_state::failed);
  EXPECT_NE(refused.message.find("tool carried was trained on split small"), std::string::npos)
      << refused.message;
  EXPECT_EQ(refused.error, error_code::split_mismatch);
  EXPECT_NE(refused.message.find("same split"), std::string::npos) << refused.message;
  EXPECT_TRUE(refused_observer.reports.empty());
  // ... and leaves the tool as it was.
  EXPECT_EQ(read_lines(tool_file(ws, "carried", tool_files::metrics_csv)).size(), 5u);

  // Continuing a tool that never trained says to train it first.
  training_request orphan = make_request(33, "never-trained", ws, 2);
  orphan.spec.continue_training = true;
  recording_observer orphan_observer;
  const training_outcome none = shared_engine().train(orphan, orphan_observer);
  EXPECT_EQ(none.state, job_state::failed);
  EXPECT_NE(none.message.find("has no trained state to continue; run a job without continue first"),
            std::string::npos)
      << none.message;
}

TEST(EngineDivergence, ADivergedJobFailsSayingSoAndKeepsTheLastFiniteWeights) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  temp_folder workspace("engine");
  const std::string ws = workspace.str();
  training_request first = make_request(40, "blown", ws, 2);
  recording_observer first_observer;
  const training_outcome a = shared_engine().train(first, first_observer);
  ASSERT_EQ(a.state, job_state::completed) << a.message;
  const std::string best_file = tool_file(ws, "blown", tool_files::best);
  const std::string checkpoint_file = tool_file(ws, "blown", tool_files::checkpoint);
  const std::string best = read_file(best_file);
  const std::string checkpoint = read_file(checkpoint_file);

  // Continued at an absurd learning rate, the loss leaves the numbers in iteration 3.
  training_request more = make_request(41, "blown", ws, 2);
  more.spec.continue_training = true;
  more.spec.settings.learning_rate = 1e30;
  recording_observer more_observer;
  const training_outcome b = shared_engine().train(more, more_observer);
  EXPECT_EQ(b.state, job_state::failed);
  EXPECT_EQ(b.error, error_code::training_failed);
  EXPECT_NE(b.message.find("training diverged in iteration 3"), std::string::npos) << b.message;
  EXPECT_NE(b.message.find("The weights of iteration 2 are kept. Lower learning_rate (now "
                           "1e+30)"),
            std::string::npos)
      << b.message;
  EXPECT_TRUE(more_observer.reports.empty());
  // Nothing of the diverged iteration reached the tool's files.
  EXPECT_EQ(read_file(best_file), best);
  EXPECT_EQ(read_file(checkpoint_file), checkpoint);
}

TEST(EngineBatchProbe, PicksTheFastestSizeThatFitsASimulatedBudget) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  temp_folder workspace("engine");
  const std::string ws = workspace.str();
  // Peaks: 8 → 180, 16 → 260, 32 → 420, 64 → 740 bytes; allowed = 700 * (1 - 0.2) = 560.
  torch_engine_options options;
  options.meter = std::make_shared<simulated_meter>(700, 8, 100, 10);
  options.probe.min_batch = 8;
  options.probe.max_batch = 256;
  options.probe.margin = 0.2;
  // Measured throughput is noise under a loaded machine: never give up on slow sizes here, so the
  // rows depend on the simulated memory alone.
  options.probe.give_up_ratio = 0;
  options.probe_steps = 2;
  auto engine = make_torch_engine(options);
  training_request request = make_request(40, "probed", ws, 1);
  request.spec.settings.batch_size = 0;
  recording_observer observer;
  const training_outcome outcome = engine->train(request, observer);
  ASSERT_EQ(outcome.state, job_state::completed) << outcome.message;

  ASSERT_TRUE(observer.probe.has_value());
  const probe_result& probe = *observer.probe;
  ASSERT_EQ(probe.rows.size(), 4u);  // 8, 16, 32 fit; 64 is over and ends the search
  EXPECT_FALSE(probe.rows[3].fits);
  int fastest = 0;
  double best = -1;
  for (const probe_row& row : probe.rows) {
    EXPECT_LE(row.peak_bytes, row.fits ? 560u : ~0u);
    if (row.fits) {
      EXPECT_GT(row.train_images_per_s, 0) << row.batch_size;
      EXPECT_GT(row.infer_images_per_s, 0) << row.batch_size;
      if (row.train_images_per_s > best) {
        best = row.train_images_per_s;
        fastest = row.batch_size;
      }
    }
  }
  EXPECT_LE(probe.train_batch_size, 32);
  EXPECT_EQ(probe.train_batch_size, fastest);
  EXPECT_EQ(outcome.batch_size, fastest);
  ASSERT_EQ(observer.reports.size(), 1u);
  EXPECT_EQ(observer.reports[0].batch_size, fastest);

  auto saved = probe_result_from_json(read_file(tool_file(ws, "probed", tool_files::probe)));
  ASSERT_TRUE(saved) << saved.error().message;
  EXPECT_EQ(saved->train_batch_size, fastest);
  EXPECT_EQ(saved->rows.size(), probe.rows.size());
  EXPECT_EQ(saved->budget_bytes, 700u);
}

TEST(EngineBatchProbe, NothingFittingFailsWithOutOfMemoryAdvice) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  temp_folder workspace("engine");
  torch_engine_options options;
  options.meter = std::make_shared<simulated_meter>(100, 8, 100, 10);
  options.probe_steps = 1;
  auto engine = make_torch_engine(options);
  training_request request = make_request(41, "too-big", workspace.str(), 1);
  request.spec.settings.batch_size = 0;
  recording_observer observer;
  const training_outcome outcome = engine->train(request, observer);
  EXPECT_EQ(outcome.state, job_state::failed);
  EXPECT_EQ(outcome.error, error_code::out_of_memory);
  EXPECT_NE(outcome.message.find("out of memory"), std::string::npos) << outcome.message;
  EXPECT_NE(outcome.message.find("batch_size"), std::string::npos) << outcome.message;
  EXPECT_TRUE(observer.reports.empty());
}

// A folder dataset written from Fashion-MNIST pixels: two classes, PNG files.
class EngineFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::fashion_mnist_installed())
      GTEST_SKIP() << "Fashion-MNIST is not installed";
    dataset_spec idx;
    idx.path = testing::fashion_mnist_folder();
    idx.subset = "test";
    auto index = load_dataset_index(idx);
    ASSERT_TRUE(index);
    auto pixels = load_idx_images(idx);
    ASSERT_TRUE(pixels);
    const image_geometry gray{1, 28, 28};
    int written[2] = {0, 0};
    for (std::size_t i = 0; i < index->size() && (written[0] < 60 || written[1] < 60); ++i) {
      const int label = index->labels[i];
      const int cls = label == 1 ? 0 : label == 7 ? 1 : -1;  // trouser, sneaker
      if (cls < 0 || written[cls] >= 60)
        continue;
      const fs::path dir = root_.path() / (cls == 0 ? "trouser" : "sneaker");
      fs::create_directories(dir);
      char name[32];
      std::snprintf(name, sizeof name, "%03d.png", written[cls]++);
      ASSERT_TRUE(write_png((dir / name).string(), gray, pixels->pixels.data() + i * 784));
    }
    dataset.name = "shoes-and-trousers";
    dataset.kind = dataset_kind::image_folder;
    dataset.path = root_.str();
    dataset.color = true;  // decoded as RGB: three equal channels
  }

  training_request request(job_id id, const std::string& tool) {
    auto index = load_dataset_index(dataset);
    EXPECT_TRUE(index) << (index ? "" : index.error().message);
    split_spec split;
    split.name = "folder-split";
    split.mode = split_mode::count;
    split.train = 80;
    split.validation = 20;
    split.test = 20;
    auto assignment = make_split(*index, split);
    EXPECT_TRUE(assignment) << (assignment ? "" : assignment.error().message);
    training_request r;
    r.job = id;
    r.spec.name = tool;
    r.spec.tool.name = tool;
    r.spec.tool.input_width = 32;  // resized from 28
    r.spec.tool.input_height = 32;
    r.spec.tool.model_width = 8;
    r.spec.split = split.name;
    r.spec.settings.iterations = 2;
    r.spec.settings.batch_size = 16;
    r.dataset = dataset;
    r.assignment = *assignment;
    r.workspace = workspace_.str();
    return r;
  }

  temp_folder root_{"folder"};
  temp_folder workspace_{"engine"};
  dataset_spec dataset;
};

TEST_F(EngineFolder, AOneClassDatasetIsRefusedSayingWhatToDoInstead) {
  training_request r = request(52, "one-class");
  fs::remove_all(root_.path() / "sneaker");  // only trousers are left
  auto index = load_dataset_index(dataset);
  ASSERT_TRUE(index) << index.error().message;
  split_spec split;
  split.name = r.spec.split;
  split.mode = split_mode::count;
  split.train = 40;
  split.validation = 10;
  split.test = 10;
  r.assignment = *make_split(*index, split);
  recording_observer observer;
  const training_outcome outcome = shared_engine().train(r, observer);
  EXPECT_EQ(outcome.state, job_state::failed);
  EXPECT_EQ(outcome.error, error_code::invalid_config);
  EXPECT_NE(outcome.message.find("has one class ('trouser'); a classify tool needs at least two"),
            std::string::npos)
      << outcome.message;
  EXPECT_TRUE(observer.reports.empty());
}

TEST_F(EngineFolder, ColourFolderDatasetTrains) {
  recording_observer observer;
  const training_outcome outcome = shared_engine().train(request(50, "folder-tool"), observer);
  ASSERT_EQ(outcome.state, job_state::completed) << outcome.message;
  EXPECT_GT(outcome.final_metrics.at("test_accuracy"), 0.8);  // trousers vs sneakers is easy
  auto record = tool_state_from_json(
      read_file(tool_file(workspace_.str(), "folder-tool", tool_files::settings)), "settings");
  ASSERT_TRUE(record);
  EXPECT_EQ(record->channels, 3);
  EXPECT_EQ(record->class_names, (std::vector<std::string>{"sneaker", "trouser"}));
}

TEST_F(EngineFolder, CorruptImageFailsNamingTheFileAndKeepsTheTrainedTool) {
  recording_observer first;
  ASSERT_EQ(shared_engine().train(request(51, "corrupt-tool"), first).state, job_state::completed);
  const fs::path bad = root_.path() / "sneaker" / "zz-broken.png";
  {
    std::ofstream out(bad, std::ios::binary);
    std::mt19937 rng(1);
    for (int i = 0; i < 500; ++i)
      out.put(static_cast<char>(rng() & 0xff));
  }
  recording_observer observer;
  const training_outcome outcome = shared_engine().train(request(52, "corrupt-tool"), observer);
  EXPECT_EQ(outcome.state, job_state::failed);
  EXPECT_EQ(outcome.error, error_code::image_corrupt);
  EXPECT_NE(outcome.message.find("zz-broken.png"), std::string::npos) << outcome.message;
  EXPECT_NE(outcome.message.find("remove or replace"), std::string::npos) << outcome.message;
  EXPECT_TRUE(observer.reports.empty());
  // The failed job did not wipe the tool the previous job trained.
  const std::string folder = tool_folder(workspace_.str(), "corrupt-tool");
  EXPECT_TRUE(fs::exists(folder + "/" + tool_files::best));
  EXPECT_EQ(read_lines(folder + "/" + tool_files::metrics_csv).size(), 3u);
}

TEST(EngineRequest, InvalidRequestsFailWithAReason) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  temp_folder workspace("engine");
  recording_observer observer;
  training_request request = make_request(60, "bad", workspace.str(), 1);
  request.spec.settings.devices = 2;
  training_outcome outcome = shared_engine().train(request, observer);
  EXPECT_EQ(outcome.state, job_state::failed);
  EXPECT_NE(outcome.message.find("devices"), std::string::npos) << outcome.message;

  request = make_request(61, "bad", workspace.str(), 1);
  request.assignment.resize(10);
  outcome = shared_engine().train(request, observer);
  EXPECT_EQ(outcome.state, job_state::failed);
  EXPECT_NE(outcome.message.find("redraw the split"), std::string::npos) << outcome.message;
}

}  // namespace
}  // namespace trainyard
