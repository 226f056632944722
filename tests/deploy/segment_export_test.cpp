// A segment tool trained for real on a small generated set (generated_sets.hpp), exported, opened
// with trainyard_runtime and run on the same image files as `trainyard predict` through LibTorch:
// the masks, labels and scores must agree. Two stages (instance segmentation: two object labels,
// trained with flips, so mirror views too) and one stage (one object label, no flips), 8 epochs of
// 140 images: seconds to tens of seconds on 2 cores. An export lacking a setting or the item
// classifier is refused, naming it.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "deploy/trainyard_runtime.hpp"
#include "tests/support/generated_sets.hpp"
#include "tests/support/torch_test_support.hpp"

namespace trainyard {
namespace {

namespace fs = std::filesystem;
using testing::generated_set;

/// Trains segment tool `tool` of `workspace` on `set` for `epochs`, at an input of `size`.
void train_segment_tool(job_id id, const generated_set& set, const std::string& workspace,
                        const std::string& tool, int epochs, bool flips, cv::Size size) {
  training_request r = testing::kind_request(id, "segment", tool, set, workspace, epochs, 16, 16,
                                             size.width);
  r.spec.tool.input_height = size.height;
  r.spec.settings.augmentation.flip_horizontal = flips;
  testing::recording_observer observer;
  const training_outcome outcome = testing::shared_engine().train(r, observer);
  ASSERT_EQ(outcome.state, job_state::completed) << outcome.message;
}

/// The test images of the set: `objects` with an item, then `empty` without.
std::vector<std::string> test_files(const generated_set& set, std::size_t objects,
                                    std::size_t empty) {
  std::vector<std::string> with, without;
  for (std::int64_t i : images_in(set.assignment, test_set)) {
    const std::string& file = set.index.files[static_cast<std::size_t>(i)];
    const bool object = fs::path(file).parent_path().filename() == "object";
    if (object && with.size() < objects)
      with.push_back(file);
    else if (!object && without.size() < empty)
      without.push_back(file);
  }
  with.insert(with.end(), without.begin(), without.end());
  return with;
}

/// Exports `tool` (`batch`: the networks' batch dimension, 0 dynamic), runs it through
/// trainyard_runtime (at the export's best batch) and through predict on `files`, and checks
/// that they agree: >= 99.9% of the pixels, the same image labels, scores within 1e-4.
/// `per_label` receives the pixels predict gave each label.
void expect_same_predictions(const std::string& workspace, const std::string& tool,
                             std::int64_t batch, const std::vector<std::string>& files,
                             std::vector<std::int64_t>& per_label) {
  const std::string exported = workspace + "/export-" + tool;
  auto summary = export_tool(workspace, tool, exported, batch, {});
  ASSERT_TRUE(summary) << summary.error().message;
  std::string error;
  const auto onnx = deploy::tool::open(exported, error);
  ASSERT_TRUE(onnx) << error;
  auto predicted = predict_images(workspace, tool, files, workspace + "/predicted-" + tool);
  ASSERT_TRUE(predicted) << predicted.error().message;
  EXPECT_EQ(onnx->info().kind, "segment");
  const std::vector<deploy::result> results = onnx->run_files(files);
  ASSERT_EQ(results.size(), files.size());
  ASSERT_EQ(predicted->size(), files.size());
  std::int64_t pixels = 0, agree = 0;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const deploy::result& r = results[i];
    const prediction& p = (*predicted)[i];
    ASSERT_TRUE(r.error.empty()) << r.error;
    const cv::Mat mask = cv::imread(p.files.at(0), cv::IMREAD_UNCHANGED);
    ASSERT_EQ(mask.type(), CV_8UC1);
    ASSERT_EQ(r.labels.type(), CV_8UC1);
    ASSERT_EQ(r.labels.size(), mask.size());
    pixels += static_cast<std::int64_t>(mask.total());
    agree += static_cast<std::int64_t>(mask.total()) - cv::countNonZero(mask != r.labels);
    EXPECT_EQ(r.label, p.label) << files[i];
    EXPECT_EQ(r.label_name, p.label_name) << files[i];
    EXPECT_NEAR(r.score, p.score, 1e-4) << files[i];
    for (std::size_t l = 0; l < per_label.size(); ++l)
      per_label[l] += cv::countNonZero(mask == static_cast<int>(l));
  }
  EXPECT_GE(static_cast<double>(agree), 0.999 * static_cast<double>(pixels))
      << pixels - agree << " of " << pixels << " pixels differ";
  std::printf("%s: %lld of %lld pixels agree\n", tool.c_str(), static_cast<long long>(agree),
              static_cast<long long>(pixels));
}

/// Opening the export folder fails, naming `what` and saying to export again.
void expect_refused(const std::string& folder, const std::string& what) {
  std::string error;
  EXPECT_FALSE(deploy::tool::open(folder, error));
  EXPECT_NE(error.find(what), std::string::npos) << error;
  EXPECT_NE(error.find("export the tool again"), std::string::npos) << error;
}

TEST(SegmentExport, ATwoStageToolRunsInOpenCvAsPredictDoesWithMirrorViews) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  testing::temp_folder data("segexpdata"), workspace("segexpws");
  const generated_set set =
      testing::make_segment_set(data.str(), testing::fashion_mnist_folder(), 200);
  train_segment_tool(520, set, workspace.str(), "seg2", 8, /*flips=*/true, cv::Size(40, 40));
  std::vector<std::int64_t> per_label(3, 0);
  expect_same_predictions(workspace.str(), "seg2", 0, test_files(set, 16, 4), per_label);
  // Both item labels predicted: the item classifier ran in both paths.
  EXPECT_GT(per_label[1], 0);
  EXPECT_GT(per_label[2], 0);

  // A folder that lacks a setting of the item finding, or the item classifier, is refused.
  const std::string exported = workspace.str() + "/export-seg2";
  const std::string description = exported + "/tool.json";
  const nlohmann::json written = nlohmann::json::parse(std::ifstream(description));
  nlohmann::json lacking = written;
  lacking["settings"].erase("offset_unit");
  std::ofstream(description) << lacking.dump();
  expect_refused(exported, "offset_unit");
  std::ofstream(description) << written.dump();
  fs::remove(exported + "/items.onnx");
  expect_refused(exported, "items.onnx");
}

TEST(SegmentExport, AOneStageToolOfOddInputSidesAndFixedBatchRunsInOpenCvAsPredictDoes) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  testing::temp_folder data("segexp1data"), workspace("segexp1ws");
  const generated_set set =
      testing::make_segment_set(data.str(), testing::fashion_mnist_folder(), 200);
  // One object label: the bags become shoes, the per-pixel head labels every pixel.
  std::ofstream(set.dataset.annotations) << "0 background 0 0 0\n1 item 230 25 75\n";
  for (const auto& entry : fs::directory_iterator(set.dataset.masks)) {
    cv::Mat mask = cv::imread(entry.path().string(), cv::IMREAD_UNCHANGED);
    mask.setTo(1, mask == 2);
    ASSERT_TRUE(cv::imwrite(entry.path().string(), mask));
  }
  // An input of odd, unequal sides: the U-Net's levels (42, 21, 10, 5 by 38, 19, 9, 4) are
  // upsampled by other factors than 2. The export has a fixed batch.
  train_segment_tool(521, set, workspace.str(), "seg1", 8, /*flips=*/false, cv::Size(42, 38));
  std::vector<std::int64_t> per_label(2, 0);
  // A fixed batch of 4 for 18 images: the last call has 2.
  expect_same_predictions(workspace.str(), "seg1", 4, test_files(set, 14, 4), per_label);
  EXPECT_GT(per_label[1], 0);
}

}  // namespace
}  // namespace trainyard
