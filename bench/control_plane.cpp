// The cluster's control plane on loopback: a real `trainyard scheduler` process, this process as
// its client, its monitors and a worker. Measures
//   - submits per second (each persisted in SQLite before it is acknowledged), pipelined;
//   - reorders (move to a random position) per second with the whole queue still queued;
//   - events per second delivered to `monitors` attached listeners while reorders run;
//   - the scheduler's memory (VmRSS) empty and with `jobs` queued;
//   - next-job latency: from one job's end (the worker's engine returns) to the next job's
//     training call on the same worker, with the queue still holding thousands of jobs. The
//     engine here trains nothing (it reports one iteration and returns), so model set-up is
//     excluded as the target asks and only the control plane is measured.
// Prints one JSON object with the targets (submit and reorder >= 5,000/s, latency < 50 ms,
// 10,000 queued jobs < 100 MiB).
//
//   control_plane [jobs=10000] [monitors=100] [latency_jobs=200]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/blocking_request.hpp"
#include "actors/embedded_yard.hpp"
#include "actors/remote.hpp"
#include "actors/worker.hpp"
#include "tests/support/scripted_engine.hpp"

namespace {

using namespace trainyard;
using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// The scheduler as a child process; its first output line names the port.
struct scheduler_process {
  pid_t pid = -1;
  int port = 0;

  explicit scheduler_process(const std::string& workspace) {
    int fds[2];
    if (pipe(fds) != 0)
      std::abort();
    pid = fork();
    if (pid == 0) {
      dup2(fds[1], 1);
      close(fds[0]);
      execl(TRAINYARD_BINARY, TRAINYARD_BINARY, "scheduler", "--listen", "127.0.0.1:0",
            "--workspace", workspace.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    std::string out;
    char buf[512];
    std::smatch m;
    while (!std::regex_search(out, m, std::regex("listening on 127\\.0\\.0\\.1:(\\d+)"))) {
      auto n = read(fds[0], buf, sizeof(buf));
      if (n <= 0) {
        std::fprintf(stderr, "control_plane: the scheduler did not start: %s\n", out.c_str());
        std::exit(1);
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
    port = std::stoi(m[1]);
  }
  ~scheduler_process() {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  // A field of /proc/PID/status in MiB: VmRSS (all resident pages), RssAnon (the process's own
  // heap and stacks) or RssFile (mapped program and library code). `trainyard scheduler` runs
  // trainyard-control, which links neither LibTorch nor OpenCV.
  double status_mib(const std::string& field) const {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
      if (line.rfind(field + ":", 0) == 0)
        return std::stod(line.substr(field.size() + 1)) / 1024.0;
    return 0;
  }
};

// Sends `count` requests keeping `window` in flight; answers the seconds it took.
template <class MakeRequest>
double pipelined(caf::actor_system& system, int count, int window, MakeRequest make_request) {
  caf::scoped_actor self{system};
  auto t0 = clock_type::now();
  int sent = 0, answered = 0, failed = 0;
  while (answered < count) {
    while (sent < count && sent - answered < window)
      make_request(self, sent++);
    self->receive([&](job_id) { ++answered; },
                  [&](job_info&) { ++answered; },
                  [&](caf::error& err) {
                    ++answered;
                    if (++failed <= 3)
                      std::fprintf(stderr, "control_plane: %s\n", describe(err).c_str());
                  });
  }
  return seconds_since(t0);
}

// A listener that counts `changed` events and signals when it has seen `expected` of them.
struct counting_state {
  std::shared_ptr<std::atomic<std::int64_t>> seen;
};

event_listener::behavior_type counting_listener(
  event_listener::stateful_pointer<counting_state> self,
  std::shared_ptr<std::atomic<std::int64_t>> seen) {
  self->state.seen = std::move(seen);
  return {
    [](iterated_atom, const iteration_report&) {},
    [](finished_atom, const job_result&) {},
    [=](changed_atom, const job_info&) { self->state.seen->fetch_add(1); },
    [](workers_atom, const std::vector<worker_status>&) {},
  };
}

// Milliseconds from the end of training call i to the start of call i + 1.
std::vector<double> gaps_ms(const std::vector<testing::training_call>& calls) {
  std::vector<double> gaps;
  for (std::size_t i = 0; i + 1 < calls.size(); ++i)
    gaps.push_back(
      std::chrono::duration<double, std::milli>(calls[i + 1].began - calls[i].ended).count());
  return gaps;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * (v.size() - 1) + 0.5))];
}

// Declares the benchmark's dataset (Fashion-MNIST's test subset) and a 200-image split of it.
expected<void> declare_tiny_split(caf::actor_system& system, const dataset_actor& datasets) {
  dataset_spec dataset;
  dataset.name = "fashion";
  dataset.path = "/usr/share/datasets/fashion-mnist";
  dataset.subset = "test";
  split_spec split;
  split.name = "tiny";
  split.dataset = "fashion";
  split.mode = split_mode::count;
  split.train = 100;
  split.validation = 50;
  split.test = 50;
  return declare_data(system, datasets, {dataset}, {split});
}

// Registers one worker on an engine that trains nothing (tests/support/scripted_engine.hpp) and
// measures the gaps between the one-iteration jobs it is handed (at most `jobs` of them, at most
// two minutes).
std::vector<double> next_job_gaps_ms(caf::actor_system& system, const scheduler_actor& scheduler,
                                     int jobs) {
  auto book = std::make_shared<testing::script_book>();
  auto engine = std::make_shared<testing::scripted_engine>(book);
  auto info = cpu_worker_info();
  info.node = "bench";
  auto worker = spawn_worker(system, engine, info);
  ask<std::uint32_t>(system, scheduler, std::chrono::seconds(30), register_atom::value, worker,
                     info);
  auto until = clock_type::now() + std::chrono::seconds(120);
  auto ended = [&] {
    auto calls = book->calls();
    return std::count_if(calls.begin(), calls.end(), [](const testing::training_call& c) {
      return c.ended != std::chrono::steady_clock::time_point{};
    });
  };
  while (ended() < jobs && clock_type::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
  return gaps_ms(book->calls());
}

}  // namespace

int main(int argc, char** argv) {
  int jobs = argc > 1 ? std::atoi(argv[1]) : 10000;
  int monitors = argc > 2 ? std::atoi(argv[2]) : 100;
  int latency_jobs = argc > 3 ? std::atoi(argv[3]) : 200;
  ::setenv("TRAINYARD_SECRET", "control-plane-bench-secret", 1);
  auto workspace = std::filesystem::temp_directory_path() /
                   ("trainyard-control-plane-" + std::to_string(getpid()));
  std::filesystem::create_directories(workspace);
  nlohmann::json out;
  {
    scheduler_process scheduler(workspace.string());
    auto creds = load_credentials("");
    caf::actor_system_config cfg;
    configure_remote_system(cfg, *creds);
    caf::actor_system system{cfg};
    cluster_endpoint where{"127.0.0.1", static_cast<std::uint16_t>(scheduler.port)};
    auto handles = connect_scheduler(system, where, *creds);
    if (!handles) {
      std::fprintf(stderr, "control_plane: %s\n", handles.error().message.c_str());
      return 1;
    }
    if (auto ok = declare_tiny_split(system, handles->datasets); !ok) {
      std::fprintf(stderr, "control_plane: %s\n", ok.error().message.c_str());
      return 1;
    }
    auto empty_rss = scheduler.status_mib("VmRSS");
    auto empty_anon = scheduler.status_mib("RssAnon");

    // Submits.
    auto scheduler_handle = handles->scheduler;
    auto submit_s = pipelined(system, jobs, 256, [&](caf::scoped_actor& self, int i) {
      job_spec spec;
      spec.name = "bench-" + std::to_string(i);
      spec.tool.name = "tool-" + std::to_string(i);
      spec.tool.dataset = "fashion";
      spec.split = "tiny";
      spec.settings.iterations = 1;
      spec.settings.batch_size = 1;
      self->send(scheduler_handle, submit_atom::value, std::move(spec));
    });
    auto queued_rss = scheduler.status_mib("VmRSS");
    auto queued_anon = scheduler.status_mib("RssAnon");
    auto queued_file = scheduler.status_mib("RssFile");

    // Reorders with nobody listening, then with `monitors` listeners attached.
    std::mt19937_64 rng(7);
    auto random_move = [&](caf::scoped_actor& self, int) {
      auto id = static_cast<job_id>(1 + rng() % static_cast<std::uint64_t>(jobs));
      auto position = static_cast<std::uint32_t>(rng() % static_cast<std::uint64_t>(jobs));
      self->send(scheduler_handle, move_atom::value, id, position);
    };
    auto reorders = std::min(jobs, 10000);
    auto reorder_s = pipelined(system, reorders, 256, random_move);

    auto seen = std::make_shared<std::atomic<std::int64_t>>(0);
    std::vector<event_listener> listeners;
    for (int i = 0; i < monitors; ++i) {
      listeners.push_back(system.spawn(counting_listener, seen));
      caf::anon_send(scheduler_handle, subscribe_atom::value, listeners.back());
    }
    ask<std::vector<job_info>>(system, scheduler_handle, std::chrono::seconds(60),
                               list_atom::value);  // subscriptions are in place after this
    seen->store(0);
    auto event_moves = std::min(reorders, 2000);
    auto t0 = clock_type::now();
    auto monitored_reorder_s = pipelined(system, event_moves, 256, random_move);
    auto expected_events = static_cast<std::int64_t>(event_moves) * monitors;
    while (seen->load() < expected_events && seconds_since(t0) < 120)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    auto events_s = seconds_since(t0);
    auto delivered = seen->load();
    for (auto& l : listeners)
      caf::anon_send_exit(l, caf::exit_reason::user_shutdown);

    // Next-job latency on one worker while the queue still holds the rest.
    auto gaps = next_job_gaps_ms(system, scheduler_handle, latency_jobs);

    out = {
      {"bench", "control_plane"},
      {"transport", "CAF BASP over TCP on 127.0.0.1, scheduler in its own process"},
      {"jobs", jobs},
      {"submits_per_s", jobs / submit_s},
      {"reorders_per_s", reorders / reorder_s},
      {"monitors", monitors},
      {"reorders_per_s_with_monitors", event_moves / monitored_reorder_s},
      {"events_delivered", delivered},
      {"events_expected", expected_events},
      {"events_per_s", delivered / events_s},
      {"scheduler_memory_mib",
       {{"empty_vmrss", empty_rss},
        {"empty_rss_anon", empty_anon},
        {"queued_vmrss", queued_rss},
        {"queued_rss_anon", queued_anon},
        {"queued_rss_file", queued_file},
        {"queued_anon_growth", queued_anon - empty_anon}}},
      {"next_job_latency_ms",
       {{"jobs", gaps.size()},
        {"median", percentile(gaps, 0.5)},
        {"p90", percentile(gaps, 0.9)},
        {"max", gaps.empty() ? 0 : *std::max_element(gaps.begin(), gaps.end())}}},
      {"targets",
       {{"submits_per_s_at_least", 5000},
        {"reorders_per_s_at_least", 5000},
        {"next_job_latency_ms_below", 50},
        {"queued_10000_rss_mib_below", 100}}},
    };
  }
  std::error_code ec;
  std::filesystem::remove_all(workspace, ec);
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}
