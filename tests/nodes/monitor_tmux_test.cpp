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
#include <functional>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/nodes/process.hpp"
#include "tests/support/temp_folder.hpp"

namespace trainyard::testing {
namespace {

using namespace std::chrono_literals;

const std::string binary = TRAINYARD_BINARY;
const std::string tmux = "/usr/bin/tmux";

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

// Retries `attempt` every 100 ms until it is true or `limit` passes (screens and sockets have no
// event to wait on from outside the process).
bool eventually(const std::function<bool()>& attempt, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!attempt()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(100ms);
  }
  return true;
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
    if (access(tmux.c_str(), X_OK) != 0)
      GTEST_SKIP() << "tmux is not installed at " << tmux;
    setenv("TRAINYARD_SECRET", "monitor-test-secret", 1);
    socket_ = "trainyard-monitor-" + std::to_string(getpid());
  }
  void TearDown() override {
    if (!socket_.empty())
      run_program({tmux, "-L", socket_, "kill-server"}, 10s);
    if (scheduler_) {
      scheduler_->signal(SIGTERM);
      scheduler_->finish(10s);  // killed past the limit
    }
  }
  std::string screen() {
    auto [code, out] = run_program({tmux, "-L", socket_, "capture-pane", "-p", "-t", "monitor"},
                                   10s, false);
    return code == 0 ? out : std::string();
  }
  bool keys(const std::vector<std::string>& ks) {
    std::vector<std::string> args{tmux, "-L", socket_, "send-keys", "-t", "monitor"};
    args.insert(args.end(), ks.begin(), ks.end());
    return run_program(args, 10s).first == 0;
  }

  temp_folder dir_{"monitor-tmux"};
  std::string socket_;
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

  auto command = binary + " monitor --scheduler " + where;
  auto [started, why] = run_program({tmux, "-L", socket_, "new-session", "-d", "-s", "monitor",
                                     "-x", "120", "-y", "40", "-e",
                                     "TRAINYARD_SECRET=monitor-test-secret", command},
                                    10s);
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

  ASSERT_TRUE(keys({"q"}));
  EXPECT_TRUE(eventually(
    [&] {
      auto [c, o] = run_program({tmux, "-L", socket_, "has-session", "-t", "monitor"}, 10s);
      return c != 0;
    },
    10s))
    << "q ends the monitor (and with it the tmux session)";
}

}  // namespace
}  // namespace trainyard::testing
