// Tests of the console progress of `trainyard run`: each tool kind's line shows the metric that
// kind monitors; the display, on a real scheduler with a scripted engine, prints true and
// distinct queue positions after a shutdown, counts a continue job's own iterations, and redraws
// its block in place within the terminal's width.
#include "actors/console_progress.hpp"

#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>

#include "runtime/ui/monitor_view.hpp"
#include "tests/actors/yard_fixture.hpp"
#include "tests/support/scripted_engine.hpp"

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
  const auto lines = progress_lines(
    {running_job(monitored_metric_of("segment"),
                 {{"val_foreground_iou", 0.91}, {"val_mean_iou", 0.749}, {"images_per_s", 67}})},
    0);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("val_mean_iou 0.7490"), std::string::npos) << lines[0];
  EXPECT_EQ(lines[0].find("val_foreground_iou"), std::string::npos) << lines[0];
}

TEST(ConsoleProgress, EveryKindShowsItsMonitoredMetricByName) {
  for (auto kind : {"classify", "locate", "segment", "anomaly"}) {
    const std::string name = monitored_metric_of(kind);
    const auto lines = progress_lines({running_job(name, {{name, 0.5}, {"val_loss", 0.3}})}, 0);
    EXPECT_NE(lines.at(0).find(name + " 0.5000"), std::string::npos) << kind << ": " << lines[0];
  }
}

TEST(ConsoleProgress, ABlockAlignsItsNamesAndLeavesTheTerminalsLastColumnEmpty) {
  auto a = running_job("val_accuracy", {{"val_accuracy", 0.5}, {"images_per_s", 900}});
  job_info b;  // queued: a short line, which alone would keep the widest bar
  b.name = "a-longer-name";
  b.queue_position = 0;
  b.target_iterations = 8;
  for (int columns : {60, 80, 200}) {
    const auto lines = progress_lines({a, b}, columns);
    ASSERT_EQ(lines.size(), 2u);
    for (const auto& line : lines)
      EXPECT_LE(display_width(line), columns - 1) << line;
    EXPECT_EQ(lines[0].find('['), lines[1].find('[')) << lines[0] << "\n" << lines[1];
    EXPECT_EQ(lines[0].find('%'), lines[1].find('%')) << lines[0] << "\n" << lines[1];
  }
}

}  // namespace

namespace testing {
namespace {

// The display on a real scheduler, writing to a string; the engine holds jobs where a test says.
class ConsoleProgressYard : public YardTest {
 protected:
  console_progress_actor display(std::vector<job_id> ids, bool redraw, int columns) {
    progress_output output;
    output.out = &out_;
    output.redraw = redraw;
    output.columns = [columns] { return columns; };
    return spawn_console_progress(*system_, yard_->scheduler(), std::move(ids), output);
  }
  // Waits until the display has drawn its last frame; it writes nothing after.
  void close(const console_progress_actor& progress) {
    auto closed = trainyard::ask<bool>(*system_, progress, std::chrono::milliseconds(wait_ms),
                                       close_atom::value);
    ASSERT_TRUE(closed) << closed.error().message;
  }
  // The last line printed for each job name (plain mode), by the name it starts with.
  std::map<std::string, std::string> last_lines(const std::vector<std::string>& names) {
    std::map<std::string, std::string> last;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);)
      for (const auto& n : names)
        if (line.compare(0, n.size() + 1, n + " ") == 0)
          last[n] = line;
    return last;
  }

  std::shared_ptr<script_book> book_ = std::make_shared<script_book>();
  std::ostringstream out_;
};

TEST_F(ConsoleProgressYard, AfterAShutdownTheQueuePositionsShownAreTrueAndDistinct) {
  book_->script("running", {{}, {1}});  // holds after iteration 1 until stopped
  auto id = submit(small_job("running", "tool_running", 4));
  auto waiting = submit(small_job("waiting", "tool_waiting", 1));
  auto progress = display({id, waiting}, false, 0);
  caf::scoped_actor self{*system_};
  auto first = self->request(yard_->scheduler(), std::chrono::milliseconds(wait_ms),
                             wait_iter_atom::value, id, wait_ms);
  add_worker(std::make_shared<scripted_engine>(book_));
  first.receive([](iteration_report& r) { EXPECT_EQ(r.iteration, 1); },
                [](caf::error& err) { ADD_FAILURE() << describe(err); });
  ASSERT_TRUE(yard_->shutdown());
  close(progress);
  auto last = last_lines({"running", "waiting"});
  // The interrupted job went back to the head; the one that waited behind it is second.
  EXPECT_NE(last["running"].find("queued #1  it 1/4"), std::string::npos) << out_.str();
  EXPECT_NE(last["waiting"].find("queued #2"), std::string::npos) << out_.str();
}

TEST_F(ConsoleProgressYard, AContinueJobShowsItsOwnIterationsAndPercent) {
  auto first = small_job("first", "shirts", 2);
  auto more = small_job("more", "shirts", 1);
  more.continue_training = true;
  auto a = submit(first);
  auto b = submit(more);
  auto progress = display({a, b}, false, 0);
  add_worker(std::make_shared<scripted_engine>(book_));
  EXPECT_EQ(wait(a).state, job_state::completed);
  EXPECT_EQ(wait(b).state, job_state::completed);
  close(progress);
  auto last = last_lines({"first", "more"});
  EXPECT_NE(last["first"].find("100% completed  it 2/2"), std::string::npos) << out_.str();
  EXPECT_NE(last["more"].find("100% completed  it 1/1"), std::string::npos) << out_.str();
  EXPECT_EQ(out_.str().find("it 0/3"), std::string::npos) << out_.str();
  EXPECT_EQ(out_.str().find("it 3/3"), std::string::npos) << out_.str();
}

TEST_F(ConsoleProgressYard, ARedrawnBlockGoesBackOverItselfAndFitsTheWidth) {
  auto a = submit(small_job("first", "tool_a", 2));
  auto b = submit(small_job("second-with-a-long-name", "tool_b", 1));
  auto progress = display({a, b}, true, 60);
  add_worker(std::make_shared<scripted_engine>(book_));
  EXPECT_EQ(wait(a).state, job_state::completed);
  EXPECT_EQ(wait(b).state, job_state::completed);
  close(progress);
  // Every frame after the first starts by going back up the two lines of the one before, and
  // every line of a frame fits in 59 columns.
  const std::string text = out_.str();
  const std::string back = "\r\x1b[2F";
  std::size_t frames = 0;
  for (std::size_t at = 0; at < text.size();) {
    auto end = text.find("\x1b[J", at);
    ASSERT_NE(end, std::string::npos) << "a frame does not end by clearing below it";
    std::string frame = text.substr(at, end - at);
    if (frames > 0) {
      ASSERT_EQ(frame.compare(0, back.size(), back), 0) << "frame " << frames;
      frame = frame.substr(back.size());
    }
    std::size_t lines = 0;
    for (std::size_t pos = 0; pos < frame.size(); ++lines) {
      auto eol = frame.find("\x1b[K\n", pos);
      ASSERT_NE(eol, std::string::npos) << frame;
      EXPECT_LE(display_width(frame.substr(pos, eol - pos)), 59) << frame.substr(pos, eol - pos);
      pos = eol + 4;
    }
    EXPECT_EQ(lines, 2u);
    at = end + 3;
    ++frames;
  }
  EXPECT_GE(frames, 2u);
  EXPECT_NE(text.rfind("100% completed  it 2/2"), std::string::npos);
}

}  // namespace
}  // namespace testing
}  // namespace trainyard
