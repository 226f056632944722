// A terminal for the CLI tests: one command in a private tmux server (its own socket) at a given
// size; the screen is read with `tmux capture-pane`, keys are sent with `tmux send-keys`. The
// server is ended with the object. Screens have no event to wait on from outside, hence
// `eventually`, which retries a check until a bound.
#pragma once

#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "tests/nodes/process.hpp"

namespace trainyard::testing {

/// Retries `attempt` every 100 ms until it is true or `limit` passes.
inline bool eventually(const std::function<bool()>& attempt, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!attempt()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return true;
}

class tmux_session {
 public:
  static constexpr const char* program = "/usr/bin/tmux";

  /// Whether tmux is installed where the tests look for it.
  static bool available() { return access(program, X_OK) == 0; }

  /// A server on the socket `name` (unique per test process), its session not yet started.
  explicit tmux_session(const std::string& name)
      : socket_(name + "-" + std::to_string(getpid())) {}
  ~tmux_session() {
    run_program({program, "-L", socket_, "kill-server"}, std::chrono::seconds(10));
  }
  tmux_session(const tmux_session&) = delete;
  tmux_session& operator=(const tmux_session&) = delete;

  /// Starts `command` (a shell command line) in a detached session of `columns` x `rows`, with
  /// the `environment` entries ("NAME=value") set; the exit code and tmux's output.
  std::pair<int, std::string> start(const std::string& command, int columns, int rows,
                                    const std::vector<std::string>& environment = {}) {
    std::vector<std::string> args{program, "-L", socket_, "new-session", "-d", "-s", session,
                                  "-x", std::to_string(columns), "-y", std::to_string(rows)};
    for (const auto& e : environment) {
      args.push_back("-e");
      args.push_back(e);
    }
    args.push_back(command);
    return run_program(args, std::chrono::seconds(10));
  }
  /// The visible screen, one row per line; with `history`, the rows scrolled off it first. Rows
  /// the terminal wrapped stay apart (not joined), as they are on the screen.
  std::string screen(bool history = false) {
    std::vector<std::string> args{program, "-L", socket_, "capture-pane", "-p", "-t", session};
    if (history) {
      args.push_back("-S");
      args.push_back("-");
    }
    auto [code, out] = run_program(args, std::chrono::seconds(10), false);
    return code == 0 ? out : std::string();
  }
  /// Sends keys as `tmux send-keys` names them ("j", "Enter", "C-c").
  bool keys(const std::vector<std::string>& ks) {
    std::vector<std::string> args{program, "-L", socket_, "send-keys", "-t", session};
    args.insert(args.end(), ks.begin(), ks.end());
    return run_program(args, std::chrono::seconds(10)).first == 0;
  }
  /// Whether the session's command still runs (tmux ends the session when it exits).
  bool running() {
    return run_program({program, "-L", socket_, "has-session", "-t", session},
                       std::chrono::seconds(10))
             .first == 0;
  }

 private:
  static constexpr const char* session = "test";
  std::string socket_;
};

}  // namespace trainyard::testing
