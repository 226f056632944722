// Exported locate tools run by trainyard_runtime (OpenCV DNN) against LibTorch on the same images:
// a two-stage tool trained by the engine, exported as `trainyard export` does and run on image
// files as `trainyard predict` runs it; and detectors of both kinds (one stage, two stages with
// mirror views) trained by the lab's loop, their heads and crops compared with detect_boxes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <vector>

#include <nlohmann/json.hpp>
#include <onnx/checker.h>

#include "deploy/kind_runtime.hpp"
#include "deploy/locate_boxes.hpp"
#include "deploy/trainyard_runtime.hpp"
#include "runtime/lab/detector_training.hpp"
#include "runtime/lab/synthetic_sets.hpp"
#include "runtime/train/engine.hpp"
#include "tests/support/box_scenes.hpp"
#include "tests/support/generated_sets.hpp"
#include "tests/support/torch_test_support.hpp"

namespace trainyard {
namespace {

using testing::generated_set;

// Whether two boxes are in the same place: IoU >= 0.99, or, for boxes without area (a barely
// trained detector gives some a width or height of 0, where IoU is 0), corners within 0.01 px.
bool same_place(const deploy::found_box& a, const deploy::found_box& b) {
  if (a.width > 0 && a.height > 0)
    return deploy::box_iou(a, b) >= 0.99f;
  return std::abs(a.x - b.x) < 0.01f && std::abs(a.y - b.y) < 0.01f &&
         std::abs(a.x + a.width - b.x - b.width) < 0.01f &&
         std::abs(a.y + a.height - b.y - b.height) < 0.01f;
}

// How far apart the compared boxes were, for the record.
struct box_agreement {
  std::size_t boxes = 0;
  float least_iou = 1;  ///< over the boxes with an area
  double largest_score_gap = 0;
};

// The same boxes in the same order: the same labels and places, scores within 1e-4.
void expect_same_boxes(const std::vector<scored_box>& want,
                       const std::vector<deploy::found_box>& got, const std::string& what,
                       box_agreement& agreement) {
  ASSERT_EQ(got.size(), want.size()) << what;
  agreement.boxes += want.size();
  for (std::size_t j = 0; j < want.size(); ++j) {
    const box& b = want[j].b;
    deploy::found_box w;
    w.x = b.x;
    w.y = b.y;
    w.width = b.width;
    w.height = b.height;
    EXPECT_EQ(got[j].label, b.label) << what << " box " << j;
    EXPECT_TRUE(same_place(w, got[j]))
        << what << " box " << j << ": " << got[j].x << " " << got[j].y << " " << got[j].width
        << " " << got[j].height << ", LibTorch " << b.x << " " << b.y << " " << b.width << " "
        << b.height;
    EXPECT_NEAR(got[j].score, want[j].score, 1e-4) << what << " box " << j;
    if (w.width > 0 && w.height > 0)
      agreement.least_iou = std::min(agreement.least_iou, deploy::box_iou(w, got[j]));
    agreement.largest_score_gap =
        std::max(agreement.largest_score_gap, std::abs(double{got[j].score} - want[j].score));
  }
}

void print_agreement(const std::string& what, const box_agreement& a) {
  std::printf("%s: %zu boxes compared, least IoU %.6f, largest score difference %.2g\n",
              what.c_str(), a.boxes, a.least_iou, a.largest_score_gap);
}

// Trains a detector on scenes with the lab's loop, exports it and runs the export through the
// locate runtime on the held-out scenes, comparing with detect_boxes on the same tensors.
void compare_lab_detector(int box_classifier_width, bool flips) {
  const auto items = testing::load_items(testing::fashion_mnist_folder(), "test");
  const detection_set train = testing::make_box_scenes(items, 480, 48, 0, 8000, 1, 2);
  const detection_set held_out = testing::make_box_scenes(items, 24, 48, 8000, 2000, 2, 2);
  testing::temp_folder folder("locexp");
  detector_fit_settings settings;
  settings.model_width = 8;
  settings.box_classifier_width = box_classifier_width;
  settings.epochs = 6;
  settings.batch_size = 16;
  settings.learning_rate = 3e-3;
  settings.flip_horizontal = flips;
  settings.scale = 0;
  settings.shift = 0;
  settings.threads = 1;
  settings.evaluation_threshold = 0.05f;
  settings.max_objects = 20;
  settings.export_folder = folder.str();
  auto fit = fit_detector(train, held_out, 10, settings);
  ASSERT_TRUE(fit) << fit.error().message;
  EXPECT_NO_THROW(onnx::checker::check_model(folder.str() + "/model.onnx"));
  if (box_classifier_width > 0) {
    EXPECT_NO_THROW(onnx::checker::check_model(folder.str() + "/items.onnx"));
  } else {
    EXPECT_FALSE(std::filesystem::exists(folder.str() + "/items.onnx"));
  }
  const nlohmann::json& s = fit->export_settings;
  EXPECT_EQ(s.at("two_stage").get<bool>(), box_classifier_width > 0);
  if (box_classifier_width > 0) {
    EXPECT_EQ(s.at("mirror_views").get<bool>(), flips);
  }

  deploy::tool_description tool;
  tool.folder = folder.str();
  tool.info.kind = "locate";
  tool.info.width = 48;
  tool.info.height = 48;
  tool.info.channels = 1;
  for (int label = 0; label < 10; ++label)
    tool.info.class_names.push_back("item" + std::to_string(label));
  tool.settings = s;
  std::string error;
  auto runtime = deploy::make_locate_runtime(tool, error);
  ASSERT_TRUE(runtime) << error;

  // The held-out scenes normalised as fit_detector normalises them, in one batch.
  const int n = static_cast<int>(held_out.size());
  const int dims[] = {n, 1, 48, 48};
  cv::Mat blob(4, dims, CV_32F);
  const auto mean = static_cast<float>(fit->mean), deviation = static_cast<float>(fit->deviation);
  for (std::size_t i = 0; i < held_out.pixels.size(); ++i)
    blob.ptr<float>()[i] =
        (static_cast<float>(held_out.pixels[i]) / 255.0f - mean) / deviation;
  std::vector<deploy::result> results(static_cast<std::size_t>(n));
  std::vector<deploy::result*> pointers;
  for (auto& r : results)
    pointers.push_back(&r);
  runtime->run(blob, std::vector<cv::Size>(static_cast<std::size_t>(n), cv::Size(48, 48)),
               pointers);

  box_agreement agreement;
  for (int i = 0; i < n; ++i)
    expect_same_boxes(fit->validation_detections[static_cast<std::size_t>(i)],
                      results[static_cast<std::size_t>(i)].boxes, "scene " + std::to_string(i),
                      agreement);
  print_agreement(box_classifier_width > 0 ? "two-stage detector" : "one-stage detector",
                  agreement);
  EXPECT_GT(agreement.boxes, 0u);  // two empty lists would prove nothing
}

TEST(LocateExport, OneStageDetectorFindsTheBoxesLibTorchFinds) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  compare_lab_detector(0, false);
}

TEST(LocateExport, TwoStageDetectorWithMirrorViewsLabelsBoxesAsLibTorchDoes) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  compare_lab_detector(16, true);
}

TEST(LocateExport, MissingSettingsOrNetworksAreRefusedSayingWhatToDo) {
  testing::temp_folder folder("locbad");
  deploy::tool_description tool;
  tool.folder = folder.str();
  tool.info.kind = "locate";
  tool.info.width = tool.info.height = 48;
  tool.settings = {{"model_file", "model.onnx"}, {"detection_threshold", 0.3},
                   {"max_objects", 10},          {"stride", 4},
                   {"two_stage", false}};
  std::string error;
  EXPECT_FALSE(deploy::make_locate_runtime(tool, error));
  EXPECT_NE(error.find("\"nms_iou\""), std::string::npos) << error;
  EXPECT_NE(error.find("export the tool again"), std::string::npos) << error;

  tool.settings["nms_iou"] = "half";
  EXPECT_FALSE(deploy::make_locate_runtime(tool, error));
  EXPECT_NE(error.find("\"nms_iou\""), std::string::npos) << error;

  tool.settings["nms_iou"] = 0.5;
  EXPECT_FALSE(deploy::make_locate_runtime(tool, error));
  EXPECT_NE(error.find("model.onnx is missing"), std::string::npos) << error;

  tool.settings["two_stage"] = true;
  EXPECT_FALSE(deploy::make_locate_runtime(tool, error));
  EXPECT_NE(error.find("\"items_file\""), std::string::npos) << error;
}

// A 64x64 scene set (one or two items each) from the data side's generator.
generated_set make_scenes(const std::string& root) {
  return testing::make_scene_set(testing::small_scenes(root, 200), 160, 20, 20);
}

TEST(LocateExport, AnExportedToolFindsTheBoxesPredictFindsOnImageFiles) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  testing::temp_folder data("locexpdata"), workspace("locexpws");
  const generated_set set = make_scenes(data.str());
  training_request r =
      testing::kind_request(710, "locate", "finder", set, workspace.str(), 8, 16, 8, 48);
  // Inputs smaller than the scenes: boxes are scaled back to the files' pixels.
  r.spec.tool.max_objects = 10;
  r.spec.tool.detection_threshold = 0.05;
  r.spec.settings.threads = 1;
  r.spec.settings.augmentation.flip_horizontal = true;  // the box classifier's mirror views
  testing::recording_observer observer;
  const training_outcome outcome = testing::shared_engine().train(r, observer);
  ASSERT_EQ(outcome.state, job_state::completed) << outcome.message;

  const std::string out = workspace.str() + "/export";
  auto exported = export_tool(workspace.str(), "finder", out, 0, outcome.final_metrics);
  ASSERT_TRUE(exported) << exported.error().message;
  EXPECT_NO_THROW(onnx::checker::check_model(out + "/model.onnx"));
  EXPECT_NO_THROW(onnx::checker::check_model(out + "/items.onnx"));
  std::string error;
  auto tool = deploy::tool::open(out, error);
  ASSERT_TRUE(tool) << error;
  EXPECT_EQ(tool->info().kind, "locate");

  std::vector<std::string> files;
  for (std::int64_t i : images_in(set.assignment, test_set))
    files.push_back(set.index.files[static_cast<std::size_t>(i)]);
  auto want = predict_images(workspace.str(), "finder", files, workspace.str() + "/predicted");
  ASSERT_TRUE(want) << want.error().message;
  const std::vector<deploy::result> got = tool->run_files(files, 4);
  ASSERT_EQ(got.size(), files.size());
  box_agreement agreement;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const prediction& p = (*want)[i];
    const deploy::result& g = got[i];
    ASSERT_TRUE(g.error.empty()) << g.error;
    expect_same_boxes(p.boxes, g.boxes, files[i], agreement);
    EXPECT_EQ(g.label, p.label) << files[i];
    EXPECT_EQ(g.label_name, p.label_name) << files[i];
    EXPECT_NEAR(g.score, p.score, 1e-4) << files[i];
    for (const deploy::found_box& b : g.boxes)
      EXPECT_EQ(b.label_name, tool->info().class_names.at(static_cast<std::size_t>(b.label)));
  }
  print_agreement("exported locate tool, " + std::to_string(files.size()) + " files", agreement);
  EXPECT_GT(agreement.boxes, 0u);  // two empty lists would prove nothing
}

}  // namespace
}  // namespace trainyard
