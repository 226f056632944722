// Runs the real trainyard program as a child process for the CLI tests: arguments, exit code,
// captured output, a bounded wait, and reading output line by line while it runs.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

namespace trainyard::testing {

class child_process {
 public:
  /// Starts `args[0]` with stdout (and stderr, unless `with_stderr` is false: then it is
  /// discarded) into one pipe.
  explicit child_process(const std::vector<std::string>& args, bool with_stderr = true) {
    int fds[2];
    if (pipe(fds) != 0)
      throw std::runtime_error("pipe failed");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], 1);
      if (with_stderr) {
        dup2(fds[1], 2);
      } else {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 2);
      }
      close(fds[0]);
      close(fds[1]);
      std::vector<char*> argv;
      for (const auto& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(fds[1]);
    out_ = fds[0];
  }
  ~child_process() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0)
      close(out_);
  }

  /// Reads output until `needle` appears or the deadline passes; true when it appeared.
  bool read_until(const std::string& needle, std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (output_.find(needle) == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
      if (left <= 0 || !read_some(static_cast<int>(left)))
        return output_.find(needle) != std::string::npos;
    }
    return true;
  }

  /// Reads output until `needle` has appeared `count` times or the deadline passes.
  bool read_until_count(const std::string& needle, std::size_t count, std::chrono::seconds limit) {
    auto occurrences = [&] {
      std::size_t n = 0;
      for (auto at = output_.find(needle); at != std::string::npos;
           at = output_.find(needle, at + needle.size()))
        ++n;
      return n;
    };
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (occurrences() < count) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
      if (left <= 0 || !read_some(static_cast<int>(left)))
        return occurrences() >= count;
    }
    return true;
  }

  void signal(int sig) { kill(pid_, sig); }
  pid_t pid() const { return pid_; }

  /// Reads the rest of the output and waits for the exit (killed past the limit); -1 if killed.
  int finish(std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
      if (left <= 0)
        break;
      if (!read_some(static_cast<int>(left)))
        break;
    }
    // Output closed (or the deadline passed): the process is exiting; reap it within the limit.
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() >= deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        exited_ = true;
        return -1;
      }
      usleep(10000);
    }
    exited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  const std::string& output() const { return output_; }

 private:
  // false at end of output or timeout
  bool read_some(int timeout_ms) {
    pollfd p{out_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0)
      return false;
    char buf[4096];
    auto n = read(out_, buf, sizeof(buf));
    if (n <= 0)
      return false;
    output_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int out_ = -1;
  bool exited_ = false;
  std::string output_;
};

/// Runs to completion and returns {exit code, output}.
inline std::pair<int, std::string> run_program(const std::vector<std::string>& args,
                                               std::chrono::seconds limit,
                                               bool with_stderr = true) {
  child_process p(args, with_stderr);
  auto code = p.finish(limit);
  return {code, p.output()};
}

}  // namespace trainyard::testing
