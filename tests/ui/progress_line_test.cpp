// The progress line of `trainyard run` laid out at 60, 80 and 200 columns: it never passes the
// width, gives up its parts in the documented order, cuts the name last, and its percent and
// `it done/total` come from the same counts (a continue job's own ones).
#include "runtime/ui/progress_line.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime/ui/monitor_view.hpp"

namespace trainyard {
namespace {

// A job with every part of the line: running, an iteration done, a metric, speed, batch, ETA.
job_info busy_job(const std::string& name = "quickstart") {
  job_info j;
  j.id = 1;
  j.name = name;
  j.state = job_state::running;
  j.iteration = 1;
  j.target_iterations = 3;
  j.best_iteration = 1;
  j.fraction = 0.6;  // the scheduler's estimate counts the running iteration's share
  j.eta_seconds = 65;
  j.batch_size = 64;
  j.monitored_name = "val_accuracy";
  j.last_metrics = {{"val_accuracy", 0.8123}, {"images_per_s", 1534}};
  return j;
}

// The parts in the order the line gives them up (the bar's narrowing is seen by its length).
const std::vector<std::string> dropped_in_order = {"img/s", "batch 64", "val_accuracy",
                                                   "best 1", "ETA 1m05s", "[", "0.8123"};

// How many parts of `dropped_in_order` the line has given up; fails unless they are a prefix.
std::size_t dropped_count(const std::string& line) {
  std::size_t dropped = 0;
  while (dropped < dropped_in_order.size() &&
         line.find(dropped_in_order[dropped]) == std::string::npos)
    ++dropped;
  for (std::size_t i = dropped; i < dropped_in_order.size(); ++i)
    EXPECT_NE(line.find(dropped_in_order[i]), std::string::npos)
      << "'" << dropped_in_order[i] << "' dropped out of order: " << line;
  return dropped;
}

TEST(ProgressLine, At200ColumnsEveryPartIsShownWithTheWidestBar) {
  const auto line = progress_line(busy_job(), 200, 14);
  EXPECT_EQ(line, "quickstart     [########................]  33% running  it 1/3  best 1  "
                  "val_accuracy 0.8123  1534 img/s  batch 64  ETA 1m05s");
}

TEST(ProgressLine, At80And60ColumnsPartsAreDroppedInOrderAndTheLineFits) {
  const auto at80 = progress_line(busy_job(), 80, 14);
  EXPECT_LE(display_width(at80), 80) << at80;
  EXPECT_EQ(at80, "quickstart     [###.......]  33% running  it 1/3  best 1  0.8123  ETA 1m05s");
  EXPECT_EQ(dropped_count(at80), 3u);

  const auto at60 = progress_line(busy_job(), 60, 14);
  EXPECT_LE(display_width(at60), 60) << at60;
  EXPECT_EQ(at60, "quickstart     [###.......]  33% running  it 1/3  0.8123");
  EXPECT_EQ(dropped_count(at60), 5u);
}

TEST(ProgressLine, EveryWidthFitsOnOneLineAndDropsAPrefixOfTheOrder) {
  std::size_t before = 0;
  for (int width = 200; width >= 20; --width) {
    const auto line = progress_line(busy_job(), width, 14);
    ASSERT_LE(display_width(line), width) << line;
    EXPECT_EQ(line.find('\n'), std::string::npos);
    const auto dropped = dropped_count(line);
    EXPECT_GE(dropped, before) << "a narrower line shows a part a wider one dropped: " << line;
    before = dropped;
    // Never dropped: the name (or its start), percent, state and iterations.
    EXPECT_EQ(line.compare(0, 3, "qui"), 0) << line;
    if (width >= 40) {
      EXPECT_NE(line.find("33% running  it 1/3"), std::string::npos) << line;
    }
  }
}

TEST(ProgressLine, ALineThatFitsExactlyKeepsEverythingAndOneColumnLessNarrowsTheBar) {
  const auto full = progress_line(busy_job(), 1000, 14);
  const int exact = display_width(full);
  EXPECT_EQ(progress_line(busy_job(), exact, 14), full);
  const auto one_less = progress_line(busy_job(), exact - 1, 14);
  EXPECT_NE(one_less.find("[###.......]"), std::string::npos) << one_less;
  EXPECT_NE(one_less.find("img/s"), std::string::npos) << one_less;
}

TEST(ProgressLine, TheNameIsCutLastAndTheLineThenFillsTheWidthExactly) {
  const std::string name = "a-rather-long-job-name-for-sixty-columns";
  const auto line = progress_line(busy_job(name), 45, 0);
  EXPECT_EQ(display_width(line), 45) << line;
  EXPECT_EQ(dropped_count(line), dropped_in_order.size()) << line;
  EXPECT_EQ(line, "a-rather-long-job-name-~  33% running  it 1/3");
}

TEST(ProgressLine, APercentAgreesWithItsIterationCountWhateverTheEstimate) {
  for (int done = 0; done <= 3; ++done) {
    auto j = busy_job();
    j.iteration = done;
    j.fraction = std::min(1.0, (done + 0.99) / 3);  // the estimate near the next iteration
    const auto line = progress_line(j, 200, 0);
    const std::string percent = std::to_string(done * 100 / 3) + "%";
    EXPECT_NE(line.find(" " + percent + " running  it " + std::to_string(done) + "/3"),
              std::string::npos)
      << line;
  }
  auto last = busy_job();
  last.iteration = 2;
  last.fraction = 0.997;  // what read "99% ... it 2/3"
  EXPECT_NE(progress_line(last, 200, 0).find("[################........]  66% running  it 2/3"),
            std::string::npos)
    << progress_line(last, 200, 0);
}

TEST(ProgressLine, AContinueJobCountsItsOwnIterations) {
  // A tool with 2 iterations continued by 1 more: the tool-wide counts are 2 of 3.
  auto j = busy_job("more");
  j.first_iteration = 2;
  j.iteration = 2;
  j.target_iterations = 3;
  j.best_iteration = 2;  // the earlier job's best: not one of this job's
  EXPECT_EQ(own_iterations(j).done, 0);
  EXPECT_EQ(own_iterations(j).total, 1);
  auto line = progress_line(j, 200, 0);
  EXPECT_NE(line.find("  0% running  it 0/1  val_accuracy"), std::string::npos) << line;

  j.state = job_state::completed;
  j.iteration = 3;
  j.best_iteration = 3;
  line = progress_line(j, 200, 0);
  EXPECT_NE(line.find("100% completed  it 1/1  best 1"), std::string::npos) << line;
}

TEST(ProgressLine, AQueuedJobShowsItsPositionAndAFailureItsReasonCutToTheRoomLeft) {
  job_info queued;
  queued.name = "second";
  queued.queue_position = 1;
  queued.target_iterations = 3;
  EXPECT_EQ(progress_line(queued, 60, 0), "second [........................]   0% queued #2");

  auto failed = busy_job("broken");
  failed.state = job_state::failed;
  failed.target_iterations = 1;  // a finished job's end is where it ended
  failed.message = "cannot read image 17 of dataset 'fashion': the file is truncated";
  const auto line = progress_line(failed, 80, 0);
  EXPECT_EQ(display_width(line), 80) << line;
  // The reason outranks speed, batch, the metric's name and the best iteration.
  EXPECT_EQ(line, "broken [##########] 100% failed  it 1/1  0.8123  (cannot read image 17 of "
                  "data~)");
  EXPECT_EQ(progress_line(failed, 200, 0),
            "broken [########################] 100% failed  it 1/1  best 1  val_accuracy 0.8123  "
            "1534 img/s  batch 64  (" + failed.message + ")");
}

}  // namespace
}  // namespace trainyard
