// The training recipe settings through the real engine on the small Fashion-MNIST slice:
// optimizers and schedules train, weight averaging changes what best.pt keeps but not the
// training itself, test-time flips make a tool answer an image and its mirror alike, and an auto
// job on a small set plans more iterations.
#include <gtest/gtest.h>

#include <filesystem>

#include "runtime/policy/job_length.hpp"
#include "runtime/train/diagnostics.hpp"
#include "runtime/train/engine.hpp"
#include "runtime/train/images.hpp"
#include "runtime/train/tool_files.hpp"
#include "tests/support/torch_test_support.hpp"

namespace trainyard {
namespace {

using testing::fashion_slice;
using testing::make_request;
using testing::recording_observer;
using testing::shared_engine;
using testing::temp_folder;

std::map<std::string, std::string> best_weights(const std::string& workspace,
                                                const std::string& tool) {
  auto weights = read_weight_bytes(tool_folder(workspace, tool) + "/" + tool_files::best);
  EXPECT_TRUE(weights) << (weights ? "" : weights.error().message);
  return weights ? *weights : std::map<std::string, std::string>{};
}

TEST(Recipe, EveryOptimizerAndScheduleTrainsWellAboveChance) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  temp_folder workspace("recipe");
  const struct {
    const char* optimizer;
    const char* schedule;
    double learning_rate;
  } cases[] = {{"adam", "constant", 1e-3}, {"adamw", "cosine", 2e-3}, {"sgd", "one_cycle", 0.05}};
  job_id id = 1;
  for (const auto& c : cases) {
    training_request r = make_request(id++, std::string("t-") + c.optimizer, workspace.str(), 2);
    r.spec.settings.optimizer = c.optimizer;
    r.spec.settings.schedule = c.schedule;
    r.spec.settings.learning_rate = c.learning_rate;
    recording_observer observer;
    const training_outcome outcome = shared_engine().train(r, observer);
    ASSERT_EQ(outcome.state, job_state::completed) << c.optimizer << ": " << outcome.message;
    // Ten classes: chance is 0.1; two passes over 2,000 images reach about 0.7.
    EXPECT_GT(outcome.final_metrics.at("test_accuracy"), 0.5) << c.optimizer << " " << c.schedule;
  }
}

TEST(Recipe, WeightAveragingChangesWhatBestPtKeepsButNotTheTrainingItself) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  temp_folder workspace("recipe");
  const std::string ws = workspace.str();
  training_request raw = make_request(10, "raw", ws, 1, true);
  raw.spec.settings.weight_averaging = 0;
  training_request averaged = make_request(11, "averaged", ws, 1, true);
  averaged.spec.settings.weight_averaging = 0.9;
  recording_observer raw_observer, averaged_observer;
  ASSERT_EQ(shared_engine().train(raw, raw_observer).state, job_state::completed);
  const training_outcome outcome = shared_engine().train(averaged, averaged_observer);
  ASSERT_EQ(outcome.state, job_state::completed) << outcome.message;
  // The optimizer stepped the same raw weights through the same batches...
  EXPECT_EQ(raw_observer.reports.at(0).metrics.at("train_loss"),
            averaged_observer.reports.at(0).metrics.at("train_loss"));
  // ... while validation measured, and best.pt kept, their average.
  EXPECT_NE(raw_observer.reports.at(0).metrics.at("val_loss"),
            averaged_observer.reports.at(0).metrics.at("val_loss"));
  EXPECT_NE(best_weights(ws, "raw"), best_weights(ws, "averaged"));
  // evaluate reads best.pt: it reproduces the validation the averaged weights were chosen by.
  const auto& slice = fashion_slice();
  auto evaluated = evaluate_tool(ws, "averaged", slice.dataset, slice.assignment, validation_set);
  ASSERT_TRUE(evaluated) << evaluated.error().message;
  EXPECT_NEAR(evaluated->accuracy, averaged_observer.reports.at(0).metrics.at("val_accuracy"),
              1e-9);
}

TEST(Recipe, TestTimeFlipsMakeAToolAnswerAnImageAndItsMirrorAlike) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  temp_folder workspace("recipe");
  const std::string ws = workspace.str();
  const auto& slice = fashion_slice();
  auto pixels = load_idx_images(slice.dataset);
  ASSERT_TRUE(pixels);
  temp_folder images("mirror");
  std::vector<std::string> originals, mirrors;
  const auto test = images_in(slice.assignment, test_set);
  for (std::size_t k = 0; k < 20; ++k) {
    const std::uint8_t* p = pixels->pixels.data() + static_cast<std::size_t>(test[k]) * 784;
    std::vector<std::uint8_t> mirrored(784);
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 28; ++x)
        mirrored[static_cast<std::size_t>(y * 28 + x)] = p[y * 28 + (27 - x)];
    originals.push_back(images.str() + "/image-" + std::to_string(k) + ".png");
    mirrors.push_back(images.str() + "/mirror-" + std::to_string(k) + ".png");
    ASSERT_TRUE(write_png(originals.back(), image_geometry{1, 28, 28}, p));
    ASSERT_TRUE(write_png(mirrors.back(), image_geometry{1, 28, 28}, mirrored.data()));
  }
  const auto differing_scores = [&](const std::string& tool, bool flips) {
    training_request r = make_request(flips ? 20 : 21, tool, ws, 1);
    r.spec.settings.augmentation.flip_horizontal = true;
    r.spec.settings.augmentation.test_time_flips = flips;
    recording_observer observer;
    const training_outcome outcome = shared_engine().train(r, observer);
    EXPECT_EQ(outcome.state, job_state::completed) << outcome.message;
    auto a = predict_images(ws, tool, originals);
    auto b = predict_images(ws, tool, mirrors);
    EXPECT_TRUE(a && b);
    int differ = 0;
    for (std::size_t k = 0; a && b && k < originals.size(); ++k)
      differ += (*a)[k].label != (*b)[k].label || (*a)[k].score != (*b)[k].score;
    return differ;
  };
  // The mean of an image's and its mirror's logits is the same sum either way round.
  EXPECT_EQ(differing_scores("mirrored", true), 0);
  EXPECT_GT(differing_scores("single", false), 0);
}

TEST(Recipe, AnAutoJobOnASmallSetPlansMoreIterationsAndAFixedCountStays) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  temp_folder workspace("recipe");
  const auto small = testing::make_fashion_slice(7, 25, 100, 0);
  training_request r = make_request(30, "few", workspace.str(), 0);
  r.assignment = small.assignment;
  recording_observer observer;
  observer.stop_after_iteration = 1;
  const training_outcome outcome = shared_engine().train(r, observer);
  EXPECT_EQ(outcome.state, job_state::stopped) << outcome.message;
  ASSERT_EQ(observer.reports.size(), 1u);
  EXPECT_EQ(observer.reports[0].target_iterations, 400);  // 10,000 images seen

  training_request fixed = make_request(31, "few-fixed", workspace.str(), 5);
  fixed.assignment = small.assignment;
  recording_observer fixed_observer;
  fixed_observer.stop_after_iteration = 1;
  shared_engine().train(fixed, fixed_observer);
  ASSERT_EQ(fixed_observer.reports.size(), 1u);
  EXPECT_EQ(fixed_observer.reports[0].target_iterations, 5);
}

TEST(Recipe, AToolStartedFromAnotherBeginsWithItsWeightsAndMismatchedInputsAreRefused) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  temp_folder workspace("recipe");
  const std::string ws = workspace.str();
  training_request source = make_request(40, "source", ws, 2);
  recording_observer source_observer;
  ASSERT_EQ(shared_engine().train(source, source_observer).state, job_state::completed);
  const double source_accuracy = source_observer.reports.back().metrics.at("val_accuracy");
  ASSERT_GT(source_accuracy, 0.5);

  // A learning rate too small to move the weights: what the first validation measures is where
  // the tool started.
  const auto first_accuracy = [&](job_id id, const std::string& tool, const std::string& from) {
    training_request r = make_request(id, tool, ws, 1);
    r.spec.initialize_from = from;
    r.spec.settings.learning_rate = 1e-9;
    r.spec.settings.weight_averaging = 0;
    recording_observer observer;
    const training_outcome outcome = shared_engine().train(r, observer);
    EXPECT_EQ(outcome.state, job_state::completed) << outcome.message;
    return observer.reports.empty() ? 0.0 : observer.reports[0].metrics.at("val_accuracy");
  };
  EXPECT_GT(first_accuracy(41, "started", "source"), source_accuracy - 0.05);
  EXPECT_LT(first_accuracy(42, "fresh", ""), 0.4);  // random weights: near chance (0.1)

  training_request wider = make_request(43, "wider", ws, 1);
  wider.spec.initialize_from = "source";
  wider.spec.tool.input_width = 32;
  recording_observer refused_observer;
  const training_outcome refused = shared_engine().train(wider, refused_observer);
  EXPECT_EQ(refused.state, job_state::failed);
  EXPECT_NE(refused.message.find("cannot start from tool source: source takes 28x28 images of 1 "
                                 "channel(s), wider 32x28 of 1"),
            std::string::npos)
      << refused.message;
  EXPECT_TRUE(refused_observer.reports.empty());

  training_request orphan = make_request(44, "orphan", ws, 1);
  orphan.spec.initialize_from = "nobody";
  recording_observer orphan_observer;
  const training_outcome none = shared_engine().train(orphan, orphan_observer);
  EXPECT_EQ(none.state, job_state::failed);
  EXPECT_NE(none.message.find("nobody"), std::string::npos) << none.message;
}

}  // namespace
}  // namespace trainyard
