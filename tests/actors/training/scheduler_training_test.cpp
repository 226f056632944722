// The scheduler with the real LibTorch engine, end to end: the engine's early-stopping decision
// turned into the stop, the weights early stopping keeps, continued training from the tool's
// checkpoint, and resuming an interrupted job after a restart with nothing lost. The scheduler's other behaviour is tested with a scripted engine
// (tests/actors/scheduler_test.cpp).
#include "runtime/store/store.hpp"
#include "runtime/train/engine.hpp"
#include "tests/actors/yard_fixture.hpp"

namespace trainyard::testing {
namespace {

class Scheduler : public YardTest {
 protected:
  void add_worker() { YardTest::add_worker(make_torch_engine()); }
};

TEST_F(Scheduler, EarlyStoppingStopsAStalledJobAndKeepsTheBestIteration) {
  add_worker();
  auto job = small_job("stall", "tool_stall", 0);  // auto
  job.settings.learning_rate = 1e-12;  // the weights do not move: validation accuracy stalls
  job.settings.patience = 2;
  job.settings.min_delta = 0.01;
  job.settings.max_iterations = 25;
  auto id = submit(job);
  auto r = wait(id);
  EXPECT_EQ(r.state, job_state::stopped);
  EXPECT_NE(r.message.find("early stopping"), std::string::npos) << r.message;
  EXPECT_EQ(r.best_iteration, 1);
  // Stopped after iteration 3 (two without improvement); the stop lands during iteration 4.
  EXPECT_GE(r.trained_iterations, 3);
  EXPECT_LE(r.trained_iterations, 4);
  EXPECT_LT(r.trained_iterations, 25);
  // The engine decided it, in iteration 3's report; the stop request carried its reason.
  auto db = store::open(workspace_ + "/trainyard.db");
  ASSERT_TRUE(db);
  auto reports = (*db)->load_iterations(id);
  ASSERT_TRUE(reports);
  ASSERT_GE(reports->size(), 3u);
  for (const iteration_report& report : *reports) {
    EXPECT_EQ(report.monitored_name, "val_accuracy");
    EXPECT_EQ(report.monitored_value, report.metrics.at("val_accuracy"));
    EXPECT_EQ(report.early_stop, report.iteration >= 3) << "iteration " << report.iteration;
  }
  EXPECT_NE(r.message.find((*reports)[2].stop_reason), std::string::npos) << r.message;
  EXPECT_FALSE((*reports)[2].stop_reason.empty());
}

TEST_F(Scheduler, EarlyStoppingKeepsTheBestIterationsWeightsNotTheLast) {
  add_worker();
  auto job = small_job("demanding", "tool_demanding", 0);  // auto
  job.settings.patience = 1;
  job.settings.min_delta = 0.5;  // no later iteration can improve on the first by that much
  job.settings.max_iterations = 25;
  auto id = submit(job);
  auto r = wait(id);
  ASSERT_EQ(r.state, job_state::stopped) << r.message;
  EXPECT_EQ(r.best_iteration, 1);
  ASSERT_GE(r.trained_iterations, 2);
  EXPECT_LE(r.trained_iterations, 3);
  auto db = store::open(workspace_ + "/trainyard.db");
  ASSERT_TRUE(db);
  auto reports = (*db)->load_iterations(id);
  ASSERT_TRUE(reports);
  ASSERT_GE(reports->size(), 2u);
  const double first = (*reports)[0].metrics.at("val_accuracy");
  const double last = reports->back().metrics.at("val_accuracy");
  EXPECT_EQ(r.final_metrics.at("val_accuracy"), first);
  // The tool's weights are iteration 1's: evaluating them on the validation set gives exactly
  // iteration 1's accuracy (the later iterations trained on and reached another one).
  auto split = (*db)->load_split("small");
  ASSERT_TRUE(split && *split);
  auto eval = evaluate_tool(workspace_, "tool_demanding", fashion(), (*split)->assignment,
                            validation_set);
  ASSERT_TRUE(eval) << eval.error().message;
  EXPECT_DOUBLE_EQ(eval->accuracy, first);
  if (last != first) {
    EXPECT_NE(eval->accuracy, last);
  }
}

TEST_F(Scheduler, ContinuedTrainingResumesAndRefusesAnotherSplit) {
  add_worker();
  auto first = submit(small_job("first", "shirts", 2));
  auto more = small_job("more", "shirts", 1);
  more.continue_training = true;
  auto second = submit(more);
  EXPECT_EQ(wait(first).trained_iterations, 2);
  auto r = wait(second);
  EXPECT_EQ(r.state, job_state::completed);
  EXPECT_EQ(r.trained_iterations, 3);

  auto elsewhere = small_job("elsewhere", "shirts", 1, "other");
  elsewhere.continue_training = true;
  auto refused = yard_->submit(elsewhere);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, error_code::split_mismatch);
  EXPECT_NE(refused.error().message.find("split 'small'"), std::string::npos)
    << refused.error().message;

  auto again = yard_->submit(small_job("again", "shirts", 1));
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("continue = true"), std::string::npos);
}

TEST_F(Scheduler, AnInterruptedJobResumesAfterARestartWithNothingLost) {
  add_worker();
  auto done = submit(small_job("done", "tool_done", 1));
  EXPECT_EQ(wait(done).state, job_state::completed);
  // Enough iterations that the job is still running when the shutdown lands.
  auto id = submit(small_job("resumable", "tool_resume", 12));
  auto waiting = submit(small_job("waiting", "tool_waiting", 1));
  auto first = ask<iteration_report>(wait_iter_atom::value, id, wait_ms);
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_TRUE(yard_->shutdown());
  EXPECT_EQ(info(id).state, job_state::queued);
  close();

  open();  // same workspace: a new process would see the same
  EXPECT_EQ(info(done).state, job_state::completed);
  EXPECT_EQ(info(id).queue_position, 0);       // interrupted job first
  EXPECT_EQ(info(waiting).queue_position, 1);  // then the rest in their order
  add_worker();
  auto r = wait(id);
  EXPECT_EQ(r.state, job_state::completed);
  EXPECT_EQ(r.trained_iterations, 12);
  EXPECT_EQ(wait(waiting).state, job_state::completed);
  auto db = store::open(workspace_ + "/trainyard.db");
  ASSERT_TRUE(db);
  auto reports = (*db)->load_iterations(id);
  ASSERT_TRUE(reports);
  ASSERT_EQ(reports->size(), 12u);
  for (int i = 0; i < 12; ++i)
    EXPECT_EQ((*reports)[i].iteration, i + 1);
}

}  // namespace
}  // namespace trainyard::testing
