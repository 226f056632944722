// A cluster on 127.0.0.1 for the integration tests: a real scheduler process, real node
// processes and the real client commands, in a temporary folder. Every process started here is
// killed when the fixture goes away; every wait is bounded.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/nodes/process.hpp"
#include "tests/support/temp_folder.hpp"

namespace trainyard::testing {

using namespace std::chrono_literals;

class Cluster : public ::testing::Test {
 protected:
  void SetUp() override { ::setenv("TRAINYARD_SECRET", "cluster-test-secret-0123", 1); }

  std::string binary() const { return TRAINYARD_BINARY; }
  std::string workspace() const { return (dir_ / "yard").string(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  std::string write(const std::string& name, const std::string& text) {
    auto path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }

  /// Starts the scheduler (on `port`, 0 = any free one) and waits until it listens.
  child_process& start_scheduler(std::vector<std::string> extra = {}, int port = 0) {
    std::vector<std::string> args = {binary(), "scheduler", "--listen",
                                      "127.0.0.1:" + std::to_string(port), "--workspace",
                                      workspace()};
    args.insert(args.end(), extra.begin(), extra.end());
    scheduler_ = std::make_unique<child_process>(args);
    if (!scheduler_->read_until("listening on", 30s))
      ADD_FAILURE() << "the scheduler did not start: " << scheduler_->output();
    std::smatch m;
    auto out = scheduler_->output();
    if (std::regex_search(out, m, std::regex("listening on 127\\.0\\.0\\.1:(\\d+)")))
      port_ = std::stoi(m[1]);
    return *scheduler_;
  }

  /// Starts a node and waits until it has joined.
  child_process& start_node(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {binary(), "node", "--scheduler", address()};
    args.insert(args.end(), extra.begin(), extra.end());
    nodes_.push_back(std::make_unique<child_process>(args));
    if (!nodes_.back()->read_until("joined the scheduler", 60s))
      ADD_FAILURE() << "the node did not join: " << nodes_.back()->output();
    return *nodes_.back();
  }

  /// Runs a client command against the scheduler: {exit code, output}.
  std::pair<int, std::string> client(std::vector<std::string> args,
                                     std::chrono::seconds limit = 120s) {
    args.insert(args.begin(), binary());
    args.push_back("--scheduler");
    args.push_back(address());
    return run_program(args, limit, /*with_stderr=*/true);
  }

  /// Starts a client command in the background (e.g. a wait that must be listening before the
  /// event it waits for can happen).
  std::unique_ptr<child_process> background(std::vector<std::string> args) {
    args.insert(args.begin(), binary());
    args.push_back("--scheduler");
    args.push_back(address());
    return std::make_unique<child_process>(args);
  }

  /// The jobs as `trainyard queue --json` lists them, by name.
  std::map<std::string, nlohmann::json> jobs() {
    auto [code, out] = client({"queue", "list", "--json"}, 60s);
    std::map<std::string, nlohmann::json> by_name;
    if (code != 0) {
      ADD_FAILURE() << "queue list failed: " << out;
      return by_name;
    }
    for (auto& j : nlohmann::json::parse(out.substr(out.find('['))))
      by_name[j["name"].get<std::string>()] = j;
    return by_name;
  }

  /// Polls the job list (bounded) until `pred` holds for the job; true when it did.
  template <class Pred>
  bool eventually(const std::string& job, Pred pred, std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      auto all = jobs();
      if (all.count(job) && pred(all[job]))
        return true;
      std::this_thread::sleep_for(200ms);
    }
    return false;
  }

  /// A campaign on a small slice of Fashion-MNIST: one tool and job per name.
  std::string campaign(const std::vector<std::string>& names, int iterations,
                       const std::string& job_extra = "", const std::string& tool_extra = "",
                       int train = 800) {
    std::string text =
      "[dataset.fashion]\nkind = fashion-mnist\nsubset = train\n"
      "[split.s" + std::to_string(train) + "]\ndataset = fashion\nmode = count\ntrain = " +
      std::to_string(train) + "\nvalidation = 200\ntest = 200\nseed = 5\n";
    for (const auto& n : names) {
      text += "[tool." + n + "]\ndataset = fashion\nmodel_width = 8\n" + tool_extra;
      text += "[job." + n + "]\ntool = " + n + "\nsplit = s" + std::to_string(train) + "\niterations = " +
              std::to_string(iterations) + "\nthreads = 1\n" +
              (job_extra.find("batch_size") == std::string::npos ? "batch_size = 32\n" : "") +
              job_extra;
    }
    return write("campaign-" + std::to_string(campaigns_++) + ".ini", text);
  }

  /// Ctrl-C (SIGTERM) on a scheduler that served nodes and clients: it saves and exits with 0
  /// by itself. It once waited forever, about one time in two, on an actor thread kept alive by
  /// a handle a peer had been given.
  void expect_scheduler_stops_on_sigterm() {
    scheduler_->signal(SIGTERM);
    EXPECT_EQ(scheduler_->finish(30s), 0) << scheduler_->output();
  }

  void kill_node(std::size_t i) { nodes_.at(i)->signal(SIGKILL); }

  temp_folder dir_{"cluster"};
  int port_ = 0;
  int campaigns_ = 0;
  std::unique_ptr<child_process> scheduler_;
  std::vector<std::unique_ptr<child_process>> nodes_;
};

}  // namespace trainyard::testing
