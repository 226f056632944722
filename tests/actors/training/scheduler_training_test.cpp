// The scheduler with real actors and real training: queue order, reorder, cancel, stop, waits,
// early stopping, continued training, and resuming after an interruption.
#include <algorithm>

#include "runtime/store/store.hpp"
#include "tests/actors/yard_fixture.hpp"

namespace trainyard::testing {
namespace {

using Scheduler = YardTest;

TEST_F(Scheduler, ReorderChangesTheActualExecutionOrder) {
  // Queue four jobs while no worker exists, reorder, then let one worker drain the queue.
  auto a = submit(small_job("a", "tool_a", 1));
  auto b = submit(small_job("b", "tool_b", 1));
  auto c = submit(small_job("c", "tool_c", 1));
  auto d = submit(small_job("d", "tool_d", 1));
  auto order = [&] {
    auto all = ask<std::vector<job_info>>(list_atom::value);
    std::vector<std::pair<std::int64_t, job_id>> queued;
    for (const auto& j : *all)
      if (j.queue_position >= 0)
        queued.emplace_back(j.queue_position, j.id);
    std::sort(queued.begin(), queued.end());
    std::vector<job_id> ids;
    for (auto& [pos, id] : queued)
      ids.push_back(id);
    return ids;
  };
  auto moved = ask<job_info>(move_atom::value, d, std::uint32_t{1});
  ASSERT_TRUE(moved) << moved.error().message;
  EXPECT_EQ(moved->queue_position, 1);
  EXPECT_EQ(order(), (std::vector<job_id>{a, d, b, c}));
  moved = ask<job_info>(top_atom::value, c);
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->queue_position, 0);
  EXPECT_EQ(order(), (std::vector<job_id>{c, a, d, b}));
  auto cancelled = ask<job_info>(cancel_atom::value, b);
  ASSERT_TRUE(cancelled) << cancelled.error().message;
  EXPECT_EQ(cancelled->state, job_state::cancelled);

  add_worker();
  for (auto id : {a, c, d})
    EXPECT_EQ(wait(id).state, job_state::completed);
  EXPECT_EQ(wait(b).state, job_state::cancelled);
  EXPECT_EQ(info(c).run_order, 1);
  EXPECT_EQ(info(a).run_order, 2);
  EXPECT_EQ(info(d).run_order, 3);
  EXPECT_EQ(info(b).run_order, 0);

  // The order is in the workspace's database too.
  auto db = store::open(workspace_ + "/trainyard.db");
  ASSERT_TRUE(db);
  auto jobs = (*db)->load_jobs();
  ASSERT_TRUE(jobs);
  std::vector<std::string> ran;
  std::sort(jobs->begin(), jobs->end(),
            [](const job_record& x, const job_record& y) { return x.run_order < y.run_order; });
  for (const auto& j : *jobs) {
    if (j.run_order > 0)
      ran.push_back(j.spec.name);
    EXPECT_EQ(j.queue_position, -1) << j.spec.name << " is no longer queued";
  }
  EXPECT_EQ(ran, (std::vector<std::string>{"c", "a", "d"}));
}

TEST_F(Scheduler, MovingOrCancellingANonQueuedJobIsRefusedClearly) {
  add_worker();
  auto a = submit(small_job("a", "tool_a", 1));
  EXPECT_EQ(wait(a).state, job_state::completed);
  auto moved = ask<job_info>(top_atom::value, a);
  ASSERT_FALSE(moved);
  EXPECT_NE(moved.error().message.find("not queued"), std::string::npos) << moved.error().message;
  auto cancelled = ask<job_info>(cancel_atom::value, a);
  ASSERT_FALSE(cancelled);
  EXPECT_EQ(cancelled.error().code, error_code::invalid_request);
  auto unknown = ask<job_info>(progress_atom::value, job_id{999});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, error_code::unknown_job);
}

TEST_F(Scheduler, WaitForIterationAnswersEachReportInTurnAndStopEndsTheJob) {
  add_worker();
  auto id = submit(small_job("long", "tool_long", 40));
  auto first = ask<iteration_report>(wait_iter_atom::value, id, wait_ms);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->job, id);
  EXPECT_EQ(first->iteration, 1);
  EXPECT_GT(first->metrics.at("val_accuracy"), 0.2);  // chance is 0.1
  auto second = ask<iteration_report>(wait_iter_atom::value, id, wait_ms);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->iteration, 2);

  auto progress = ask<job_info>(progress_atom::value, id);
  ASSERT_TRUE(progress);
  EXPECT_EQ(progress->state, job_state::running);
  EXPECT_GE(progress->fraction, 2.0 / 40);
  EXPECT_LT(progress->fraction, 1.0);
  EXPECT_GE(progress->iteration, 2);

  auto stopped = ask<job_info>(stop_atom::value, id, std::string("enough for now"));
  ASSERT_TRUE(stopped) << stopped.error().message;
  auto result = wait(id);
  EXPECT_EQ(result.state, job_state::stopped);
  EXPECT_EQ(result.message, "enough for now");
  EXPECT_GE(result.trained_iterations, 2);
  EXPECT_LT(result.trained_iterations, 40);
  EXPECT_EQ(info(id).fraction, 1.0);
  // A finished job has no next iteration; waiting for one says so at once.
  auto after = ask<iteration_report>(wait_iter_atom::value, id, wait_ms);
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code, error_code::invalid_request);
}

TEST_F(Scheduler, AResubmittedJobIsFoundAgainAndAnEditedOneIsRefused) {
  auto job = small_job("same", "tool_same", 1);
  auto id = submit(job);
  auto again = yard_->submit(job);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, id);
  job.settings.iterations = 5;
  auto edited = yard_->submit(job);
  ASSERT_FALSE(edited);
  EXPECT_EQ(edited.error().code, error_code::already_exists);
  EXPECT_NE(edited.error().message.find("new name"), std::string::npos) << edited.error().message;
  auto all = yard_->list();
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 1u);
}

TEST_F(Scheduler, AJobOnAnUnknownSplitFailsWithItsCodeAndTheQueueGoesOn) {
  add_worker();
  auto lost = submit(small_job("lost", "tool_lost", 1, "nosuch"));
  auto fine = submit(small_job("fine", "tool_fine", 1));
  auto r = wait(lost);
  EXPECT_EQ(r.state, job_state::failed);
  EXPECT_EQ(r.error, error_code::unknown_split);
  EXPECT_NE(r.message.find("nosuch"), std::string::npos) << r.message;
  auto ok = wait(fine);
  EXPECT_EQ(ok.state, job_state::completed);
  EXPECT_EQ(ok.error, error_code::none);
}

TEST_F(Scheduler, WaitTimesOutOnAJobThatCannotStart) {
  // No worker: the job stays queued, so a bounded wait must time out and say so.
  auto id = submit(small_job("idle", "tool_idle", 1));
  auto r = yard_->wait(id, 300);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, error_code::timeout);
  EXPECT_EQ(info(id).state, job_state::queued);
}

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

TEST_F(Scheduler, TheSplitOfATrainedToolIsLocked) {
  add_worker();
  EXPECT_EQ(wait(submit(small_job("a", "tool_a", 1))).state, job_state::completed);
  // Redrawing the locked split with another seed is refused.
  auto redrawn = ask_datasets<split_summary>(define_atom::value, small_split("small", 99));
  ASSERT_FALSE(redrawn);
  EXPECT_EQ(redrawn.error().code, error_code::split_locked);
  // Test images may move into the training set; training images may not leave it.
  auto granted = ask_datasets<split_grant>(split_atom::value, std::string("small"), false);
  ASSERT_TRUE(granted) << granted.error().message;
  const split_grant& grant = *granted;
  ASSERT_TRUE(grant.locked);
  std::vector<std::int64_t> test_images, train_images;
  for (std::size_t i = 0; i < grant.assignment.size(); ++i) {
    if (grant.assignment[i] == test_set && test_images.size() < 10)
      test_images.push_back(static_cast<std::int64_t>(i));
    if (grant.assignment[i] == train_set && train_images.size() < 10)
      train_images.push_back(static_cast<std::int64_t>(i));
  }
  auto grown = ask_datasets<split_summary>(images_atom::value, std::string("small"), test_images,
                                           std::uint8_t{train_set});
  ASSERT_TRUE(grown) << grown.error().message;
  EXPECT_EQ(grown->train, 810);
  EXPECT_EQ(grown->test, 290);
  auto shrunk = ask_datasets<split_summary>(images_atom::value, std::string("small"),
                                            train_images, std::uint8_t{test_set});
  ASSERT_FALSE(shrunk);
  EXPECT_EQ(shrunk.error().code, error_code::split_locked);
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
