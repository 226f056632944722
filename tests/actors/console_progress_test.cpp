// Tests of the console progress line of `trainyard run`: each tool kind's line shows the metric
// that kind monitors, by its name.
#include "actors/console_progress.hpp"

#include <gtest/gtest.h>

#include <string>

namespace trainyard {
namespace {

job_info running_job(const std::string& monitored, metric_map metrics) {
  job_info j;
  j.id = 1;
  j.name = "job";
  j.state = job_state::running;
  j.iteration = 2;
  j.target_iterations = 8;
  j.best_iteration = 2;
  j.fraction = 0.25;
  j.batch_size = 16;
  j.monitored_name = monitored;
  j.last_metrics = std::move(metrics);
  return j;
}

TEST(ConsoleProgress, ASegmentJobShowsItsMonitoredMeanIouNotAnotherIou) {
  const auto line = progress_line(
    running_job(monitored_metric_of("segment"),
                {{"val_foreground_iou", 0.91}, {"val_mean_iou", 0.749}, {"images_per_s", 67}}),
    20);
  EXPECT_NE(line.find("val_mean_iou 0.7490"), std::string::npos) << line;
  EXPECT_EQ(line.find("val_foreground_iou"), std::string::npos) << line;
}

TEST(ConsoleProgress, EveryKindShowsItsMonitoredMetricByName) {
  for (auto kind : {"classify", "locate", "segment", "anomaly"}) {
    const std::string name = monitored_metric_of(kind);
    const auto line = progress_line(running_job(name, {{name, 0.5}, {"val_loss", 0.3}}), 20);
    EXPECT_NE(line.find(name + " 0.5000"), std::string::npos) << kind << ": " << line;
  }
}

}  // namespace
}  // namespace trainyard
