// A training engine without LibTorch for scheduler tests and the control-plane benchmark: it
// trains nothing and reports the iterations a test scripts, honours stop requests, and can fail
// or hold (hang until stopped or released) on cue. A resumed job continues from the iteration
// its last run reported, as the real engine continues from its checkpoint. Header-only; engines
// of several workers share one script_book, which also records every training call.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/policy/job_length.hpp"
#include "runtime/core/training_engine.hpp"

namespace trainyard::testing {

/// What one job does when it trains; a job without a script trains its iterations and completes.
struct job_script {
  std::vector<double> values;  ///< val_accuracy of iteration 1, 2, ...; past the end: the last
                               ///< one, or 0.5 when empty
  std::vector<int> holds;      ///< after reporting these iterations, hold until stopped or released
  int fail_after = -1;         ///< after reporting this many iterations, fail (0: before any)
  int early_stop_at = 0;       ///< this iteration's report says early stopping fired
};

/// One training call as the engine saw it.
struct training_call {
  job_id job = 0;
  std::string name;
  rank_assignment parallel;
  int first_iteration = 0;  ///< the tool's iteration count it started from
  std::chrono::steady_clock::time_point began, ended;
  training_settings settings;  ///< what the job was asked to train with
  std::string device;          ///< the worker's device it trained on
};

/// Scripts by job name, shared by the engines of all workers, and what they were asked to do.
class script_book {
 public:
  void script(const std::string& job_name, job_script s) {
    std::lock_guard<std::mutex> lock(mutex_);
    scripts_[job_name] = std::move(s);
  }
  /// A job holding after an iteration goes on.
  void release(const std::string& job_name) {
    std::lock_guard<std::mutex> lock(mutex_);
    released_[job_name] = true;
    changed_.notify_all();
  }
  /// Every training call so far (ended is set once it returned), in the order they began.
  std::vector<training_call> calls() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return calls_;
  }
  /// Names of the jobs whose rank 0 began training, in that order.
  std::vector<std::string> started() const {
    std::vector<std::string> names;
    for (const auto& c : calls())
      if (c.parallel.rank == 0)
        names.push_back(c.name);
    return names;
  }

 private:
  friend class scripted_engine;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, job_script> scripts_;
  std::map<std::string, bool> released_;
  std::map<std::string, std::pair<job_id, int>> checkpoints_;  // by tool: job, iterations
  std::vector<training_call> calls_;
};

class scripted_engine final : public training_engine {
 public:
  explicit scripted_engine(std::shared_ptr<script_book> book) : book_(std::move(book)) {}

  training_outcome train(const training_request& request, training_observer& observer) override {
    auto& b = *book_;
    std::size_t call;
    job_script script;
    int first = 0;
    {
      std::lock_guard<std::mutex> lock(b.mutex_);
      if (auto it = b.scripts_.find(request.spec.name); it != b.scripts_.end())
        script = it->second;
      if (auto it = b.checkpoints_.find(request.spec.tool.name); it != b.checkpoints_.end())
        if (it->second.first == request.job || request.spec.continue_training)
          first = it->second.second;
      call = b.calls_.size();
      b.calls_.push_back({request.job, request.spec.name, request.parallel, first,
                          std::chrono::steady_clock::now(), {}, request.spec.settings,
                          request.device});
    }
    auto outcome = run(request, observer, script, first);
    std::lock_guard<std::mutex> lock(b.mutex_);
    b.calls_[call].ended = std::chrono::steady_clock::now();
    return outcome;
  }

 private:
  static training_outcome ended(job_state state, int trained, int best, std::string message = {}) {
    training_outcome o;
    o.state = state;
    o.trained_iterations = trained;
    o.best_iteration = best;
    o.batch_size = 1;
    o.message = std::move(message);
    if (state == job_state::failed)
      o.error = error_code::invalid_request;
    return o;
  }

  // The ranks of a group meet: each sets its key, waits for the others', and counts itself in.
  static std::string meet(const rank_assignment& a, training_observer& observer) {
    auto* store = observer.rendezvous();
    if (!store)
      return "no rendezvous store";
    auto key = [&](int rank) { return a.group + "/scripted/rank" + std::to_string(rank); };
    if (auto ok = store->set(key(a.rank), {std::uint8_t(a.rank)}); !ok)
      return ok.error().message;
    for (int rank = 0; rank < a.world_size; ++rank)
      if (auto got = store->get(key(rank), std::chrono::seconds(30)); !got)
        return got.error().message;
    if (auto n = store->add(a.group + "/scripted/joined", 1); !n)
      return n.error().message;
    return {};
  }

  // Holds until a stop is asked or the job is released; true when released.
  bool hold(const std::string& name, training_observer& observer) {
    auto& b = *book_;
    std::unique_lock<std::mutex> lock(b.mutex_);
    while (!b.released_[name]) {
      if (observer.stop_requested())
        return false;
      // The stop flag is polled (it is an atomic the worker sets); release() wakes at once.
      b.changed_.wait_for(lock, std::chrono::milliseconds(2));
    }
    b.released_[name] = false;
    return true;
  }

  training_outcome run(const training_request& request, training_observer& observer,
                       const job_script& script, int first) {
    const auto& s = request.spec.settings;
    const auto& a = request.parallel;
    if (a.world_size > 1)
      if (auto why = meet(a, observer); !why.empty())
        return ended(job_state::failed, first, first, "the ranks did not meet: " + why);
    int target = request.spec.continue_training ? first + s.iterations
                                                : length_before_counting(s);
    int best = first;
    double best_value = -1;
    for (int it = first + 1; it <= target; ++it) {
      if (script.fail_after >= 0 && it - first > script.fail_after)
        return ended(job_state::failed, it - 1, best, "scripted failure");
      if (observer.stop_requested())
        return ended(job_state::stopped, it - 1, best);
      auto n = static_cast<std::size_t>(it - first - 1);
      double value = script.values.empty() ? 0.5
                                           : script.values[std::min(n, script.values.size() - 1)];
      if (value > best_value) {
        best_value = value;
        best = it;
      }
      if (a.rank == 0)
        report(request, observer, it, target, value, best, best_value,
               script.early_stop_at > 0 && it >= script.early_stop_at);
      if (std::count(script.holds.begin(), script.holds.end(), it) > 0 &&
          !hold(request.spec.name, observer))
        return ended(job_state::stopped, it, best);
    }
    if (script.fail_after >= 0 && target - first >= script.fail_after)
      return ended(job_state::failed, target, best, "scripted failure");
    return ended(job_state::completed, target, best);
  }

  void report(const training_request& request, training_observer& observer, int iteration,
              int target, double value, int best, double best_value, bool early_stop) {
    {
      std::lock_guard<std::mutex> lock(book_->mutex_);
      book_->checkpoints_[request.spec.tool.name] = {request.job, iteration};
    }
    iteration_report r;
    r.job = request.job;
    r.tool = request.spec.tool.name;
    r.iteration = iteration;
    r.target_iterations = target;
    r.metrics["val_accuracy"] = value;
    r.metrics["seconds"] = 0.001;
    r.best_iteration = best;
    r.best_value = best_value;
    r.patience_counter = iteration - best;
    r.batch_size = 1;
    r.monitored_name = "val_accuracy";
    r.monitored_value = value;
    r.early_stop = early_stop;
    if (early_stop)
      r.stop_reason = "scripted stall";
    observer.iteration_completed(r);
  }

  std::shared_ptr<script_book> book_;
};

}  // namespace trainyard::testing
