// evaluate_tool and predict_images on a tool trained once for the suite (two iterations on the
// small Fashion-MNIST slice).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <random>

#include "runtime/store/spec_json.hpp"
#include "runtime/train/engine.hpp"
#include "runtime/train/images.hpp"
#include "runtime/train/tool_files.hpp"
#include "tests/support/torch_test_support.hpp"

namespace trainyard {
namespace {

namespace fs = std::filesystem;
using testing::fashion_slice;

class ToolOps : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!testing::fashion_mnist_installed())
      return;
    workspace_ = std::make_unique<testing::temp_folder>("toolops");
    testing::recording_observer observer;
    outcome_ = std::make_unique<training_outcome>(testing::shared_engine().train(
        testing::make_request(100, "judge", workspace_->str(), 2), observer));
  }
  static void TearDownTestSuite() {
    outcome_.reset();
    workspace_.reset();
  }
  void SetUp() override {
    if (!testing::fashion_mnist_installed())
      GTEST_SKIP() << "Fashion-MNIST is not installed";
    ASSERT_EQ(outcome_->state, job_state::completed) << outcome_->message;
  }
  static std::string workspace() { return workspace_->str(); }

  static std::unique_ptr<testing::temp_folder> workspace_;
  static std::unique_ptr<training_outcome> outcome_;
};
std::unique_ptr<testing::temp_folder> ToolOps::workspace_;
std::unique_ptr<training_outcome> ToolOps::outcome_;

TEST_F(ToolOps, EvaluateAgreesWithMetricsJsonAndCountsEveryImage) {
  const auto& slice = fashion_slice();
  auto result = evaluate_tool(workspace(), "judge", slice.dataset, slice.assignment, test_set);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->images, 500);
  ASSERT_EQ(result->class_names.size(), 10u);
  EXPECT_EQ(result->class_names[0], slice.index.class_names[0]);

  auto metrics = metric_map_from_json(testing::read_file(
      tool_folder(workspace(), "judge") + "/" + tool_files::metrics_json));
  ASSERT_TRUE(metrics);
  EXPECT_NEAR(result->accuracy, metrics->at("test_accuracy"), 1e-9);

  // Rows of the confusion matrix are the test set's class counts; the diagonal is what is right.
  std::vector<std::int64_t> per_class(10, 0);
  for (std::int64_t i : images_in(slice.assignment, test_set))
    ++per_class[static_cast<std::size_t>(slice.index.labels[static_cast<std::size_t>(i)])];
  ASSERT_EQ(result->confusion.size(), 10u);
  std::int64_t right = 0;
  for (std::size_t t = 0; t < 10; ++t) {
    ASSERT_EQ(result->confusion[t].size(), 10u);
    std::int64_t row = 0;
    for (std::int64_t v : result->confusion[t])
      row += v;
    EXPECT_EQ(row, per_class[t]) << "class " << t;
    right += result->confusion[t][t];
    EXPECT_NEAR(result->per_class_accuracy[t],
                static_cast<double>(result->confusion[t][t]) / static_cast<double>(per_class[t]),
                1e-12);
  }
  EXPECT_NEAR(result->accuracy, static_cast<double>(right) / 500.0, 1e-12);
  // Precision: the diagonal over the column (what was predicted as the class); F1 from both.
  ASSERT_EQ(result->per_class_precision.size(), 10u);
  ASSERT_EQ(result->per_class_f1.size(), 10u);
  double f1_sum = 0;
  for (std::size_t c = 0; c < 10; ++c) {
    std::int64_t predicted = 0;
    for (std::size_t t = 0; t < 10; ++t)
      predicted += result->confusion[t][c];
    const double r = result->per_class_accuracy[c];
    if (predicted == 0) {  // never predicted: no precision, and none of its images was found
      EXPECT_TRUE(std::isnan(result->per_class_precision[c])) << "class " << c;
      EXPECT_EQ(result->per_class_f1[c], 0.0) << "class " << c;
      continue;
    }
    const double p = static_cast<double>(result->confusion[c][c]) / static_cast<double>(predicted);
    EXPECT_NEAR(result->per_class_precision[c], p, 1e-12);
    EXPECT_NEAR(result->per_class_f1[c], p + r > 0 ? 2 * p * r / (p + r) : 0.0, 1e-12);
    f1_sum += result->per_class_f1[c];
  }
  EXPECT_NEAR(result->metrics.at("macro_f1"), f1_sum / 10, 1e-12);
  EXPECT_GT(result->metrics.at("macro_precision"), 0.5);  // chance is 0.1
}

TEST_F(ToolOps, AClassWithoutImagesInTheSetHasNoAccuracyRatherThanZero) {
  const auto& slice = fashion_slice();
  // The test images of class 3 move to the training set: the test set has none of it.
  std::vector<std::uint8_t> assignment = slice.assignment;
  for (std::size_t i = 0; i < assignment.size(); ++i)
    if (assignment[i] == test_set && slice.index.labels[i] == 3)
      assignment[i] = train_set;
  auto result = evaluate_tool(workspace(), "judge", slice.dataset, assignment, test_set);
  ASSERT_TRUE(result) << result.error().message;
  ASSERT_EQ(result->per_class_accuracy.size(), 10u);
  EXPECT_TRUE(std::isnan(result->per_class_accuracy[3])) << result->per_class_accuracy[3];
  for (std::size_t c = 0; c < 10; ++c)
    if (c != 3)
      EXPECT_FALSE(std::isnan(result->per_class_accuracy[c])) << "class " << c;
}

TEST_F(ToolOps, PredictGetsMostPngsRight) {
  const auto& slice = fashion_slice();
  auto pixels = load_idx_images(slice.dataset);
  ASSERT_TRUE(pixels);
  testing::temp_folder images("predict");
  std::vector<std::string> files;
  std::vector<int> truth;
  const auto test = images_in(slice.assignment, test_set);
  for (std::size_t k = 0; k < 60; ++k) {
    const auto i = static_cast<std::size_t>(test[k]);
    const std::string file = images.str() + "/image-" + std::to_string(k) + ".png";
    ASSERT_TRUE(write_png(file, image_geometry{1, 28, 28}, pixels->pixels.data() + i * 784));
    files.push_back(file);
    truth.push_back(slice.index.labels[i]);
  }
  auto predictions = predict_images(workspace(), "judge", files);
  ASSERT_TRUE(predictions) << predictions.error().message;
  ASSERT_EQ(predictions->size(), files.size());
  int right = 0;
  for (std::size_t k = 0; k < files.size(); ++k) {
    const prediction& p = (*predictions)[k];
    EXPECT_EQ(p.image, files[k]);
    ASSERT_GE(p.label, 0);
    ASSERT_LT(p.label, 10);
    EXPECT_EQ(p.label_name, slice.index.class_names[static_cast<std::size_t>(p.label)]);
    EXPECT_GT(p.score, 0.1);  // the winning softmax probability of ten classes
    EXPECT_LE(p.score, 1.0);
    right += p.label == truth[k];
  }
  EXPECT_GE(right, 42) << "of 60";  // the tool scores about 0.8 on the test set
}

TEST_F(ToolOps, AnUnreadableImageIsNamedAndTheOthersArePredictedAllTheSame) {
  const auto& slice = fashion_slice();
  auto pixels = load_idx_images(slice.dataset);
  ASSERT_TRUE(pixels);
  testing::temp_folder images("predict");
  const std::string bad = images.str() + "/garbage.png";
  {
    std::ofstream out(bad, std::ios::binary);
    std::mt19937 rng(3);
    for (int i = 0; i < 300; ++i)
      out.put(static_cast<char>(rng() & 0xff));
  }
  const std::string missing = images.str() + "/nowhere.png";
  const std::string good = images.str() + "/good.png";
  ASSERT_TRUE(write_png(good, image_geometry{1, 28, 28}, pixels->pixels.data()));
  auto predictions = predict_images(workspace(), "judge", {bad, good, missing, good});
  ASSERT_TRUE(predictions) << predictions.error().message;
  ASSERT_EQ(predictions->size(), 4u);
  const prediction& corrupt = (*predictions)[0];
  EXPECT_EQ(corrupt.image, bad);
  EXPECT_NE(corrupt.error.find("garbage.png"), std::string::npos) << corrupt.error;
  EXPECT_NE(corrupt.error.find("remove or replace"), std::string::npos) << corrupt.error;
  const prediction& absent = (*predictions)[2];
  EXPECT_EQ(absent.image, missing);
  EXPECT_NE(absent.error.find("nowhere.png"), std::string::npos) << absent.error;
  // In the order given, the good image twice with the same answer.
  for (std::size_t k : {1u, 3u}) {
    const prediction& p = (*predictions)[k];
    EXPECT_EQ(p.image, good);
    EXPECT_TRUE(p.error.empty()) << p.error;
    EXPECT_GE(p.label, 0);
    EXPECT_EQ(p.label, (*predictions)[1].label);
  }
}

// A tool folder damaged outside trainyard (a truncated copy, a hand edit): each file is named
// with what to do, not taken for a tool.
TEST_F(ToolOps, ATruncatedBestPtOrAMalformedSettingsJsonIsNamedWithWhatToDo) {
  const auto judge = fs::path(workspace()) / "tools" / "judge";
  const auto damaged = fs::path(workspace()) / "tools" / "damaged";
  fs::copy(judge, damaged, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  const auto& slice = fashion_slice();
  const auto truncate_half = [](const fs::path& file) {
    fs::resize_file(file, fs::file_size(file) / 2);
  };

  truncate_half(damaged / tool_files::best);
  auto weights = evaluate_tool(workspace(), "damaged", slice.dataset, slice.assignment, test_set);
  ASSERT_FALSE(weights);
  EXPECT_EQ(weights.error().code, error_code::storage_failed);
  EXPECT_NE(weights.error().message.find("weights " + (damaged / tool_files::best).string()),
            std::string::npos)
    << weights.error().message;
  EXPECT_NE(weights.error().message.find("train the tool again"), std::string::npos);

  fs::copy_file(judge / tool_files::best, damaged / tool_files::best,
                fs::copy_options::overwrite_existing);
  truncate_half(damaged / tool_files::settings);
  auto settings = predict_images(workspace(), "damaged", {"x.png"});
  ASSERT_FALSE(settings);
  EXPECT_EQ(settings.error().code, error_code::storage_failed);
  EXPECT_NE(settings.error().message.find((damaged / tool_files::settings).string() +
                                          " is malformed"),
            std::string::npos)
    << settings.error().message;
  EXPECT_NE(settings.error().message.find("train the tool again"), std::string::npos);
}

TEST_F(ToolOps, UntrainedToolIsUnknown) {
  auto none = predict_images(workspace(), "nobody", {"x.png"});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, error_code::unknown_tool);
  EXPECT_EQ(none.error().message,
            "tool nobody has no trained weights in " + workspace() + "; train it first");
  const auto& slice = fashion_slice();
  auto evaluated = evaluate_tool(workspace(), "nobody", slice.dataset, slice.assignment, test_set);
  ASSERT_FALSE(evaluated);
  EXPECT_EQ(evaluated.error().code, error_code::unknown_tool);
}

}  // namespace
}  // namespace trainyard
