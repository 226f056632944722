// The monitor actor against a real in-process scheduler (no workers, so submitted jobs stay
// queued), drawing on a recording screen: the queue appears in order, keys reorder and cancel
// jobs in the scheduler itself, and the loss and return of the scheduler show in the header.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>

#include "actors/monitor.hpp"
#include "runtime/ui/monitor_view.hpp"
#include "tests/actors/yard_fixture.hpp"
#include "tests/support/scripted_engine.hpp"

namespace trainyard::testing {
namespace {

using namespace std::chrono_literals;

// A 120x40 screen that keeps the last drawing and lets the test wait for one it expects.
class recording_screen : public monitor_screen {
 public:
  std::pair<int, int> size() override { return {120, 40}; }
  void draw(const std::vector<std::string>& lines) override {
    std::lock_guard<std::mutex> lock(mutex_);
    text_.clear();
    for (const auto& l : lines)
      text_ += l + "\n";
    ++draws_;
    changed_.notify_all();
  }
  // Waits (bounded) until the screen satisfies `ok`; false on timeout.
  template <class Predicate>
  bool wait_for(Predicate ok, std::chrono::milliseconds limit = 20s) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return ok(text_); });
  }
  bool wait_for_text(const std::string& needle, std::chrono::milliseconds limit = 20s) {
    return wait_for([&](const std::string& t) { return t.find(needle) != std::string::npos; },
                    limit);
  }
  std::string text() {
    std::lock_guard<std::mutex> lock(mutex_);
    return text_;
  }
  int draws() {
    std::lock_guard<std::mutex> lock(mutex_);
    return draws_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string text_;
  int draws_ = 0;
};

// True when `names` appear on the screen as the queue's rows 1., 2., ... in this order.
bool queue_shows(const std::string& screen, const std::vector<std::string>& names) {
  std::size_t at = screen.find("Queue (" + std::to_string(names.size()) + ")");
  if (at == std::string::npos)
    return false;
  for (std::size_t i = 0; i < names.size(); ++i) {
    auto row = std::to_string(i + 1) + ".";
    row.resize(4, ' ');
    at = screen.find(row + names[i] + " ", at);
    if (at == std::string::npos)
      return false;
  }
  return true;
}

class Monitor : public YardTest {
 protected:
  void TearDown() override {
    if (monitor_)
      caf::anon_send_exit(monitor_, caf::exit_reason::user_shutdown);
    for (auto& s : extra_schedulers_)
      caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
    monitor_ = nullptr;
    extra_schedulers_.clear();
    YardTest::TearDown();
  }
  void start_monitor(scheduler_connector connect) {
    monitor_settings settings;
    settings.where = "in-process";
    settings.first_retry = 100ms;
    settings.last_retry = 500ms;
    monitor_ = spawn_monitor(*system_, std::move(connect), screen_, settings);
  }
  void press(int key) { caf::anon_send(monitor_, key_atom::value, key); }
  std::vector<job_id> scheduler_order() {
    auto all = yard_->list();
    EXPECT_TRUE(all) << all.error().message;
    std::vector<std::pair<std::int64_t, job_id>> q;
    for (const auto& j : *all)
      if (j.state == job_state::queued)
        q.emplace_back(j.queue_position, j.id);
    std::sort(q.begin(), q.end());
    std::vector<job_id> out;
    for (auto& [pos, id] : q)
      out.push_back(id);
    return out;
  }

  std::shared_ptr<recording_screen> screen_ = std::make_shared<recording_screen>();
  monitor_actor monitor_;
  std::vector<scheduler_actor> extra_schedulers_;
};

TEST_F(Monitor, ShowsTheQueueInOrderAndTopMovesTheSelectedJobInTheScheduler) {
  auto a = submit(small_job("alpha", "tool_a", 1));
  auto b = submit(small_job("bravo", "tool_b", 1));
  auto c = submit(small_job("charlie", "tool_c", 1));
  auto scheduler = yard_->scheduler();
  start_monitor([scheduler]() -> expected<scheduler_actor> { return scheduler; });
  ASSERT_TRUE(screen_->wait_for(
    [](const std::string& s) { return queue_shows(s, {"alpha", "bravo", "charlie"}); }))
    << screen_->text();
  EXPECT_NE(screen_->text().find("connected to in-process"), std::string::npos);
  EXPECT_NE(screen_->text().find("Workers (0)"), std::string::npos) << screen_->text();

  // The cursor starts on the head of the queue: two rows down is charlie; t moves it to the top.
  press(monitor_key::down);
  press('j');
  press('t');
  ASSERT_TRUE(screen_->wait_for(
    [](const std::string& s) { return queue_shows(s, {"charlie", "alpha", "bravo"}); }))
    << screen_->text();
  EXPECT_EQ(scheduler_order(), (std::vector<job_id>{c, a, b}));
  EXPECT_NE(screen_->text().find("> 1.  charlie"), std::string::npos)
    << "the cursor follows the moved job\n" << screen_->text();

  // d moves it down one place again.
  press('d');
  ASSERT_TRUE(screen_->wait_for(
    [](const std::string& s) { return queue_shows(s, {"alpha", "charlie", "bravo"}); }))
    << screen_->text();
  EXPECT_EQ(scheduler_order(), (std::vector<job_id>{a, c, b}));
}

TEST_F(Monitor, CancelRemovesTheSelectedJobAndRefusalsShowInTheNoticeLine) {
  auto a = submit(small_job("alpha", "tool_a", 1));
  auto b = submit(small_job("bravo", "tool_b", 1));
  auto c = submit(small_job("charlie", "tool_c", 1));
  auto scheduler = yard_->scheduler();
  start_monitor([scheduler]() -> expected<scheduler_actor> { return scheduler; });
  ASSERT_TRUE(screen_->wait_for(
    [](const std::string& s) { return queue_shows(s, {"alpha", "bravo", "charlie"}); }))
    << screen_->text();
  press('j');
  press('c');
  ASSERT_TRUE(screen_->wait_for_text("! cancel queued job 'bravo'? y = yes, any other key = no"))
    << screen_->text();
  EXPECT_EQ(scheduler_order(), (std::vector<job_id>{a, b, c})) << "nothing before the 'y'";
  press('y');
  ASSERT_TRUE(screen_->wait_for(
    [](const std::string& s) { return queue_shows(s, {"alpha", "charlie"}); }))
    << screen_->text();
  EXPECT_EQ(scheduler_order(), (std::vector<job_id>{a, c}));
  EXPECT_EQ(info(b).state, job_state::cancelled);
  ASSERT_TRUE(screen_->wait_for_text("> bravo    cancelled  (cancelled while queued)"))
    << "the cursor stays on the cancelled job\n" << screen_->text();
  ASSERT_TRUE(screen_->wait_for_text("! cancelled 'bravo'")) << screen_->text();

  // Up twice to alpha, the head of the queue: moving it up is refused by the view.
  press('k');
  press('k');
  press('u');
  ASSERT_TRUE(screen_->wait_for_text("! 'alpha' is already at the head of the queue"))
    << screen_->text();
}

// The worker row shows the machine's memory in use of its total and the process's own memory,
// asked for again every few seconds; a worker that went away shows as gone and is not counted.
TEST_F(Monitor, WorkersShowTheirMemoryAndAGoneOneIsNotCounted) {
  auto worker = add_worker(std::make_shared<scripted_engine>(std::make_shared<script_book>()));
  auto scheduler = yard_->scheduler();
  start_monitor([scheduler]() -> expected<scheduler_actor> { return scheduler; });
  ASSERT_TRUE(screen_->wait_for([](const std::string& s) {
    return s.find("Workers (1)") != std::string::npos && s.find(" GiB of ") != std::string::npos &&
           s.find("process ") != std::string::npos && s.find("idle") != std::string::npos;
  })) << screen_->text();
  caf::anon_send_exit(worker, caf::exit_reason::kill);
  ASSERT_TRUE(screen_->wait_for([](const std::string& s) {
    return s.find("Workers (0)  1 gone") != std::string::npos &&
           s.find("0 workers") != std::string::npos;
  })) << screen_->text();
}

TEST_F(Monitor, SaysWhenTheSchedulerGoesAwayAndReconnectsToItsSuccessor) {
  submit(small_job("alpha", "tool_a", 1));
  submit(small_job("bravo", "tool_b", 1));
  auto first = yard_->scheduler();
  std::atomic<int> calls{0};
  auto fresh = std::make_shared<std::vector<scheduler_actor>>();
  auto system = system_.get();
  auto datasets = yard_->datasets();
  auto workspace = workspace_;
  start_monitor([=, &calls]() -> expected<scheduler_actor> {
    if (calls++ == 0)
      return first;
    if (calls == 2)  // the first retry finds nobody yet
      return make_failure(error_code::interrupted, "connection refused");
    scheduler_options options;
    options.workspace = workspace;
    auto s = spawn_scheduler(*system, options, datasets);
    if (s)
      fresh->push_back(*s);
    return s;
  });
  ASSERT_TRUE(screen_->wait_for(
    [](const std::string& s) { return queue_shows(s, {"alpha", "bravo"}); }))
    << screen_->text();

  caf::anon_send_exit(first, caf::exit_reason::kill);
  ASSERT_TRUE(screen_->wait_for_text("scheduler went away at")) << screen_->text();
  ASSERT_TRUE(screen_->wait_for_text("reconnected to in-process at")) << screen_->text();
  // The successor reloaded the queue from the workspace; the monitor shows it again.
  ASSERT_TRUE(screen_->wait_for(
    [](const std::string& s) { return queue_shows(s, {"alpha", "bravo"}); }))
    << screen_->text();
  EXPECT_GE(calls.load(), 3);
  caf::anon_send_exit(monitor_, caf::exit_reason::user_shutdown);
  monitor_ = nullptr;
  for (auto& s : *fresh)
    extra_schedulers_.push_back(s);
}

TEST_F(Monitor, QuitsOnQAndRetriesWhileNoSchedulerAnswers) {
  std::atomic<int> calls{0};
  start_monitor([&calls]() -> expected<scheduler_actor> {
    ++calls;
    return make_failure(error_code::timeout, "no scheduler at 127.0.0.1:9");
  });
  ASSERT_TRUE(screen_->wait_for_text("cannot reach the scheduler (no scheduler at 127.0.0.1:9"))
    << screen_->text();
  // Each failed attempt redraws the header, so waiting on the screen sees every attempt.
  ASSERT_TRUE(screen_->wait_for([&](const std::string&) { return calls.load() >= 3; }))
    << "it keeps trying";
  std::atomic<bool> gone{false};
  std::mutex m;
  std::condition_variable cv;
  monitor_->attach_functor([&] {
    std::lock_guard<std::mutex> lock(m);
    gone = true;
    cv.notify_all();
  });
  press('q');
  std::unique_lock<std::mutex> lock(m);
  EXPECT_TRUE(cv.wait_for(lock, 10s, [&] { return gone.load(); }));
  monitor_ = nullptr;
}

}  // namespace
}  // namespace trainyard::testing
