// Tests of the monitor's model and drawing: what a user sees at any terminal size, where the
// cursor goes when jobs move or vanish, which command each key asks for, the validation curve,
// and the connection line through a scheduler's loss and return. No actors, no terminal.
#include "runtime/ui/monitor_view.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

namespace trainyard {
namespace {

job_info queued(job_id id, const std::string& name, std::int64_t position) {
  job_info j;
  j.id = id;
  j.name = name;
  j.tool = "tool_" + name;
  j.split = "small";
  j.state = job_state::queued;
  j.queue_position = position;
  j.monitored_name = "val_accuracy";
  return j;
}

job_info running(job_id id, const std::string& name, std::int64_t run_order, int iteration,
                    int target, double val_accuracy) {
  job_info j = queued(id, name, -1);
  j.state = job_state::running;
  j.run_order = run_order;
  j.iteration = iteration;
  j.target_iterations = target;
  j.best_iteration = iteration;
  j.fraction = static_cast<double>(iteration) / target;
  j.eta_seconds = 187;
  j.batch_size = 64;
  j.last_metrics = {{"val_accuracy", val_accuracy}, {"train_loss", 0.42}, {"images_per_s", 3210}};
  return j;
}

// A yard with one running job (with a curve), three queued jobs, two workers, one finished job.
monitor_view busy_view(bool unicode = true) {
  monitor_view v(unicode);
  v.connected("127.0.0.1:7000", "10:00:00");
  job_info done = queued(9, "old", -1);
  done.state = job_state::completed;
  done.run_order = 1;
  done.iteration = 5;
  done.final_metrics = {{"val_accuracy", 0.88}, {"test_accuracy", 0.87}};
  v.set_jobs({running(1, "shirts", 2, 3, 10, 0.8), queued(2, "alpha", 0), queued(3, "bravo", 1),
              queued(4, "charlie", 2), done});
  for (int it = 1; it <= 3; ++it) {
    iteration_report r;
    r.job = 1;
    r.iteration = it;
    r.target_iterations = 10;
    r.best_iteration = it;
    r.metrics = {{"val_accuracy", 0.6 + 0.1 * it}, {"train_loss", 0.42}, {"images_per_s", 3210}};
    r.monitored_name = "val_accuracy";
    r.monitored_value = r.metrics.at("val_accuracy");
    v.add_iteration(r);
  }
  v.set_workers({{0, {"cuda:0", "cuda", 24ull << 30, 6ull << 30, 3ull << 29, 0, "gpu3:4711", ""},
                  1, true},
                 {1, {"cuda:1", "cuda", 24ull << 30, 0, 0, 0, "gpu3:4711", ""}, 0, true}});
  return v;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines)
    s += l + "\n";
  return s;
}

bool shows(const std::vector<std::string>& lines, const std::string& text) {
  return joined(lines).find(text) != std::string::npos;
}

// -- rendering at every size ---------------------------------------------------------------------

struct size_case {
  int width, height;
  std::vector<std::string> must_show;  // text a user must find at this size
};
void PrintTo(const size_case& c, std::ostream* os) { *os << c.width << "x" << c.height; }

class MonitorViewSizes : public ::testing::TestWithParam<size_case> {};

TEST_P(MonitorViewSizes, FillsTheScreenExactlyAndShowsWhatFits) {
  const auto& c = GetParam();
  for (bool unicode : {true, false}) {
    auto lines = busy_view(unicode).render(c.width, c.height);
    ASSERT_EQ(lines.size(), static_cast<std::size_t>(c.height)) << joined(lines);
    for (const auto& l : lines)
      EXPECT_LE(display_width(l), c.width) << "line too wide: " << l;
    for (const auto& text : c.must_show)
      EXPECT_TRUE(shows(lines, text)) << "missing '" << text << "' in\n" << joined(lines);
    if (!unicode) {
      for (const auto& l : lines)
        for (unsigned char ch : l)
          EXPECT_LT(ch, 0x80) << "non-ASCII in ASCII mode: " << l;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
  Widths, MonitorViewSizes,
  ::testing::Values(
    // Tiny: the header alone, then the header and the running job.
    size_case{40, 1, {"trainyard monitor"}},
    size_case{40, 3, {"trainyard monitor", "Running (1)"}},
    // Small: running job and the head of the queue win over workers and finished jobs.
    size_case{40, 8, {"Running (1)", "> shirts", "Queue (3)", "alpha", "quit"}},
    size_case{80, 8, {"connected to 127.0.0.1:7000", "[", "it 3/10", "alpha", "t top"}},
    // Large: everything, with the curve, the metrics and the workers' devices and memory.
    size_case{80, 40, {"ETA 3m07s", "val_acc 0.9000", "Workers (2)", "cuda:1", "24 GiB",
                       "charlie", "Finished (1)", "completed", "test_acc 0.8700"}},
    size_case{200, 40, {"1 running, 3 queued, 2 workers", "loss 0.420", "3210 img/s",
                        "batch 64", "  1.  alpha", "  3.  charlie", "tool tool_charlie"}},
    size_case{200, 6, {"Running (1)", "Queue (3)"}},
    size_case{10, 5, {"trainyard"}},
    size_case{0, 4, {}}));

TEST(MonitorView, QueueIsShownInQueueOrderAndShortScreensKeepTheCursorVisible) {
  monitor_view v;
  std::vector<job_info> jobs;
  for (int i = 0; i < 30; ++i)
    jobs.push_back(queued(static_cast<job_id>(100 + i), "job" + std::to_string(i), 29 - i));
  v.set_jobs(jobs);
  auto order = v.queue_order();
  ASSERT_EQ(order.size(), 30u);
  EXPECT_EQ(order.front(), 129u);  // position 0
  EXPECT_EQ(order.back(), 100u);
  for (int i = 0; i < 25; ++i)
    v.handle_key(monitor_key::down);
  auto lines = v.render(80, 12);
  EXPECT_TRUE(shows(lines, "> 26. job4")) << joined(lines);
  EXPECT_TRUE(shows(lines, "of 30)")) << joined(lines);
}

// -- selection ----------------------------------------------------------------------------------

TEST(MonitorView, CursorFollowsItsJobAndClampsWhenJobsVanish) {
  auto v = busy_view();
  EXPECT_EQ(v.selected(), 1u);  // the running job comes first
  v.handle_key('j');
  v.handle_key('j');
  v.handle_key('j');
  EXPECT_EQ(v.selected(), 4u);  // charlie, last in the queue
  v.handle_key(monitor_key::down);
  EXPECT_EQ(v.selected(), 9u) << "past the queue: the finished jobs";
  v.handle_key(monitor_key::down);
  EXPECT_EQ(v.selected(), 9u) << "the cursor stops at the end";
  v.handle_key('k');
  EXPECT_EQ(v.selected(), 4u);

  // charlie moves to the top: the cursor goes with it.
  v.set_jobs({running(1, "shirts", 2, 3, 10, 0.8), queued(4, "charlie", 0), queued(2, "alpha", 1),
              queued(3, "bravo", 2)});
  EXPECT_EQ(v.selected(), 4u);
  EXPECT_EQ(v.queue_order(), (std::vector<job_id>{4, 2, 3}));

  // charlie is cancelled: the cursor follows it into the finished jobs.
  auto gone = queued(4, "charlie", -1);
  gone.state = job_state::cancelled;
  v.update_job(gone);
  EXPECT_EQ(v.selected(), 4u);
  EXPECT_TRUE(shows(v.render(120, 20), "> charlie")) << joined(v.render(120, 20));

  // Jobs vanish from the list: the cursor stays on its row, clamped to the last job left.
  v.set_jobs({running(1, "shirts", 2, 3, 10, 0.8), queued(2, "alpha", 0), queued(3, "bravo", 1)});
  EXPECT_EQ(v.selected(), 3u);
  v.set_jobs({running(1, "shirts", 2, 3, 10, 0.8)});
  EXPECT_EQ(v.selected(), 1u);
  v.set_jobs({});
  EXPECT_EQ(v.selected(), 0u);
  v.handle_key('k');
  EXPECT_EQ(v.selected(), 0u);
}

// -- keys ----------------------------------------------------------------------------------------

struct key_case {
  std::string name;
  int moves_down;  // cursor moves from the first row (the running job) before the key
  int key;
  std::optional<monitor_command> command;
  std::string notice;  // part of the notice expected, "" = none
};
void PrintTo(const key_case& c, std::ostream* os) { *os << c.name; }

class MonitorViewKeys : public ::testing::TestWithParam<key_case> {};

using kind = monitor_command::kind;

TEST_P(MonitorViewKeys, MapToCommandsOnTheSelectedJob) {
  const auto& c = GetParam();
  auto v = busy_view();
  for (int i = 0; i < c.moves_down; ++i)
    v.handle_key(monitor_key::down);
  auto got = v.handle_key(c.key);
  EXPECT_EQ(got.has_value(), c.command.has_value());
  if (got && c.command) {
    EXPECT_EQ(static_cast<int>(got->what), static_cast<int>(c.command->what));
    EXPECT_EQ(got->job, c.command->job);
    EXPECT_EQ(got->position, c.command->position);
  }
  if (c.notice.empty())
    EXPECT_EQ(v.notice(), "");
  else
    EXPECT_NE(v.notice().find(c.notice), std::string::npos) << v.notice();
}

INSTANTIATE_TEST_SUITE_P(
  Table, MonitorViewKeys,
  ::testing::Values(
    key_case{"quit", 0, 'q', monitor_command{kind::quit, 0, 0}, ""},
    key_case{"top_of_third", 3, 't', monitor_command{kind::top, 4, 0}, "to position 1"},
    key_case{"top_of_head", 1, 't', std::nullopt, "already at the head"},
    key_case{"up_with_u", 2, 'u', monitor_command{kind::move, 3, 0},
             "moving 'bravo' to position 1"},
    key_case{"up_with_plus", 3, '+', monitor_command{kind::move, 4, 1}, "to position 2"},
    key_case{"up_at_head", 1, 'u', std::nullopt, "already at the head"},
    key_case{"down_with_d", 1, 'd', monitor_command{kind::move, 2, 1}, "to position 2"},
    key_case{"down_with_minus", 2, '-', monitor_command{kind::move, 3, 2}, "to position 3"},
    key_case{"down_at_end", 3, 'd', std::nullopt, "already at the end"},
    key_case{"cancel_queued_asks", 2, 'c', std::nullopt, "cancel queued job 'bravo'? y = yes"},
    key_case{"cancel_running", 0, 'c', std::nullopt, "press s to stop it"},
    key_case{"move_running", 0, 't', std::nullopt, "only queued jobs"},
    key_case{"stop_running_asks", 0, 's', std::nullopt, "stop running job 'shirts'"},
    key_case{"stop_queued_asks", 1, 's', std::nullopt, "stop queued job 'alpha' (it is cancelled)"},
    key_case{"finished_job", 4, 'c', std::nullopt, "'old' is completed: finished jobs cannot"},
    key_case{"cursor_keys", 0, 'j', std::nullopt, ""},
    key_case{"cursor_at_first", 0, 'k', std::nullopt, "already on the first job"},
    key_case{"cursor_at_last", 4, 'j', std::nullopt, "already on the last job"},
    key_case{"other_key", 0, 'x', std::nullopt, "'x' does nothing; keys:"},
    key_case{"other_code", 0, 0x10101, std::nullopt, "that key does nothing; keys:"}));

// Cancel and stop go to the scheduler only after 'y'; any other key keeps the job and does nothing
// else. The answer says what happened, and the cursor stays on the job acted on.
TEST(MonitorView, CancelAndStopAskFirstAndTheCursorStaysOnTheJob) {
  auto v = busy_view();
  v.handle_key('j');
  v.handle_key('j');  // bravo, second in the queue
  EXPECT_FALSE(v.handle_key('c'));
  EXPECT_TRUE(v.confirming());
  EXPECT_TRUE(shows(v.render(100, 20), "y = yes, any other key = no"));
  EXPECT_FALSE(v.handle_key('j')) << "the answer 'no' is not also a cursor move";
  EXPECT_FALSE(v.confirming());
  EXPECT_EQ(v.selected(), 3u);
  EXPECT_NE(v.notice().find("'bravo' kept: nothing was cancelled"), std::string::npos)
    << v.notice();

  EXPECT_FALSE(v.handle_key('c'));
  auto yes = v.handle_key('y');
  ASSERT_TRUE(yes);
  EXPECT_EQ(*yes, (monitor_command{kind::cancel, 3, 0}));
  v.command_answered(*yes, "");
  EXPECT_EQ(v.notice(), "cancelled 'bravo'");
  auto cancelled = queued(3, "bravo", -1);
  cancelled.state = job_state::cancelled;
  v.update_job(cancelled);
  EXPECT_EQ(v.selected(), 3u) << "the cursor stays on the cancelled job";

  // Stop the running job: asked, confirmed, answered; it ends and the cursor stays on it.
  v.handle_key('g');
  EXPECT_EQ(v.selected(), 1u);
  EXPECT_FALSE(v.handle_key('s'));
  auto stop = v.handle_key('Y');
  ASSERT_TRUE(stop);
  EXPECT_EQ(*stop, (monitor_command{kind::stop, 1, 0}));
  v.command_answered(*stop, "");
  EXPECT_NE(v.notice().find("stopping 'shirts': it ends after the current step"),
            std::string::npos) << v.notice();
  v.finish_job(1, job_state::stopped, {}, "stopped from the monitor");
  EXPECT_EQ(v.selected(), 1u);
  EXPECT_TRUE(shows(v.render(120, 30), "> shirts")) << joined(v.render(120, 30));

  // A refusal is shown with the scheduler's reason.
  v.command_answered(monitor_command{kind::move, 2, 1}, "job 2 is running");
  EXPECT_EQ(v.notice(), "moving 'alpha' refused: job 2 is running");
}

// Workers show their device (a GPU with its name), its memory in use of its total and their
// process's memory; workers whose node went away show as gone and are not counted.
TEST(MonitorView, WorkersShowMemoryAndGoneOnesAreNotCounted) {
  auto v = busy_view();
  auto lines = v.render(140, 30);
  EXPECT_TRUE(shows(lines, "6.0 GiB of 24 GiB")) << joined(lines);
  EXPECT_TRUE(shows(lines, "process 1.5 GiB")) << joined(lines);
  EXPECT_TRUE(shows(lines, "2 workers")) << joined(lines);
  v.set_workers({{0, {"cuda:0", "cuda", 141ull << 30, 6ull << 30, 3ull << 29, 0, "gpu3:4711", "",
                       "NVIDIA H200"}, 1, true},
                 {1, {"cpu", "cpu", 24ull << 30, 0, 0, 0, "gone:1", ""}, 0, false}});
  lines = v.render(140, 30);
  EXPECT_TRUE(shows(lines, "cuda:0 NVIDIA H200  6.0 GiB of 141 GiB")) << joined(lines);
  EXPECT_TRUE(shows(lines, "1 workers")) << joined(lines);
  EXPECT_TRUE(shows(lines, "Workers (1)  1 gone")) << joined(lines);
  EXPECT_TRUE(shows(lines, "gone:1")) << joined(lines);
}

TEST(MonitorView, CommandKeysWithNothingSelectedSayWhy) {
  monitor_view v;
  EXPECT_FALSE(v.handle_key('t'));
  EXPECT_NE(v.notice().find("no job selected"), std::string::npos);
  EXPECT_TRUE(v.handle_key('q'));
}

// -- the curve -----------------------------------------------------------------------------------

struct spark_case {
  std::vector<double> values;
  int width;
  bool unicode;
  std::string expected;
};
void PrintTo(const spark_case& c, std::ostream* os) { *os << c.expected; }

class Sparkline : public ::testing::TestWithParam<spark_case> {};

TEST_P(Sparkline, ScalesTheLastValuesBetweenTheirExtremes) {
  const auto& c = GetParam();
  EXPECT_EQ(sparkline(c.values, c.width, c.unicode), c.expected);
}

INSTANTIATE_TEST_SUITE_P(
  Table, Sparkline,
  ::testing::Values(
    spark_case{{}, 8, true, ""}, spark_case{{0.5}, 0, true, ""},
    spark_case{{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8}, 8, true,
               "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"},
    spark_case{{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8}, 8, false, "_.-:=+*#"},
    spark_case{{0.9, 0.9, 0.9}, 8, false, ":::"},                // flat: the middle
    spark_case{{5, 0, 10, 0}, 2, false, "#_"},                   // only the last two values
    spark_case{{1, 0, 1}, 8, true, "\u2588\u2581\u2588"}));

TEST(MonitorView, CurveFollowsValidationMetricPerIterationAndIsDrawn) {
  auto v = busy_view();
  EXPECT_EQ(v.curve(1), (std::vector<double>{0.7, 0.8, 0.9}));
  iteration_report again;  // a repeated iteration replaces its point
  again.job = 1;
  again.iteration = 3;
  again.target_iterations = 10;
  again.metrics = {{"val_accuracy", 0.5}};
  again.monitored_name = "val_accuracy";
  v.add_iteration(again);
  EXPECT_EQ(v.curve(1), (std::vector<double>{0.7, 0.8, 0.5}));
  EXPECT_TRUE(shows(v.render(200, 20), "val_acc 0.5000 \u2586\u2588\u2581"))
    << joined(v.render(200, 20));
  EXPECT_TRUE(v.curve(2).empty());

  // The curve follows the metric the job monitors, by its name, and nothing else.
  EXPECT_EQ(validation_metric({{"val_loss", 0.3}, {"val_iou", 0.6}}, "val_iou")->second, 0.6);
  EXPECT_FALSE(validation_metric({{"val_loss", 0.3}, {"val_iou", 0.6}}, "val_auroc"));
  EXPECT_FALSE(validation_metric({{"train_loss", 0.2}}, ""));
}

// -- the connection ------------------------------------------------------------------------------

TEST(MonitorView, ConnectionLineSaysWhenTheSchedulerGoesAwayAndComesBack) {
  monitor_view v(false);
  v.connecting("10.0.0.5:7000");
  EXPECT_EQ(v.connection_line(), "connecting to 10.0.0.5:7000...");
  v.reconnect_failed("connection refused", 0.5);
  EXPECT_EQ(v.connection_line(),
            "cannot reach the scheduler (connection refused; next try in 0.5 s)");
  v.connected("10.0.0.5:7000", "10:00:00");
  EXPECT_TRUE(v.is_connected());
  EXPECT_EQ(v.connection_line(), "connected to 10.0.0.5:7000");
  v.connection_lost("10:15:42", "");
  EXPECT_FALSE(v.is_connected());
  EXPECT_EQ(v.connection_line(), "scheduler went away at 10:15:42, reconnecting...");
  v.reconnect_failed("connection refused", 2);
  EXPECT_EQ(v.connection_line(),
            "scheduler went away at 10:15:42, reconnecting... (connection refused; next try in "
            "2.0 s)");
  v.reconnect_failed("timeout", 4);
  EXPECT_EQ(v.connection_line(),
            "scheduler went away at 10:15:42, reconnecting... (timeout; next try in 4.0 s)");
  v.connected("10.0.0.5:7000", "10:16:03");
  EXPECT_EQ(v.connection_line(), "reconnected to 10.0.0.5:7000 at 10:16:03");
  EXPECT_TRUE(shows(v.render(80, 5), "reconnected to 10.0.0.5:7000"));
}

TEST(MonitorView, FormatsDurationsAndCutsUtf8OnCharacterBoundaries) {
  EXPECT_EQ(format_duration(-1), "--");
  EXPECT_EQ(format_duration(42), "42s");
  EXPECT_EQ(format_duration(187), "3m07s");
  EXPECT_EQ(format_duration(7500), "2h05m");
  EXPECT_EQ(fit_width("\u2581\u2582\u2583", 2), "\u2581\u2582");
  EXPECT_EQ(display_width("a\u2581b"), 3);
  EXPECT_EQ(fit_width("abc", 0), "");
}

// A segment job monitors val_mean_iou: the running line, its curve and the finished line follow
// that metric by its name, not another val_* key that sorts first (val_foreground_iou).
TEST(MonitorView, ASegmentJobShowsItsMonitoredMeanIouByName) {
  monitor_view v(false);
  v.connected("127.0.0.1:7000", "10:00:00");
  job_info seg = running(1, "masks", 1, 1, 8, 0);
  seg.tool = "segmenter";
  seg.monitored_name = "val_mean_iou";
  seg.last_metrics = {{"val_foreground_iou", 0.91}, {"val_label_accuracy", 0.88},
                      {"val_mean_iou", 0.7}, {"images_per_s", 120}};
  job_info done = queued(2, "masks_before", -1);
  done.state = job_state::completed;
  done.run_order = 0;
  done.iteration = 8;
  done.monitored_name = "val_mean_iou";
  done.final_metrics = {{"val_foreground_iou", 0.9}, {"val_mean_iou", 0.751},
                        {"test_foreground_iou", 0.89}, {"test_mean_iou", 0.749}};
  v.set_jobs({seg, done});
  for (int it = 2; it <= 3; ++it) {
    iteration_report r;
    r.job = 1;
    r.iteration = it;
    r.target_iterations = 8;
    r.metrics = {{"val_foreground_iou", 0.95}, {"val_mean_iou", 0.7 + 0.02 * it}};
    r.monitored_name = "val_mean_iou";
    r.monitored_value = r.metrics.at("val_mean_iou");
    v.add_iteration(r);
  }
  const auto screen = joined(v.render(200, 24));
  EXPECT_TRUE(shows(v.render(200, 24), "val_mean_iou 0.7600")) << screen;
  EXPECT_TRUE(shows(v.render(200, 24), "val_mean_iou 0.7510  test_mean_iou 0.7490")) << screen;
  EXPECT_FALSE(shows(v.render(200, 24), "val_foreground_iou")) << screen;
  EXPECT_EQ(v.curve(1), (std::vector<double>{0.7, 0.7 + 0.02 * 2, 0.7 + 0.02 * 3}));
}

}  // namespace
}  // namespace trainyard
