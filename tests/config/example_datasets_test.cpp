// The example campaigns of the synthetic datasets (config/examples/locate.ini, segment.ini,
// anomaly.ini) load, and their dataset paths point at <repository>/datasets, where
// `trainyard make-datasets --out datasets` run from the repository root writes them.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "config/campaign.hpp"

namespace trainyard {
namespace {

namespace fs = std::filesystem;

std::string example(const char* name) {
  return std::string(TRAINYARD_SOURCE_DIR) + "/config/examples/" + name;
}

fs::path datasets_root() { return fs::path(TRAINYARD_SOURCE_DIR) / "datasets"; }

std::string normal(const std::string& p) { return fs::path(p).lexically_normal().string(); }

TEST(ExampleCampaigns, LocatePointsAtTheScenesAndKeepsBoxesExact) {
  auto c = load_campaign(example("locate.ini"));
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->datasets.size(), 1u);
  EXPECT_EQ(c->datasets[0].kind, dataset_kind::coco);
  EXPECT_EQ(normal(c->datasets[0].path), (datasets_root() / "scenes/images").string());
  EXPECT_EQ(normal(c->datasets[0].annotations), (datasets_root() / "scenes/boxes.json").string());
  ASSERT_EQ(c->jobs.size(), 1u);
  EXPECT_EQ(c->jobs[0].tool.kind, tool_kind::locate);
  EXPECT_EQ(c->jobs[0].settings.augmentation.rotation, 0);
  EXPECT_EQ(c->jobs[0].settings.augmentation.shear, 0);
}

TEST(ExampleCampaigns, SegmentPointsAtImagesMasksAndLabelTable) {
  auto c = load_campaign(example("segment.ini"));
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->datasets.size(), 1u);
  const auto& d = c->datasets[0];
  EXPECT_EQ(d.kind, dataset_kind::masks);
  EXPECT_EQ(normal(d.path), (datasets_root() / "scenes/images").string());
  EXPECT_EQ(normal(d.masks), (datasets_root() / "scenes/masks").string());
  EXPECT_EQ(normal(d.annotations), (datasets_root() / "scenes/labels.txt").string());
  ASSERT_EQ(c->jobs.size(), 1u);
  EXPECT_EQ(c->jobs[0].tool.kind, tool_kind::segment);
}

TEST(ExampleCampaigns, AnomalyHasOneSettingPerClass) {
  auto c = load_campaign(example("anomaly.ini"));
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->datasets.size(), 10u);
  ASSERT_EQ(c->jobs.size(), 10u);
  for (int k = 0; k < 10; ++k) {
    const auto& d = c->datasets[k];
    EXPECT_EQ(d.kind, dataset_kind::anomaly);
    EXPECT_EQ(normal(d.path), (datasets_root() / ("anomaly-" + std::to_string(k))).string());
    EXPECT_EQ(c->jobs[k].tool.kind, tool_kind::anomaly);
    EXPECT_EQ(c->splits[k].mode, split_mode::count);
    EXPECT_EQ(c->splits[k].train, 2000);
  }
}

}  // namespace
}  // namespace trainyard
