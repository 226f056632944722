// The example campaigns of the synthetic datasets (config/examples/locate.ini, segment.ini,
// anomaly.ini) load, and their dataset paths point at <repository>/datasets, where
// `trainyard make-datasets --out datasets` run from the repository root writes them.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
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
  EXPECT_EQ(c->jobs[0].tool.kind, "locate");
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
  EXPECT_EQ(c->jobs[0].tool.kind, "segment");
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
    EXPECT_EQ(c->jobs[k].tool.kind, "anomaly");
    EXPECT_EQ(c->splits[k].mode, split_mode::count);
    EXPECT_EQ(c->splits[k].train, 2000);
  }
}

// All three run in the default workspace one after another (the README's order), so no two may
// declare a dataset, split, tool or job of one name with other settings: a trained tool locks
// its split, and the second campaign would fail ("split 'scenes' is locked").
TEST(ExampleCampaigns, TheThreeShareAWorkspaceWithoutNameClashes) {
  std::set<std::string> datasets, splits, tools, jobs;
  for (const char* name : {"locate.ini", "segment.ini", "anomaly.ini"}) {
    auto c = load_campaign(example(name));
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->workspace, "yard");
    for (const auto& d : c->datasets)
      EXPECT_TRUE(datasets.insert(d.name).second) << name << " repeats dataset " << d.name;
    for (const auto& s : c->splits)
      EXPECT_TRUE(splits.insert(s.name).second) << name << " repeats split " << s.name;
    for (const auto& t : c->tools)
      EXPECT_TRUE(tools.insert(t.name).second) << name << " repeats tool " << t.name;
    for (const auto& j : c->jobs)
      EXPECT_TRUE(jobs.insert(j.name).second) << name << " repeats job " << j.name;
  }
  EXPECT_GE(splits.size(), 3u);
}

}  // namespace
}  // namespace trainyard
