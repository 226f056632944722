// The scheduler actor's state and the steps its handlers are made of, shared by the files of the
// scheduler: scheduler.cpp (the behaviour: one named function per message), scheduler_jobs.cpp
// (a job's record, its phase transitions, events and persistence) and scheduler_dispatch.cpp
// (placing the head of the queue and starting a granted job). Private to those files.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/typed_event_based_actor.hpp>

#include "actors/protocol.hpp"
#include "runtime/policy/job_lifecycle.hpp"
#include "runtime/policy/queue_policy.hpp"
#include "runtime/store/store.hpp"

namespace trainyard::scheduling {

/// What the scheduler keeps about a job beyond its stored record.
struct job_entry {
  job_record rec;
  job_phase phase = job_phase::queued;  // where it is in its life (runtime/policy/job_lifecycle)
  std::string stop_reason;              // why a stop was asked (phases cancelling, stopping)
  std::optional<training_outcome> rank0;  // rank 0's outcome, while other ranks still end
  iteration_report last;            // latest iteration report (iteration 0: none yet)
  std::vector<double> seconds;      // durations of this run's iterations
  std::int64_t current_since_ms = 0;  // when the iteration now running began
  std::vector<std::size_t> ranks;   // worker slots of its ranks (rank 0 first) while placed
  std::string group;                // rendezvous key prefix of this run (devices > 1)
  // Highest fraction a client was shown: an auto job's estimate drops when a new best iteration
  // moves its expected end, but a progress bar that goes backwards helps nobody.
  double fraction_floor = 0;
};

struct worker_slot {
  worker_actor handle;
  worker_info info;
  std::optional<job_id> job;  // the job reserved on it
  bool alive = true;  // false once its node went away; the slot is kept so indices stay valid
  std::int64_t gone_ms = 0;  // when it went away (now_ms)
};

/// How long a worker whose node went away stays in the worker list monitors get: long enough to
/// be seen going, short enough that the list shows the cluster as it is.
constexpr std::int64_t gone_worker_linger_ms = 10000;

struct scheduler_state {
  std::unique_ptr<store> db;
  std::string workspace;
  std::string workspace_id;  // token of workspace/cluster-id (see training_request)
  dataset_actor datasets;
  rendezvous_actor rendezvous;  // where the ranks of data-parallel jobs meet
  std::function<std::int64_t()> now_ms;
  queue_policy queue;
  std::map<job_id, job_entry> jobs;
  std::map<std::string, job_id> by_name;
  std::map<std::string, std::vector<job_id>> by_tool;  // each tool's jobs, oldest first
  std::vector<worker_slot> workers;
  std::vector<event_listener> listeners;
  std::uint64_t runs = 0;  // dispatches so far; names rendezvous groups
  bool shutting_down = false;
  std::vector<caf::typed_response_promise<bool>> shutdown_waiters;
  static inline const char* name = "scheduler";
};

using self_ptr = scheduler_actor::stateful_pointer<scheduler_state>;

/// How a job ends when an event makes it final (the end of its ranks brings its own).
struct job_end {
  job_state state = job_state::cancelled;
  std::string message;
  error_code error = error_code::none;
};

// -- scheduler_jobs.cpp ---------------------------------------------------------------------------

caf::error not_found(job_id id);
/// The job as clients see it. Raises the job's fraction floor to what it shows.
job_info info_of(scheduler_state& st, job_entry& e,
                 const std::unordered_map<job_id, std::size_t>* positions = nullptr);
job_result result_of(const job_entry& e);
/// The workers for monitors: every live one, and those gone for less than gone_worker_linger_ms.
std::vector<worker_status> worker_statuses(const scheduler_state& st);

/// Persists a job record; a failure is reported but the in-memory state stays authoritative.
void persist(self_ptr self, job_entry& e);
/// Saves the queue keys the last queue operation changed (usually one row).
void persist_order(self_ptr self);

void subscribe(self_ptr self, const event_listener& listener);
/// Subscribes a helper the scheduler spawned (waiter, early stopper), linked so it ends with it.
void adopt(self_ptr self, const event_listener& helper);
/// Sends the job's info to every listener, and answers it.
job_info announce(self_ptr self, job_entry& e);
void announce_workers(self_ptr self);
/// Asks the job's ranks that still train it to stop between two steps.
void stop_ranks(self_ptr self, const job_entry& e);

/// Ranks of the job whose workers still train it.
std::size_t busy_ranks(const scheduler_state& st, const job_entry& e);
/// The tool's iteration count before a job starts: what earlier jobs of the tool trained.
int tool_iterations(const scheduler_state& st, const job_entry& job);

/// Moves the job through one event: job_lifecycle's advance gives the next phase, and this does
/// what entering it takes (leave the queue, stop the ranks, requeue at the head, or finish with
/// `end`; the end of the ranks finishes with rank 0's outcome). None: the event does not apply
/// in the job's phase, and nothing changed.
std::optional<job_phase> advance_job(self_ptr self, job_entry& e, job_event event,
                                     const job_end& end = {});

/// Answers the shutdown request once no job holds workers or waits for its split.
void maybe_finish_shutdown(self_ptr self);

// -- scheduler_dispatch.cpp -----------------------------------------------------------------------

/// Gives the head of the queue to idle workers (runtime/policy/placement), in queue order.
void dispatch(self_ptr self);

}  // namespace trainyard::scheduling
