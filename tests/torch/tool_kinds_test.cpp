// The segment and anomaly tools trained for real by the engine on small generated sets
// (generated_sets.hpp), then evaluated and used for predictions like the CLI does; and the
// locate hook's refusal. Each training takes a few seconds on 2 cores.
#include <gtest/gtest.h>

#include <filesystem>

#include "runtime/torch/images.hpp"
#include "tests/torch/generated_sets.hpp"
#include "tests/torch/torch_test_support.hpp"

namespace trainyard {
namespace {

namespace fs = std::filesystem;
using testing::generated_set;

training_request kind_request(job_id id, tool_kind kind, const std::string& tool,
                              const generated_set& set, const std::string& workspace,
                              int iterations, int batch, int width, int size) {
  training_request r;
  r.job = id;
  r.spec.name = "job-" + std::to_string(id);
  r.spec.tool.name = tool;
  r.spec.tool.kind = kind;
  r.spec.tool.dataset = set.dataset.name;
  r.spec.tool.input_width = size;
  r.spec.tool.input_height = size;
  r.spec.tool.model_width = width;
  r.spec.split = "generated";
  r.spec.settings.iterations = iterations;
  r.spec.settings.batch_size = batch;
  r.spec.settings.learning_rate = 3e-3;
  r.dataset = set.dataset;
  r.assignment = set.assignment;
  r.workspace = workspace;
  return r;
}

std::vector<std::string> files_in_set(const generated_set& set, split_set which, std::size_t n) {
  std::vector<std::string> files;
  for (std::int64_t i : images_in(set.assignment, which))
    if (files.size() < n)
      files.push_back(set.index.files[static_cast<std::size_t>(i)]);
  return files;
}

TEST(SegmentTool, LearnsMasksWellAboveTheBackgroundBaselineAndDrawsPredictions) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  testing::temp_folder data("segdata"), workspace("segws");
  const generated_set set = testing::make_segment_set(data.str(), testing::fashion_mnist_folder());
  testing::recording_observer observer;
  const training_outcome outcome = testing::shared_engine().train(
      kind_request(500, tool_kind::segment, "seg", set, workspace.str(), 12, 16, 16, 40),
      observer);
  ASSERT_EQ(outcome.state, job_state::completed) << outcome.message;
  ASSERT_EQ(observer.reports.size(), 12u);
  for (const iteration_report& r : observer.reports) {
    EXPECT_EQ(r.metrics.at("monitored"), r.metrics.at("val_mean_iou"));
    EXPECT_GE(r.best_value, r.metrics.at("val_mean_iou") - 1e-12);
  }
  // Predicting the background everywhere scores a mean IoU of 0 (the background is not counted)
  // and a pixel accuracy of the background's share (about 0.8 here).
  EXPECT_GT(outcome.final_metrics.at("val_mean_iou"), 0.5);
  EXPECT_GT(outcome.final_metrics.at("test_mean_iou"), 0.5);
  EXPECT_GT(outcome.final_metrics.at("test_iou_shoe"), 0.4);
  EXPECT_GT(outcome.final_metrics.at("test_iou_bag"), 0.4);
  EXPECT_GT(outcome.final_metrics.at("test_pixel_accuracy"), 0.9);
  EXPECT_GT(outcome.final_metrics.at("test_image_recall"), 0.9);
  std::printf("segment: val mean IoU %.3f, test mean IoU %.3f (shoe %.3f, bag %.3f), pixel "
              "accuracy %.3f, image accuracy %.3f\n",
              outcome.final_metrics.at("val_mean_iou"), outcome.final_metrics.at("test_mean_iou"),
              outcome.final_metrics.at("test_iou_shoe"), outcome.final_metrics.at("test_iou_bag"),
              outcome.final_metrics.at("test_pixel_accuracy"),
              outcome.final_metrics.at("test_image_accuracy"));

  const auto csv = testing::read_lines(workspace.str() + "/tools/seg/metrics.csv");
  ASSERT_EQ(csv.size(), 13u);
  EXPECT_NE(csv[0].find(",val_mean_iou,"), std::string::npos) << csv[0];

  // evaluate recomputes the test metrics from best.pt.
  auto e = evaluate_tool(workspace.str(), "seg", set.dataset, set.assignment, test_set);
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->kind, tool_kind::segment);
  EXPECT_NEAR(e->metrics.at("mean_iou"), outcome.final_metrics.at("test_mean_iou"), 1e-9);

  const std::vector<std::string> files = files_in_set(set, test_set, 3);
  const std::string out = workspace.str() + "/predicted";
  auto p = predict_images(workspace.str(), "seg", files, out);
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->size(), 3u);
  for (const prediction& one : *p) {
    ASSERT_EQ(one.files.size(), 2u);
    auto mask = summarize_image(one.files[0]);
    auto overlay = summarize_image(one.files[1]);
    ASSERT_TRUE(mask && overlay);
    EXPECT_EQ(mask->channels, 1);
    EXPECT_LE(mask->distinct_colors, 3);  // label values only
    EXPECT_EQ(overlay->channels, 3);
    EXPECT_EQ(overlay->width, 40);
  }
}

TEST(AnomalyTool, OneClassTrainingOnGoodImagesSeparatesDefects) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  testing::temp_folder data("anodata"), workspace("anows");
  // Good: class 0 (T-shirt/top); defects: the nine other classes.
  const generated_set set = testing::make_anomaly_set(data.str(), testing::fashion_mnist_folder(), 0);
  testing::recording_observer observer;
  const training_outcome outcome = testing::shared_engine().train(
      kind_request(600, tool_kind::anomaly, "ano", set, workspace.str(), 8, 32, 32, 28),
      observer);
  ASSERT_EQ(outcome.state, job_state::completed) << outcome.message;
  ASSERT_EQ(observer.reports.size(), 8u);
  EXPECT_EQ(observer.reports[0].metrics.at("monitored"), observer.reports[0].metrics.at("val_auroc"));
  const metric_map& m = outcome.final_metrics;
  std::printf("anomaly: val AUROC %.3f, test AUROC %.3f (reconstruction %.3f, kNN %.3f), "
              "balanced accuracy %.3f at threshold %.3f\n",
              m.at("val_auroc"), m.at("test_auroc"), m.at("test_auroc_reconstruction"),
              m.at("test_auroc_knn"), m.at("test_balanced_accuracy"), m.at("threshold"));
  EXPECT_GT(m.at("test_auroc"), 0.75);  // chance is 0.5
  EXPECT_GT(m.at("test_balanced_accuracy"), 0.65);
  EXPECT_TRUE(fs::exists(workspace.str() + "/tools/ano/task.pt"));

  auto e = evaluate_tool(workspace.str(), "ano", set.dataset, set.assignment, test_set);
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_NEAR(e->metrics.at("auroc"), m.at("test_auroc"), 1e-9);
  EXPECT_NEAR(e->metrics.at("balanced_accuracy"), m.at("test_balanced_accuracy"), 1e-9);

  // Predictions: defects score higher on the whole, and each image gets a heatmap.
  const int good = testing::good_class_of(set.index);
  std::vector<std::string> files;
  std::vector<bool> defect;
  for (std::int64_t i : images_in(set.assignment, test_set)) {
    files.push_back(set.index.files[static_cast<std::size_t>(i)]);
    defect.push_back(set.index.labels[static_cast<std::size_t>(i)] != good);
  }
  auto p = predict_images(workspace.str(), "ano", files, workspace.str() + "/predicted");
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->size(), files.size());
  int right = 0;
  for (std::size_t i = 0; i < p->size(); ++i) {
    right += ((*p)[i].label == 1) == defect[i];
    ASSERT_EQ((*p)[i].files.size(), 1u);
  }
  EXPECT_GT(static_cast<double>(right) / static_cast<double>(p->size()), 0.65);
  auto heat = summarize_image((*p)[0].files[0]);
  ASSERT_TRUE(heat);
  EXPECT_EQ(heat->channels, 3);
}

TEST(LocateTool, FailsAtOnceSayingItIsNotWiredYet) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  testing::temp_folder workspace("locws");
  training_request r = testing::make_request(700, "finder", workspace.str(), 1);
  r.spec.tool.kind = tool_kind::locate;
  testing::recording_observer observer;
  const training_outcome outcome = testing::shared_engine().train(r, observer);
  EXPECT_EQ(outcome.state, job_state::failed);
  EXPECT_EQ(outcome.error, error_code::invalid_config);
  EXPECT_NE(outcome.message.find("locate"), std::string::npos) << outcome.message;
  EXPECT_TRUE(observer.reports.empty());
}

}  // namespace
}  // namespace trainyard
