// The segment and anomaly tools trained for real by the engine on small generated sets
// (generated_sets.hpp), the locate tool on scenes from the data side's generator
// (synthetic_sets.hpp), each then evaluated and used for predictions like the CLI does; and the
// locate tool's refusals (rotation, a malformed COCO file). Each training takes seconds on 2 cores.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "runtime/data/dataset_readers.hpp"
#include "runtime/metrics/detection_metrics.hpp"
#include "runtime/metrics/detection_results.hpp"
#include "runtime/train/images.hpp"
#include "runtime/lab/synthetic_sets.hpp"
#include "tests/support/generated_sets.hpp"
#include "tests/support/torch_test_support.hpp"

namespace trainyard {
namespace {

namespace fs = std::filesystem;
using testing::generated_set;
using testing::kind_request;

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
  training_request r =
      kind_request(500, "segment", "seg", set, workspace.str(), 20, 16, 16, 40);
  // Trained with flips, the tool also segments each image's mirror and averages; evaluate below
  // must do the same from the tool's files to give the same figures.
  r.spec.settings.augmentation.flip_horizontal = true;
  testing::recording_observer observer;
  const training_outcome outcome = testing::shared_engine().train(r, observer);
  ASSERT_EQ(outcome.state, job_state::completed) << outcome.message;
  ASSERT_EQ(observer.reports.size(), 20u);
  for (const iteration_report& r : observer.reports) {
    EXPECT_EQ(r.monitored_name, "val_mean_iou");
    EXPECT_EQ(r.monitored_name, monitored_metric_of("segment"));
    EXPECT_EQ(r.monitored_value, r.metrics.at("val_mean_iou"));
    EXPECT_EQ(r.metrics.count("monitored"), 0u);
    EXPECT_GE(r.best_value, r.metrics.at("val_mean_iou") - 1e-12);
  }
  // Predicting the background everywhere scores a mean IoU of 0 (the background is not counted)
  // and a pixel accuracy of the background's share (about 0.8 here).
  EXPECT_GT(outcome.final_metrics.at("val_mean_iou"), 0.5);
  EXPECT_GT(outcome.final_metrics.at("test_mean_iou"), 0.5);
  EXPECT_GT(outcome.final_metrics.at("test_iou_shoe"), 0.55);
  EXPECT_GT(outcome.final_metrics.at("test_iou_bag"), 0.55);
  EXPECT_GT(outcome.final_metrics.at("test_pixel_accuracy"), 0.9);
  EXPECT_GT(outcome.final_metrics.at("test_image_recall"), 0.9);
  // Two object labels: items are found whole and named by the item classifier (instance stage);
  // the outlines and the names are measured apart.
  EXPECT_GT(outcome.final_metrics.at("test_foreground_iou"), 0.75);
  EXPECT_GT(outcome.final_metrics.at("test_label_accuracy"), 0.85);  // one label for all: ~0.5
  // The true outlines named by the classifier: the mean IoU that perfect outlines would give.
  EXPECT_GT(outcome.final_metrics.at("test_true_outline_mean_iou"), 0.75);
  // The found items named by their true labels: the mean IoU that perfect names would give; with
  // the classifier's names the figure can only be lower.
  EXPECT_GT(outcome.final_metrics.at("test_true_label_mean_iou"), 0.75);
  EXPECT_GE(outcome.final_metrics.at("test_true_label_mean_iou"),
            outcome.final_metrics.at("test_mean_iou"));
  std::printf("segment: val mean IoU %.3f, test mean IoU %.3f (shoe %.3f, bag %.3f), pixel "
              "accuracy %.3f, image accuracy %.3f, foreground IoU %.3f, label accuracy %.3f, "
              "with the true outlines %.3f, with the true names %.3f\n",
              outcome.final_metrics.at("val_mean_iou"), outcome.final_metrics.at("test_mean_iou"),
              outcome.final_metrics.at("test_iou_shoe"), outcome.final_metrics.at("test_iou_bag"),
              outcome.final_metrics.at("test_pixel_accuracy"),
              outcome.final_metrics.at("test_image_accuracy"),
              outcome.final_metrics.at("test_foreground_iou"),
              outcome.final_metrics.at("test_label_accuracy"),
              outcome.final_metrics.at("test_true_outline_mean_iou"),
              outcome.final_metrics.at("test_true_label_mean_iou"));

  const auto csv = testing::read_lines(workspace.str() + "/tools/seg/metrics.csv");
  ASSERT_EQ(csv.size(), 21u);
  EXPECT_NE(csv[0].find(",val_mean_iou,"), std::string::npos) << csv[0];

  // evaluate recomputes the test metrics from best.pt.
  auto e = evaluate_tool(workspace.str(), "seg", set.dataset, set.assignment, test_set);
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->kind, "segment");
  EXPECT_NEAR(e->metrics.at("mean_iou"), outcome.final_metrics.at("test_mean_iou"), 1e-9);
  // Each label's pixel F1 is its IoU seen another way (2 IoU / (1 + IoU)): the scores belong to
  // the right labels. The background has none: it is not a label a user asks about.
  int scored = 0;
  for (const auto& name : e->class_names) {
    const auto iou = e->metrics.find("iou_" + name);
    const auto f1 = e->metrics.find("f1_" + name);
    if (name == e->class_names.front()) {
      EXPECT_EQ(f1, e->metrics.end()) << "no scores for the background";
      continue;
    }
    if (iou == e->metrics.end() || f1 == e->metrics.end())
      continue;
    EXPECT_NEAR(f1->second, 2 * iou->second / (1 + iou->second), 1e-9) << name;
    EXPECT_TRUE(e->metrics.count("precision_" + name) && e->metrics.count("recall_" + name));
    ++scored;
  }
  EXPECT_GE(scored, 2) << "the labels present in the test set";
  EXPECT_GT(e->metrics.at("macro_f1"), 0.5);

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

TEST(SegmentTool, RefusesImagesTooSmallForItsU_NetSayingTheLeastSize) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  testing::temp_folder data("segsmall"), workspace("segsmallws");
  const generated_set set =
      testing::make_segment_set(data.str(), testing::fashion_mnist_folder(), 20);
  testing::recording_observer observer;
  const training_outcome outcome = testing::shared_engine().train(
      kind_request(502, "segment", "seg", set, workspace.str(), 1, 8, 8, 6), observer);
  EXPECT_EQ(outcome.state, job_state::failed);
  EXPECT_EQ(outcome.error, error_code::invalid_config);
  EXPECT_NE(outcome.message.find("at least 8"), std::string::npos) << outcome.message;
  EXPECT_TRUE(observer.reports.empty());
}

TEST(SegmentTool, AMaskOfAnotherSizeOrWithAnUndeclaredLabelFailsTheJobNamingTheFile) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  testing::temp_folder data("segmask"), workspace("segmaskws");
  const generated_set set =
      testing::make_segment_set(data.str(), testing::fashion_mnist_folder(), 20);
  // The first image's mask at half its image's size: once resized without a word.
  const std::string image = set.index.files[0];
  const std::string mask =
      (fs::path(set.dataset.masks) / (fs::path(image).stem().string() + ".png")).string();
  const image_geometry half{1, 20, 20};
  std::vector<std::uint8_t> pixels(half.bytes(), 0);
  ASSERT_TRUE(write_png(mask, half, pixels.data()));
  testing::recording_observer observer;
  training_outcome outcome = testing::shared_engine().train(
      kind_request(503, "segment", "seg", set, workspace.str(), 1, 8, 8, 40), observer);
  EXPECT_EQ(outcome.state, job_state::failed);
  EXPECT_EQ(outcome.error, error_code::image_corrupt);
  EXPECT_NE(outcome.message.find(mask + " is 20x20 pixels but its image is 40x40"),
            std::string::npos)
      << outcome.message;
  // Its size right, but a label the table (0-2) does not declare.
  const image_geometry full{1, 40, 40};
  pixels.assign(full.bytes(), 0);
  pixels[41] = 7;
  ASSERT_TRUE(write_png(mask, full, pixels.data()));
  outcome = testing::shared_engine().train(
      kind_request(504, "segment", "seg2", set, workspace.str(), 1, 8, 8, 40), observer);
  EXPECT_EQ(outcome.state, job_state::failed);
  EXPECT_NE(outcome.message.find("pixel (x 1, y 1) has the value 7 but the label table declares "
                                 "only 0-2"),
            std::string::npos)
      << outcome.message;
  EXPECT_TRUE(observer.reports.empty());
}

TEST(AnomalyTool, OneClassTrainingOnGoodImagesSeparatesDefects) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  testing::temp_folder data("anodata"), workspace("anows");
  // Good: class 0 (T-shirt/top); defects: the nine other classes.
  const generated_set set = testing::make_anomaly_set(data.str(), testing::fashion_mnist_folder(), 0);
  testing::recording_observer observer;
  const training_outcome outcome = testing::shared_engine().train(
      kind_request(600, "anomaly", "ano", set, workspace.str(), 8, 32, 32, 28),
      observer);
  ASSERT_EQ(outcome.state, job_state::completed) << outcome.message;
  ASSERT_EQ(observer.reports.size(), 8u);
  EXPECT_EQ(observer.reports[0].monitored_name, monitored_metric_of("anomaly"));
  EXPECT_EQ(observer.reports[0].monitored_value, observer.reports[0].metrics.at("val_auroc"));
  // The image score is fixed before training, so the best weights (the defect maps') are those of
  // the lowest validation loss, not the first iteration's.
  const iteration_report& last = observer.reports.back();
  double lowest = last.metrics.at("val_loss");
  for (const iteration_report& r : observer.reports)
    lowest = std::min(lowest, r.metrics.at("val_loss"));
  ASSERT_GE(last.best_iteration, 1);
  const double best_loss =
      observer.reports[static_cast<std::size_t>(last.best_iteration - 1)].metrics.at("val_loss");
  EXPECT_GT(last.best_iteration, 1) << "the autoencoder's loss never improved";
  EXPECT_LE(best_loss, lowest + 0.001);  // early stopping's least improvement
  EXPECT_EQ(last.best_value, best_loss);
  EXPECT_LT(best_loss, observer.reports[0].metrics.at("val_loss"));
  const metric_map& m = outcome.final_metrics;
  std::printf("anomaly: val AUROC %.3f, test AUROC %.3f (reconstruction %.3f, kNN %.3f, pixel "
              "kNN %.3f), balanced accuracy %.3f at threshold %.3f\n",
              m.at("val_auroc"), m.at("test_auroc"), m.at("test_auroc_reconstruction"),
              m.at("test_auroc_knn"), m.at("test_auroc_pixel_knn"), m.at("test_balanced_accuracy"),
              m.at("threshold"));
  EXPECT_GT(m.at("test_auroc"), 0.75);  // chance is 0.5
  EXPECT_GT(m.at("test_balanced_accuracy"), 0.65);
  EXPECT_TRUE(fs::exists(workspace.str() + "/tools/ano/task.pt"));

  auto e = evaluate_tool(workspace.str(), "ano", set.dataset, set.assignment, test_set);
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_NEAR(e->metrics.at("auroc"), m.at("test_auroc"), 1e-9);
  EXPECT_NEAR(e->metrics.at("balanced_accuracy"), m.at("test_balanced_accuracy"), 1e-9);
  // The defect class at the threshold: F1 from its precision and recall.
  const double precision = e->metrics.at("defect_precision"), recall = e->metrics.at("defect_recall");
  EXPECT_GT(recall, 0.5);
  EXPECT_NEAR(e->metrics.at("defect_f1"), 2 * precision * recall / (precision + recall), 1e-12);

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

// A small scene set written by the data side's generator (`trainyard make-datasets`): 64x64
// scenes with one or two items, COCO boxes; 300 / 60 / 60 images by count.
generated_set make_scene_set(const std::string& root) {
  return testing::make_scene_set(testing::small_scenes(root, 420), 300, 60, 60);
}

TEST(LocateTool, FindsItemsOnScenesFarAboveTheBaselineAndDrawsBoxes) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  testing::temp_folder data("locdata"), workspace("locws");
  const generated_set set = make_scene_set(data.str());
  training_request r =
      kind_request(700, "locate", "finder", set, workspace.str(), 10, 16, 16, 64);
  r.spec.settings.threads = 1;  // see detector_test: two threads crawl on busy 2-core machines
  r.spec.settings.augmentation.flip_horizontal = true;
  r.spec.settings.augmentation.scale = 0.1;
  r.spec.settings.augmentation.shift = 0.05;
  r.spec.tool.max_objects = 10;
  r.spec.tool.detection_threshold = 0.3;
  testing::recording_observer observer;
  const training_outcome outcome = testing::shared_engine().train(r, observer);
  ASSERT_EQ(outcome.state, job_state::completed) << outcome.message;
  ASSERT_EQ(observer.reports.size(), 10u);
  for (const iteration_report& one : observer.reports)
  {
    EXPECT_EQ(one.monitored_name, monitored_metric_of("locate"));
    EXPECT_EQ(one.monitored_value, one.metrics.at("val_ap50"));
  }
  EXPECT_LT(observer.reports.back().metrics.at("train_loss"),
            observer.reports.front().metrics.at("train_loss"));
  const metric_map& m = outcome.final_metrics;
  std::printf("locate: val AP50 %.3f, test AP %.3f, AP50 %.3f, AP75 %.3f, best F1 %.3f at %.2f\n",
              m.at("val_ap50"), m.at("test_ap"), m.at("test_ap50"), m.at("test_ap75"),
              m.at("test_best_f1"), m.at("test_best_f1_threshold"));

  // Trivial baseline on the same test images: every label everywhere as one whole-image box.
  std::vector<std::vector<box>> truth;
  auto boxes = load_boxes(set.dataset);
  ASSERT_TRUE(boxes) << boxes.error().message;
  for (std::int64_t i : images_in(set.assignment, test_set))
    truth.push_back(boxes->images[static_cast<std::size_t>(i)].boxes);
  std::vector<std::vector<scored_box>> whole(truth.size());
  for (auto& image : whole)
    for (int label = 0; label < 10; ++label)
      image.push_back(scored_box{box{label, 0, 0, 64, 64}, 0.5f});
  const double baseline = evaluate_detections(truth, whole, 10).ap50;
  EXPECT_LT(baseline, 0.05);
  EXPECT_GT(m.at("test_ap50"), 0.4);
  EXPECT_GT(m.at("test_ap50"), 8 * baseline);
  EXPECT_GT(m.at("test_best_f1"), 0.4);
  EXPECT_GT(m.at("test_ap"), 0.15);
  EXPECT_TRUE(m.count("test_ap_Trouser") + m.count("test_ap_Bag") + m.count("test_ap_Sneaker") > 0);

  // evaluate recomputes the test metrics from best.pt.
  auto e = evaluate_tool(workspace.str(), "finder", set.dataset, set.assignment, test_set);
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->kind, "locate");
  EXPECT_NEAR(e->metrics.at("ap50"), m.at("test_ap50"), 1e-9);
  EXPECT_NEAR(e->metrics.at("ap"), m.at("test_ap"), 1e-9);
  // Per label, the boxes predict reports (the tool's threshold): each label with boxes in the
  // test set has its recall, and the macro means are the detector's at that threshold.
  for (const auto& name : e->class_names)
    if (m.count("test_ap_" + name))
      EXPECT_TRUE(e->metrics.count("recall_" + name)) << name;
  EXPECT_GT(e->metrics.at("macro_recall"), 0.2);
  EXPECT_GT(e->metrics.at("macro_f1"), 0.2);

  // Predictions: scored boxes in the image's pixels, a drawing each, and one COCO result file
  // whose image ids are the dataset's.
  std::vector<std::string> files;
  std::vector<std::int64_t> ids;
  for (std::int64_t i : images_in(set.assignment, test_set))
    if (files.size() < 6) {
      files.push_back(set.index.files[static_cast<std::size_t>(i)]);
      ids.push_back(boxes->images[static_cast<std::size_t>(i)].coco_id);
    }
  const std::string out = workspace.str() + "/predicted";
  auto p = predict_images(workspace.str(), "finder", files, out);
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->size(), files.size());
  std::size_t with_boxes = 0;
  for (const prediction& one : *p) {
    ASSERT_EQ(one.files.size(), 1u);
    auto drawn = summarize_image(one.files[0]);
    ASSERT_TRUE(drawn);
    EXPECT_EQ(drawn->channels, 3);
    EXPECT_EQ(drawn->width, 64);
    with_boxes += one.boxes.empty() ? 0 : 1;
    for (const scored_box& b : one.boxes) {
      EXPECT_GE(b.score, 0.3f);
      EXPECT_GE(b.b.x, 0.0f);
      EXPECT_LE(b.b.x + b.b.width, 64.5f);
    }
    if (!one.boxes.empty()) {
      EXPECT_EQ(one.label, one.boxes.front().b.label);
      EXPECT_FLOAT_EQ(static_cast<float>(one.score), one.boxes.front().score);
    }
  }
  EXPECT_GE(with_boxes, files.size() / 2);
  auto results = read_coco_results(out + "/detections.json", ids, boxes->category_ids);
  ASSERT_TRUE(results) << results.error().message;
  ASSERT_EQ(results->size(), files.size());
  for (std::size_t i = 0; i < files.size(); ++i)
    EXPECT_EQ((*results)[i].size(), (*p)[i].boxes.size());
}

TEST(LocateTool, RefusesRotationAndShearBeforeDecodingImages) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  testing::temp_folder data("locrot"), workspace("locrotws");
  const generated_set set = make_scene_set(data.str());
  training_request r =
      kind_request(701, "locate", "finder", set, workspace.str(), 1, 16, 8, 64);
  r.spec.settings.augmentation.rotation = 10;
  testing::recording_observer observer;
  const training_outcome outcome = testing::shared_engine().train(r, observer);
  EXPECT_EQ(outcome.state, job_state::failed);
  EXPECT_EQ(outcome.error, error_code::invalid_config);
  EXPECT_NE(outcome.message.find("rotation and shear"), std::string::npos) << outcome.message;
  // The setting is the job's: the message names the job and the key.
  EXPECT_NE(outcome.message.find("job 'job-701': rotation:"), std::string::npos)
      << outcome.message;
  EXPECT_TRUE(observer.reports.empty());
}

TEST(LocateTool, AMalformedCocoFileFailsTheJobSayingWhatToFix) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  testing::temp_folder data("locbad"), workspace("locbadws");
  const generated_set set = make_scene_set(data.str());
  // The same file with its first annotation pointing at an image that does not exist.
  std::string json = testing::read_file(set.dataset.annotations);
  const std::size_t at = json.find("\"image_id\"");
  ASSERT_NE(at, std::string::npos);
  const std::size_t value = json.find_first_of("0123456789", at);
  json.replace(value, json.find_first_not_of("0123456789", value) - value, "987654321");
  std::ofstream(set.dataset.annotations) << json;
  training_request r =
      kind_request(702, "locate", "finder", set, workspace.str(), 1, 16, 8, 64);
  testing::recording_observer observer;
  const training_outcome outcome = testing::shared_engine().train(r, observer);
  EXPECT_EQ(outcome.state, job_state::failed);
  EXPECT_TRUE(outcome.error == error_code::invalid_config ||
              outcome.error == error_code::dataset_unreadable)
      << outcome.message;
  EXPECT_NE(outcome.message.find("boxes.json"), std::string::npos) << outcome.message;
  EXPECT_NE(outcome.message.find("987654321"), std::string::npos) << outcome.message;
  EXPECT_TRUE(observer.reports.empty());

  // Not JSON at all.
  std::ofstream(set.dataset.annotations) << "{\"images\": [";
  const training_outcome broken = testing::shared_engine().train(r, observer);
  EXPECT_EQ(broken.state, job_state::failed);
  EXPECT_NE(broken.message.find("boxes.json"), std::string::npos) << broken.message;
}

}  // namespace
}  // namespace trainyard
