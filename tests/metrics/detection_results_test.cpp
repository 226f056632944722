// COCO result files of the locate tool (runtime/metrics/detection_results.hpp): the layout COCO tooling
// reads, a lossless round trip, and the errors for files that do not fit the dataset.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "runtime/metrics/detection_results.hpp"
#include "tests/support/temp_folder.hpp"

namespace trainyard {
namespace {

using testing::temp_folder;

const std::vector<std::int64_t> image_ids{42, 7, 1001};
const std::vector<std::int64_t> category_ids{1, 3, 90};

std::vector<std::vector<scored_box>> some_detections() {
  return {{scored_box{box{0, 10.5f, 20.25f, 30, 40.125f}, 0.91f},
           scored_box{box{2, 0, 0, 5, 6}, 0.123456789f}},
          {},
          {scored_box{box{1, 1.0f / 3.0f, 2, 3, 4}, 0.5f}}};
}

TEST(DetectionResults, WritesCocoResultEntries) {
  temp_folder dir("results");
  const std::string path = (dir / "results.json").string();
  ASSERT_TRUE(write_coco_results(path, image_ids, some_detections(), category_ids));
  std::ifstream file(path);
  const nlohmann::json j = nlohmann::json::parse(file);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[0]["image_id"], 42);
  EXPECT_EQ(j[0]["category_id"], 1);
  EXPECT_EQ(j[0]["bbox"], (nlohmann::json{10.5, 20.25, 30.0, 40.125}));
  EXPECT_NEAR(j[0]["score"].get<double>(), 0.91, 1e-6);
  EXPECT_EQ(j[1]["category_id"], 90);
  EXPECT_EQ(j[2]["image_id"], 1001);
  EXPECT_EQ(j[2]["category_id"], 3);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(DetectionResults, RoundTripsExactly) {
  temp_folder dir("results");
  const std::string path = (dir / "results.json").string();
  const auto written = some_detections();
  ASSERT_TRUE(write_coco_results(path, image_ids, written, category_ids));
  auto back = read_coco_results(path, image_ids, category_ids);
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->size(), written.size());
  for (std::size_t i = 0; i < written.size(); ++i) {
    ASSERT_EQ((*back)[i].size(), written[i].size());
    for (std::size_t k = 0; k < written[i].size(); ++k) {
      const scored_box& a = written[i][k];
      const scored_box& b = (*back)[i][k];
      EXPECT_EQ(a.b.label, b.b.label);
      EXPECT_EQ(a.b.x, b.b.x);
      EXPECT_EQ(a.b.y, b.b.y);
      EXPECT_EQ(a.b.width, b.b.width);
      EXPECT_EQ(a.b.height, b.b.height);
      EXPECT_EQ(a.score, b.score);
    }
  }
}

TEST(DetectionResults, TakesTheIdsOfCocoImages) {
  temp_folder dir("results");
  const std::string path = (dir / "results.json").string();
  std::vector<box_image> images(3);
  for (std::size_t i = 0; i < 3; ++i)
    images[i].coco_id = image_ids[i];
  ASSERT_TRUE(write_coco_results(path, images, some_detections(), category_ids));
  auto back = read_coco_results(path, image_ids, category_ids);
  ASSERT_TRUE(back);
  EXPECT_EQ((*back)[2].size(), 1u);
}

TEST(DetectionResults, RefusesWhatDoesNotFit) {
  temp_folder dir("results");
  const std::string path = (dir / "results.json").string();
  // Fewer ids than images; a label without a category.
  EXPECT_EQ(write_coco_results(path, std::vector<std::int64_t>{1}, some_detections(),
                               category_ids).error().code,
            error_code::invalid_request);
  EXPECT_EQ(write_coco_results(path, image_ids, some_detections(), {1, 3}).error().code,
            error_code::invalid_request);

  EXPECT_EQ(read_coco_results((dir / "missing.json").string(), image_ids, category_ids)
                .error()
                .code,
            error_code::dataset_unreadable);
  ASSERT_TRUE(write_coco_results(path, image_ids, some_detections(), category_ids));
  auto unknown_image = read_coco_results(path, {42, 7}, category_ids);
  ASSERT_FALSE(unknown_image);
  EXPECT_EQ(unknown_image.error().code, error_code::invalid_config);
  EXPECT_NE(unknown_image.error().message.find("image_id 1001"), std::string::npos)
      << unknown_image.error().message;
  auto unknown_category = read_coco_results(path, image_ids, {1, 3});
  ASSERT_FALSE(unknown_category);
  EXPECT_NE(unknown_category.error().message.find("category_id 90"), std::string::npos);

  std::ofstream(path) << R"([{"image_id": 42, "category_id": 1, "bbox": [1, 2, 3]}])";
  auto malformed = read_coco_results(path, image_ids, category_ids);
  ASSERT_FALSE(malformed);
  EXPECT_EQ(malformed.error().code, error_code::invalid_config);
  std::ofstream(path) << "{not json";
  EXPECT_EQ(read_coco_results(path, image_ids, category_ids).error().code,
            error_code::invalid_config);
}

}  // namespace
}  // namespace trainyard
