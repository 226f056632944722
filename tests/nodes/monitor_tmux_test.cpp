// `trainyard monitor` as a user sees it: a real scheduler process on 127.0.0.1 with a campaign of
// three queued jobs (no nodes, so they stay queued), the monitor full screen inside a private tmux
// server (120x40), keys sent with `tmux send-keys`, the screen read with `tmux capture-pane`.
// Skipped, with the reason, when this build has no `trainyard scheduler` or no tmux. Every wait is
// bounded; the scheduler and the tmux server are ended on every way out.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/nodes/process.hpp"
#include "tests/nodes/tmux_session.hpp"
#include "tests/support/temp_folder.hpp"

namespace trainyard::testing {
namespace {

using namespace std::chrono_literals;

const std::string binary = TRAINYARD_BINARY;

// A port nobody listens on right now (the kernel's choice for an ephemeral bind).
int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

// True when `names` are the queue's rows 1., 2., ... in this order on the screen.
bool queue_shows(const std::string& screen, const std::vector<std::string>& names) {
  auto at = screen.find("Queue (" + std::to_string(names.size()) + ")");
  for (std::size_t i = 0; i < names.size() && at != std::string::npos; ++i) {
    auto row = std::to_string(i + 1) + ".";
    row.resize(4, ' ');
    at = screen.find(row + names[i] + " ", at);
  }
  return at != std::string::npos;
}

class MonitorTmux : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!tmux_session::available())
      GTEST_SKIP() << "tmux is not installed at " << tmux_session::program;
    setenv("TRAINYARD_SECRET", "monitor-test-secret", 1);
    terminal_ = std::make_unique<tmux_session>("trainyard-monitor");
  }
  void TearDown() override {
    terminal_.reset();
    if (scheduler_) {
      scheduler_->signal(SIGTERM);
      scheduler_->finish(10s);  // killed past the limit
    }
  }
  std::string screen() { return terminal_->screen(); }
  bool keys(const std::vector<std::string>& ks) { return terminal_->keys(ks); }

  temp_folder dir_{"monitor-tmux"};
  std::unique_ptr<tmux_session> terminal_;
  std::unique_ptr<child_process> scheduler_;
};

TEST_F(MonitorTmux, ShowsTheQueueAndTopMovesTheThirdJobInTheScheduler) {
  auto port = free_port();
  ASSERT_GT(port, 0);
  auto where = "127.0.0.1:" + std::to_string(port);
  auto workspace = (dir_ / "yard").string();
  std::filesystem::create_directories(workspace);
  scheduler_ = std::make_unique<child_process>(
    std::vector<std::string>{binary, "scheduler", "--listen", where, "--workspace", workspace});

  auto campaign = (dir_ / "three.ini").string();
  std::string text =
    "[campaign]\nworkspace = " + workspace +
    "\n[dataset.fashion]\nkind = fashion-mnist\nsubset = train\n"
    "[split.small]\ndataset = fashion\nmode = count\ntrain = 600\nvalidation = 200\n"
    "test = 200\nseed = 3\n";
  for (std::string name : {"first", "second", "third"})
    text += "[tool." + name + "]\nkind = classify\ndataset = fashion\nmodel_width = 8\n[job." +
            name + "]\ntool = " + name + "\nsplit = small\niterations = 1\nbatch_size = 64\n";
  std::ofstream(campaign) << text;
  std::string submitted;
  ASSERT_TRUE(eventually(
    [&] {
      auto [code, out] = run_program({binary, "submit", "--scheduler", where, campaign}, 60s);
      submitted = out;
      return code == 0;
    },
    60s))
    << "submit never succeeded; last output:\n" << submitted << "\nscheduler output:\n"
    << scheduler_->output();

  auto [started, why] = terminal_->start(binary + " monitor --scheduler " + where, 120, 40,
                                          {"TRAINYARD_SECRET=monitor-test-secret"});
  ASSERT_EQ(started, 0) << why;
  ASSERT_TRUE(eventually([&] { return queue_shows(screen(), {"first", "second", "third"}); },
                         30s))
    << screen();
  EXPECT_NE(screen().find("connected to " + where), std::string::npos) << screen();

  // The cursor starts on the head of the queue: two rows down is "third"; t moves it to the top.
  ASSERT_TRUE(keys({"j", "j"}));
  ASSERT_TRUE(eventually([&] { return screen().find("> 3.  third") != std::string::npos; }, 10s))
    << screen();
  ASSERT_TRUE(keys({"t"}));
  ASSERT_TRUE(eventually([&] { return queue_shows(screen(), {"third", "first", "second"}); },
                         30s))
    << screen();

  // The scheduler agrees.
  auto [code, out] = run_program({binary, "queue", "--scheduler", where, "--json"}, 30s, false);
  EXPECT_EQ(code, 0) << out;
  if (code == 0) {
    auto parsed = nlohmann::json::parse(out, nullptr, false);
    const auto& jobs = parsed.is_object() && parsed.contains("jobs") ? parsed["jobs"] : parsed;
    std::string head;
    std::int64_t best = INT64_MAX;
    if (jobs.is_array())
      for (const auto& j : jobs)
        if (j.is_object() && j.contains("name") && j.contains("queue_position") &&
            j["queue_position"].is_number_integer() && j["queue_position"].get<std::int64_t>() >= 0 &&
            j["queue_position"].get<std::int64_t>() < best) {
          best = j["queue_position"].get<std::int64_t>();
          head = j["name"].get<std::string>();
        }
    EXPECT_EQ(head, "third") << "the scheduler's own queue must have changed: " << out;
  }

  // c asks first: another key keeps the job; y cancels it, and the cursor stays on it.
  ASSERT_TRUE(keys({"c"}));
  ASSERT_TRUE(eventually(
    [&] { return screen().find("cancel queued job 'third'? y = yes") != std::string::npos; },
    10s))
    << screen();
  ASSERT_TRUE(keys({"n"}));
  ASSERT_TRUE(eventually(
    [&] { return screen().find("'third' kept: nothing was cancelled") != std::string::npos; },
    10s))
    << screen();
  EXPECT_TRUE(queue_shows(screen(), {"third", "first", "second"})) << screen();
  ASSERT_TRUE(keys({"c", "y"}));
  ASSERT_TRUE(eventually(
    [&] {
      auto s = screen();
      return queue_shows(s, {"first", "second"}) && s.find("> third") != std::string::npos &&
             s.find("cancelled 'third'") != std::string::npos;
    },
    30s))
    << screen();
  // A key that means nothing says so.
  ASSERT_TRUE(keys({"x"}));
  ASSERT_TRUE(eventually(
    [&] { return screen().find("'x' does nothing; keys:") != std::string::npos; }, 10s))
    << screen();

  ASSERT_TRUE(keys({"q"}));
  EXPECT_TRUE(eventually([&] { return !terminal_->running(); }, 10s))
    << "q ends the monitor (and with it the tmux session)";
}

}  // namespace
}  // namespace trainyard::testing
