// The early-stopping actor of one auto job: the engine decides early stopping (it must, to keep
// the best weights) and says so in the report (`early_stop`, `stop_reason`); this actor turns
// that decision into the stop request to the scheduler, once. It holds no rule of its own.
#include <caf/all.hpp>

#include "actors/scheduler.hpp"

namespace trainyard {

namespace {

struct early_stopper_state {
  bool asked = false;  // the stop request went out; don't ask twice
  static inline const char* name = "early_stopper";
};

event_listener::behavior_type early_stopper(
  event_listener::stateful_pointer<early_stopper_state> self, scheduler_actor scheduler,
  job_id job) {
  return {
    [=](iterated_atom, const iteration_report& report) {
      if (report.job != job || self->state.asked || !report.early_stop)
        return;
      self->state.asked = true;
      // The reply (the job's info) is of no use here; anon_send drops it.
      caf::anon_send(scheduler, stop_atom::value, job, "early stopping: " + report.stop_reason);
    },
    [=](finished_atom, const job_result& result) {
      if (result.id == job)
        self->quit();
    },
    [=](changed_atom, const job_info&) {},
    [=](workers_atom, const std::vector<worker_status>&) {},
  };
}

}  // namespace

event_listener spawn_early_stopper(caf::actor_system& system, scheduler_actor scheduler,
                                   job_id job) {
  return system.spawn(early_stopper, std::move(scheduler), job);
}

}  // namespace trainyard
