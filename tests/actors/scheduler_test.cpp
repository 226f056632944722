// The scheduler with real actors and a scripted engine (tests/support/scripted_engine.hpp): queue
// order, reorder, cancel, stop, waits, early stopping, a worker that dies, a gang of two ranks
// and a shutdown. The engine holds a job after the iterations a test names, so what the
// scheduler sees at each step is exact; no test sleeps, and waits are bounded only as failure
// bounds. The real engine's end-to-end tests are in tests/actors/training.
#include <algorithm>

#include "actors/scheduler_state.hpp"
#include "runtime/store/store.hpp"
#include "tests/actors/yard_fixture.hpp"
#include "tests/support/scripted_engine.hpp"

namespace trainyard::testing {
namespace {

class Scheduler : public YardTest {
 protected:
  worker_actor add_worker() { return YardTest::add_worker(std::make_shared<scripted_engine>(book_)); }
  worker_actor add_worker(worker_info device) {
    return YardTest::add_worker(std::make_shared<scripted_engine>(book_), std::move(device));
  }

  // Sends a request without waiting: what the scheduler receives before a later event.
  template <class... Ts>
  auto request(caf::scoped_actor& self, Ts&&... xs) {
    return self->request(yard_->scheduler(), std::chrono::milliseconds(wait_ms),
                         std::forward<Ts>(xs)...);
  }

  // The answer of a wait-for-iteration request sent earlier: that iteration's report.
  template <class Pending>
  void expect_iteration(Pending& pending, int iteration) {
    pending.receive([&](iteration_report& r) { EXPECT_EQ(r.iteration, iteration); },
                    [&](caf::error& err) { ADD_FAILURE() << describe(err); });
  }

  // Job ids by queue position, head first.
  std::vector<job_id> queue_order() {
    auto all = ask<std::vector<job_info>>(list_atom::value);
    EXPECT_TRUE(all);
    std::vector<std::pair<std::int64_t, job_id>> queued;
    for (const auto& j : *all)
      if (j.queue_position >= 0)
        queued.emplace_back(j.queue_position, j.id);
    std::sort(queued.begin(), queued.end());
    std::vector<job_id> ids;
    for (auto& [pos, id] : queued)
      ids.push_back(id);
    return ids;
  }

  std::shared_ptr<script_book> book_ = std::make_shared<script_book>();
};

TEST_F(Scheduler, ReorderChangesTheActualExecutionOrder) {
  // Queue four jobs while no worker exists, reorder, then let one worker drain the queue.
  auto a = submit(small_job("a", "tool_a", 1));
  auto b = submit(small_job("b", "tool_b", 1));
  auto c = submit(small_job("c", "tool_c", 1));
  auto d = submit(small_job("d", "tool_d", 1));
  auto moved = ask<job_info>(move_atom::value, d, std::uint32_t{1});
  ASSERT_TRUE(moved) << moved.error().message;
  EXPECT_EQ(moved->queue_position, 1);
  EXPECT_EQ(queue_order(), (std::vector<job_id>{a, d, b, c}));
  moved = ask<job_info>(top_atom::value, c);
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->queue_position, 0);
  EXPECT_EQ(queue_order(), (std::vector<job_id>{c, a, d, b}));
  auto cancelled = ask<job_info>(cancel_atom::value, b);
  ASSERT_TRUE(cancelled) << cancelled.error().message;
  EXPECT_EQ(cancelled->state, job_state::cancelled);

  add_worker();
  for (auto id : {a, c, d})
    EXPECT_EQ(wait(id).state, job_state::completed);
  EXPECT_EQ(wait(b).state, job_state::cancelled);
  EXPECT_EQ(book_->started(), (std::vector<std::string>{"c", "a", "d"}));
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
  auto stopped = ask<job_info>(stop_atom::value, a, std::string("too late"));
  ASSERT_FALSE(stopped);
  EXPECT_NE(stopped.error().message.find("nothing to stop"), std::string::npos);
  auto unknown = ask<job_info>(progress_atom::value, job_id{999});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, error_code::unknown_job);
}

TEST_F(Scheduler, WaitForIterationAnswersEachReportInTurnAndStopEndsTheJob) {
  book_->script("long", {{}, {1, 2}});
  auto id = submit(small_job("long", "tool_long", 40));
  caf::scoped_actor self{*system_};
  // The wait reaches the scheduler before the worker does, so it sees iteration 1.
  auto first = request(self, wait_iter_atom::value, id, wait_ms);
  add_worker();
  expect_iteration(first, 1);
  // Held after iteration 1: the next wait is in place before the engine goes on.
  auto second = request(self, wait_iter_atom::value, id, wait_ms);
  book_->release("long");
  expect_iteration(second, 2);

  auto progress = ask<job_info>(progress_atom::value, id);
  ASSERT_TRUE(progress);
  EXPECT_EQ(progress->state, job_state::running);
  EXPECT_EQ(progress->iteration, 2);
  EXPECT_GE(progress->fraction, 2.0 / 40);
  EXPECT_LT(progress->fraction, 1.0);

  auto stopped = ask<job_info>(stop_atom::value, id, std::string("enough for now"));
  ASSERT_TRUE(stopped) << stopped.error().message;
  auto result = wait(id);
  EXPECT_EQ(result.state, job_state::stopped);
  EXPECT_EQ(result.message, "enough for now");
  EXPECT_EQ(result.trained_iterations, 2);
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
  // One line says how to keep both: a sweep over the restored job, or a new name.
  EXPECT_NE(edited.error().message.find(
                "\nto keep both, give the changed job a new name, or restore its settings and "
                "list the new values in a [sweep.NAME] section (job = same, e.g. learning_rate = "
                "0.001, 0.002); or use another workspace"),
            std::string::npos)
      << edited.error().message;
  auto all = yard_->list();
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 1u);
}

// A continue job trains with the settings of the job it continues, except those its campaign
// wrote; what it took is in its job info (and stored with it), and submitting it again finds it.
TEST_F(Scheduler, AContinueJobInheritsThePreviousJobsSettingsUnlessItWritesThem) {
  add_worker();
  auto first = small_job("first", "tool_kept", 1);
  first.settings.learning_rate = 0.002;
  first.settings.augmentation.flip_horizontal = true;
  first.settings.seed = 5;
  EXPECT_EQ(wait(submit(first)).state, job_state::completed);
  auto more = small_job("more", "tool_kept", 2);
  more.continue_training = true;
  more.settings.seed = 6;
  more.written_settings = "batch_size,iterations,seed,threads";
  auto id = submit(more);
  EXPECT_EQ(wait(id).state, job_state::completed);
  EXPECT_EQ(info(id).inherited_settings, "learning_rate = 0.002, flip_horizontal = true");
  auto calls = book_->calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_DOUBLE_EQ(calls[1].settings.learning_rate, 0.002);
  EXPECT_TRUE(calls[1].settings.augmentation.flip_horizontal);
  EXPECT_EQ(calls[1].settings.seed, 6u) << "written in the campaign: its own";
  EXPECT_EQ(calls[1].settings.iterations, 2);
  auto again = yard_->submit(more);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, id) << "the same campaign submitted again finds its continue job";
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
  EXPECT_EQ(book_->started(), (std::vector<std::string>{"fine"}));
}

TEST_F(Scheduler, AFailedJobKeepsItsMessageAndTheQueueGoesOn) {
  book_->script("broken", {{}, {}, 2});
  add_worker();
  auto broken = submit(small_job("broken", "tool_broken", 5));
  auto next = submit(small_job("next", "tool_next", 1));
  auto r = wait(broken);
  EXPECT_EQ(r.state, job_state::failed);
  EXPECT_EQ(r.message, "scripted failure");
  EXPECT_EQ(r.trained_iterations, 2);
  EXPECT_EQ(wait(next).state, job_state::completed);
}

TEST_F(Scheduler, AFailedJobRunsAgainWhenSubmittedAgainAndANeverTrainedOneLocksNoSplit) {
  // The job fails before its first iteration (an unreadable image, a full disk): its split is
  // not locked, since no trained tool uses it.
  book_->script("flaky", {{}, {}, 0});
  add_worker();
  auto id = submit(small_job("flaky", "tool_flaky", 2));
  auto failed = wait(id);
  ASSERT_EQ(failed.state, job_state::failed);
  EXPECT_EQ(failed.trained_iterations, 0);
  auto grant = ask_datasets<split_grant>(split_atom::value, std::string("small"), false);
  ASSERT_TRUE(grant) << grant.error().message;
  EXPECT_FALSE(grant->locked);
  // Its cause gone, the same job submitted again queues and runs under its id.
  book_->script("flaky", {});
  EXPECT_EQ(submit(small_job("flaky", "tool_flaky", 2)), id);
  auto done = wait(id);
  EXPECT_EQ(done.state, job_state::completed);
  EXPECT_EQ(done.trained_iterations, 2);
  EXPECT_EQ(done.message, "");
  grant = ask_datasets<split_grant>(split_atom::value, std::string("small"), false);
  ASSERT_TRUE(grant);
  EXPECT_TRUE(grant->locked);
}

TEST_F(Scheduler, AFailedJobTakesChangedSettingsAndAnotherToolOnlyWhileItTrainedNothing) {
  book_->script("tuned", {{}, {}, 0});
  book_->script("deep", {{}, {}, 2});
  add_worker();
  auto tuned = submit(small_job("tuned", "tool_tuned", 2));
  auto deep = submit(small_job("deep", "tool_deep", 4));
  ASSERT_EQ(wait(tuned).state, job_state::failed);
  auto failed = wait(deep);
  ASSERT_EQ(failed.state, job_state::failed);
  EXPECT_EQ(failed.trained_iterations, 2);
  book_->script("tuned", {});
  book_->script("deep", {});
  // Nothing trained: the changed job (another tool width and iteration count) replaces it.
  job_spec wider = small_job("tuned", "tool_tuned", 3);
  wider.tool.model_width = 16;
  EXPECT_EQ(submit(wider), tuned);
  auto r = wait(tuned);
  EXPECT_EQ(r.state, job_state::completed);
  EXPECT_EQ(r.trained_iterations, 3);
  // Two iterations trained: another tool is refused, saying how to go on ...
  job_spec other_tool = small_job("deep", "tool_deep", 4);
  other_tool.tool.model_width = 16;
  auto changed = ask<job_id>(submit_atom::value, other_tool);
  ASSERT_FALSE(changed);
  EXPECT_EQ(changed.error().code, error_code::already_exists);
  EXPECT_NE(changed.error().message.find("submit it with the same tool and split to resume it"),
            std::string::npos)
      << changed.error().message;
  // ... while other training settings resume it where it failed.
  job_spec longer = small_job("deep", "tool_deep", 5);
  longer.settings.learning_rate = 0.0005;
  EXPECT_EQ(submit(longer), deep);
  r = wait(deep);
  EXPECT_EQ(r.state, job_state::completed);
  EXPECT_EQ(r.trained_iterations, 5);
  EXPECT_EQ(book_->calls().back().first_iteration, 2);
}

TEST_F(Scheduler, AQueuedJobThatWasStoppedQueuesAgainWhenSubmittedAgain) {
  auto id = submit(small_job("later", "tool_later", 1));  // no worker yet: it stays queued
  auto stopped = ask<job_info>(stop_atom::value, id, std::string("not now"));
  ASSERT_TRUE(stopped) << stopped.error().message;
  EXPECT_EQ(stopped->state, job_state::cancelled);
  EXPECT_EQ(submit(small_job("later", "tool_later", 1)), id);
  EXPECT_EQ(info(id).state, job_state::queued);
  EXPECT_EQ(queue_order(), std::vector<job_id>{id});
  add_worker();
  EXPECT_EQ(wait(id).state, job_state::completed);
  // A completed job submitted again answers its id and does not run again.
  EXPECT_EQ(submit(small_job("later", "tool_later", 1)), id);
  EXPECT_EQ(book_->started(), std::vector<std::string>{"later"});
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
  // The engine's report of iteration 3 says early stopping fired; the engine holds there until
  // the stop request it leads to arrives.
  book_->script("stall", {{0.5}, {3}, -1, 3});
  add_worker();
  auto job = small_job("stall", "tool_stall", 0);  // auto
  job.settings.patience = 2;
  job.settings.min_delta = 0.01;
  job.settings.max_iterations = 25;
  auto id = submit(job);
  auto r = wait(id);
  EXPECT_EQ(r.state, job_state::stopped);
  EXPECT_EQ(r.message, "early stopping: scripted stall");
  EXPECT_EQ(r.best_iteration, 1);
  EXPECT_EQ(r.trained_iterations, 3);
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

TEST_F(Scheduler, AJobThatValidateRefusesIsNeitherStoredNorQueuedAndLocksNoSplit) {
  // A worker is idle, so a job that got into the queue would be dispatched and lock its split.
  add_worker();
  job_spec narrow = small_job("narrow", "tool_narrow", 1);
  narrow.tool.input_width = 2;
  job_spec small_segment = small_job("small_segment", "tool_segment", 1);
  small_segment.tool.kind = "segment";
  small_segment.tool.input_width = small_segment.tool.input_height = 6;
  job_spec locate_on_fashion = small_job("locate", "tool_locate", 1);
  locate_on_fashion.tool.kind = "locate";  // the declared fashion dataset has no boxes
  struct refused_case {
    job_spec job;
    std::string mentions;
  };
  for (const auto& c : {refused_case{narrow, "input_width: expected a whole number of pixels "
                                             "from 4 to 4096, got 2"},
                        refused_case{small_segment, "at least 8 pixels"},
                        refused_case{locate_on_fashion, "needs a coco dataset"}}) {
    SCOPED_TRACE(c.job.name);
    auto id = ask<job_id>(submit_atom::value, c.job);
    ASSERT_FALSE(id) << "job " << *id << " was accepted";
    EXPECT_EQ(id.error().code, error_code::invalid_config);
    EXPECT_NE(id.error().message.find(c.mentions), std::string::npos) << id.error().message;
  }
  auto listed = ask<std::vector<job_info>>(list_atom::value);
  ASSERT_TRUE(listed) << listed.error().message;
  EXPECT_TRUE(listed->empty());
  auto db = store::open(workspace_ + "/trainyard.db");
  ASSERT_TRUE(db);
  auto stored = (*db)->load_jobs();
  ASSERT_TRUE(stored);
  EXPECT_TRUE(stored->empty());
  auto grant = ask_datasets<split_grant>(split_atom::value, std::string("small"), false);
  ASSERT_TRUE(grant) << grant.error().message;
  EXPECT_FALSE(grant->locked);
  // Unlocked, so the split may still be redrawn.
  auto redrawn = ask_datasets<split_summary>(define_atom::value, small_split("small", 99));
  EXPECT_TRUE(redrawn) << redrawn.error().message;
}

TEST_F(Scheduler, AJobWhoseWorkerDiesResumesOnAnotherFromItsLastIteration) {
  book_->script("fragile", {{}, {1, 2}});
  auto id = submit(small_job("fragile", "tool_fragile", 5));
  caf::scoped_actor self{*system_};
  auto first = request(self, wait_iter_atom::value, id, wait_ms);
  auto first_worker = add_worker();
  expect_iteration(first, 1);
  auto second = request(self, wait_iter_atom::value, id, wait_ms);
  book_->release("fragile");
  expect_iteration(second, 2);
  // Held after iteration 2, its worker goes away: the job goes back to the head of the queue.
  self->send_exit(first_worker, caf::exit_reason::kill);
  add_worker();
  auto r = wait(id);
  EXPECT_EQ(r.state, job_state::completed);
  EXPECT_EQ(r.trained_iterations, 5);
  auto calls = book_->calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].first_iteration, 0);
  EXPECT_EQ(calls[1].first_iteration, 2);  // resumed, not restarted
  EXPECT_EQ(info(id).run_order, 1);        // the same run, resumed
}

TEST_F(Scheduler, AGangOfTwoWaitsForTwoWorkersAndItsRanksMeetAtTheRendezvous) {
  auto gang = small_job("gang", "tool_gang", 3);
  gang.settings.devices = 2;
  auto g = submit(gang);
  auto single = submit(small_job("single", "tool_single", 1));
  add_worker();
  // One idle worker is not enough for the head, and the job behind it does not overtake it.
  EXPECT_EQ(queue_order(), (std::vector<job_id>{g, single}));
  add_worker();
  auto r = wait(g);
  EXPECT_EQ(r.state, job_state::completed) << r.message;
  EXPECT_EQ(r.trained_iterations, 3);
  EXPECT_EQ(wait(single).state, job_state::completed);
  auto calls = book_->calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].job, g);
  EXPECT_EQ(calls[1].job, g);
  EXPECT_EQ(calls[0].parallel.world_size, 2);
  EXPECT_EQ(calls[0].parallel.group, calls[1].parallel.group);
  EXPECT_FALSE(calls[0].parallel.group.empty());
  EXPECT_EQ(calls[0].parallel.rank + calls[1].parallel.rank, 1);  // ranks 0 and 1
  EXPECT_EQ(calls[2].name, "single");
  EXPECT_EQ(calls[2].parallel.world_size, 1);
}

// A node's GPU workers as the scheduler sees them (the scripted engine trains anywhere): a job
// takes a GPU first, its worker's device reaches the engine, and a gang never mixes a GPU with a
// CPU, waiting for two GPUs instead.
TEST_F(Scheduler, AJobTakesAGpuFirstAndAGangOfTwoWaitsForTwoGpusRatherThanMix) {
  const auto gpu = [](int index) {
    worker_info info;
    info.name = "cuda:" + std::to_string(index);
    info.kind = "cuda";
    info.device_name = "a simulated GPU";
    info.memory_bytes = 80ull << 30;
    return info;
  };
  add_worker();        // cpu, slot 0
  add_worker(gpu(0));  // cuda:0, slot 1
  const auto single = submit(small_job("single", "tool_single", 1));
  ASSERT_EQ(wait(single).state, job_state::completed);
  auto gang = small_job("gang", "tool_gang", 2);
  gang.settings.devices = 2;
  const auto g = submit(gang);
  auto waited = yard_->wait(g, 300);  // one GPU and one CPU idle: not a gang of one kind
  ASSERT_FALSE(waited);
  EXPECT_EQ(info(g).state, job_state::queued);
  add_worker(gpu(1));  // cuda:1, slot 2
  EXPECT_EQ(wait(g).state, job_state::completed);
  const auto calls = book_->calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].device, "cuda:0");
  std::vector<std::string> gang_devices{calls[1].device, calls[2].device};
  std::sort(gang_devices.begin(), gang_devices.end());
  EXPECT_EQ(gang_devices, (std::vector<std::string>{"cuda:0", "cuda:1"}));
}

TEST_F(Scheduler, ShutdownInterruptsARunningJobAndRequeuesItAtTheHead) {
  book_->script("running", {{}, {1}});
  auto id = submit(small_job("running", "tool_running", 4));
  auto waiting = submit(small_job("waiting", "tool_waiting", 1));
  caf::scoped_actor self{*system_};
  auto first = request(self, wait_iter_atom::value, id, wait_ms);
  add_worker();
  expect_iteration(first, 1);
  ASSERT_TRUE(yard_->shutdown());
  auto interrupted = info(id);
  EXPECT_EQ(interrupted.state, job_state::queued);
  EXPECT_EQ(interrupted.iteration, 1);
  EXPECT_EQ(queue_order(), (std::vector<job_id>{id, waiting}));
  EXPECT_EQ(book_->started(), (std::vector<std::string>{"running"}));
}

}  // namespace
}  // namespace trainyard::testing

namespace trainyard::testing {
namespace {

// Monitors are told about a worker whose node went away for gone_worker_linger_ms, then no more;
// the slot stays (indices are the scheduler's slot numbers), live workers are always listed.
TEST(SchedulerWorkers, AGoneWorkerLeavesTheListAfterAShortWhile) {
  using namespace scheduling;
  scheduler_state st;
  std::int64_t now = 50000;
  st.now_ms = [&now] { return now; };
  worker_info cpu;
  cpu.name = "cpu";
  st.workers.push_back(worker_slot{worker_actor{}, cpu, std::nullopt, true, 0});
  st.workers.push_back(worker_slot{worker_actor{}, cpu, std::nullopt, false, now});
  st.workers.push_back(worker_slot{worker_actor{}, cpu, std::nullopt, true, 0});
  now += gone_worker_linger_ms - 1;
  auto listed = worker_statuses(st);
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_FALSE(listed[1].alive);
  now += 1;
  listed = worker_statuses(st);
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].index, 0u);
  EXPECT_EQ(listed[1].index, 2u);
  EXPECT_TRUE(listed[0].alive && listed[1].alive);
}

}  // namespace
}  // namespace trainyard::testing
