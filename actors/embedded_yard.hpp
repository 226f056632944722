// The one-process trainyard: a dataset actor, a scheduler and local workers in one actor system,
// wired together. `trainyard run`, the actor tests and the benchmarks build on it; a cluster
// spreads the same roles over processes (`trainyard scheduler`, `trainyard node`).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/protocol.hpp"
#include "actors/scheduler.hpp"
#include "runtime/core/error.hpp"
#include "runtime/core/training_engine.hpp"
#include "runtime/store/workspace_lock.hpp"

namespace trainyard {

/// Registers the protocol and sets the options trainyard runs CAF with.
void configure_actor_system(caf::actor_system_config& cfg);

/// Declares datasets then splits with a dataset actor, local or remote (blocking requests); the
/// first refusal is returned.
expected<void> declare_data(caf::actor_system& system, const dataset_actor& datasets,
                            const std::vector<dataset_spec>& dataset_specs,
                            const std::vector<split_spec>& splits);

class embedded_yard {
 public:
  /// Creates the workspace folder, takes its lock for `command` ("run", "scheduler": the name a
  /// refused second process is told), spawns the dataset actor and the scheduler.
  static expected<std::unique_ptr<embedded_yard>> start(caf::actor_system& system,
                                                        scheduler_options options,
                                                        const std::string& command);
  /// Ends every actor it spawned (workers stop their training between two steps).
  ~embedded_yard();

  /// Spawns a CPU worker training with `engine` and registers it with the scheduler.
  expected<worker_actor> add_worker(std::shared_ptr<training_engine> engine);
  /// The same for a worker of another device (tests place jobs on a described GPU worker).
  expected<worker_actor> add_worker(std::shared_ptr<training_engine> engine, worker_info info);

  /// Declares datasets then splits (blocking requests); the first refusal is returned.
  expected<void> declare(const std::vector<dataset_spec>& datasets,
                         const std::vector<split_spec>& splits);

  /// Blocking request helpers for clients in the same process.
  expected<job_id> submit(const job_spec& job);
  expected<job_result> wait(job_id job, std::int64_t timeout_ms = 0);
  expected<std::vector<job_info>> list();
  /// Interrupts running jobs so that they resume on the next start; waits for the workers.
  expected<void> shutdown();

  const scheduler_actor& scheduler() const { return scheduler_; }
  const dataset_actor& datasets() const { return datasets_; }
  caf::actor_system& system() { return system_; }

 private:
  embedded_yard(caf::actor_system& system, std::unique_ptr<workspace_lock> lock,
                dataset_actor datasets, scheduler_actor scheduler);
  caf::actor_system& system_;
  std::unique_ptr<workspace_lock> lock_;  ///< held while the yard lives
  dataset_actor datasets_;
  scheduler_actor scheduler_;
  std::vector<worker_actor> workers_;
};

}  // namespace trainyard
