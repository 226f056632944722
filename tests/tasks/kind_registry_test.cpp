// The registry of tool kinds: its two halves (the torch-free descriptors of runtime/tasks/kinds.hpp
// and the torch parts of tool_task.hpp) agree, every kind's evaluation reports the metric its
// descriptor says early stopping watches, and a kind's checks refuse bad settings by name.
#include <gtest/gtest.h>

#include <set>

#include "runtime/core/reports.hpp"
#include "runtime/tasks/kinds.hpp"
#include "runtime/train/diagnostics.hpp"

namespace trainyard {
namespace {

const std::string every_kind[] = {"classify", "locate", "segment", "anomaly"};

tool_spec tool_of(const std::string& kind) {
  tool_spec tool;
  tool.name = std::string("t-") + kind;
  tool.kind = kind;
  tool.input_width = 16;
  tool.input_height = 16;
  tool.model_width = 8;
  return tool;
}

TEST(KindRegistry, NamesAreUniqueAndBothHalvesRegisterEveryKind) {
  std::set<std::string> names;
  for (const tool_kind_info* kind : tool_kinds()) {
    EXPECT_TRUE(names.insert(kind->name).second) << kind->name << " is registered twice";
    EXPECT_EQ(find_tool_kind(kind->name), kind);
  }
  std::set<std::string> torch_names;
  for (const std::string& name : registered_task_kinds()) {
    EXPECT_TRUE(torch_names.insert(name).second) << name << " is registered twice";
    EXPECT_NE(find_tool_kind(name), nullptr) << name << " has no descriptor";
  }
  EXPECT_EQ(names, torch_names);
  for (const std::string& k : every_kind) {
    auto kind = kind_of(tool_of(k));
    ASSERT_TRUE(kind) << kind.error().message;
    EXPECT_EQ((*kind)->name, k);
    EXPECT_EQ(monitored_metric_of(k), (*kind)->monitored_metric);
  }
  EXPECT_EQ(find_tool_kind("paint"), nullptr);
}

TEST(KindRegistry, EveryKindsEvaluationReportsItsMonitoredMetric) {
  for (const std::string& k : every_kind) {
    const tool_kind_info* info = *kind_of(tool_of(k));
    std::vector<std::string> classes{"background", "thing"};
    if (k == "anomaly")
      classes = {"good", "defect"};
    if (k == "locate")
      classes = {"thing"};
    auto metrics = evaluate_blank_set(tool_of(k), classes);
    ASSERT_TRUE(metrics) << info->name << ": " << metrics.error().message;
    EXPECT_EQ(metrics->count(info->monitored_metric), 1u)
        << info->name << " reports no " << info->monitored_metric;
    EXPECT_EQ(metrics->count("val_loss"), 1u) << info->name;
    EXPECT_EQ(metrics->count(stopping_metric_of(k).first), 1u)
        << info->name << " reports no " << stopping_metric_of(k).first;
  }
}

TEST(KindRegistry, EarlyStoppingFollowsTheMonitoredMetricButAnomalysAutoencoderLoss) {
  // The anomaly tool's image score is its pixel memory's, fixed before the first step: its jobs
  // stop on (and keep the best weights of) what training changes, the autoencoder's loss.
  EXPECT_EQ(stopping_metric_of("anomaly"),
            std::make_pair(std::string("val_loss"), metric_goal::minimize));
  EXPECT_EQ(monitored_metric_of("anomaly"), "val_auroc");
  for (const std::string k : {"classify", "locate", "segment"})
    EXPECT_EQ(stopping_metric_of(k), std::make_pair(monitored_metric_of(k), metric_goal::maximize))
        << k;
}

TEST(KindRegistry, BadSettingsOfAKindAreRefusedNamingTheSetting) {
  training_settings settings;
  tool_spec segment = tool_of("segment");
  segment.input_width = 6;
  auto refused = tool_kind_problem(segment, settings, nullptr);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->section, "tool");
  EXPECT_EQ(refused->keys, (std::vector<std::string>{"input_width", "input_height"}));
  segment.input_width = 8;
  EXPECT_FALSE(tool_kind_problem(segment, settings, nullptr));

  const tool_spec locate = tool_of("locate");
  settings.augmentation.rotation = 10;
  refused = tool_kind_problem(locate, settings, nullptr);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->section, "job");
  EXPECT_EQ(refused->keys, std::vector<std::string>{"rotation"});
  // The same settings suit the kinds whose annotations turn with the image.
  EXPECT_FALSE(tool_kind_problem(tool_of("segment"), settings, nullptr));
  EXPECT_FALSE(tool_kind_problem(tool_of("classify"), settings, nullptr));

  // A kind no folder registers is refused naming the kinds there are.
  refused = tool_kind_problem(tool_of("paint"), settings, nullptr);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->keys, std::vector<std::string>{"kind"});
  EXPECT_NE(refused->message.find("classify, locate, segment, anomaly"), std::string::npos)
      << refused->message;
}

}  // namespace
}  // namespace trainyard
