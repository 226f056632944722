// The early-stopping actor of one auto job: it feeds the job's monitored validation metric
// ("monitored" in the report: accuracy, mean IoU, AUROC by tool kind; reports from before it
// existed carry val_accuracy) into the pure
// rule (runtime/policy/early_stopping.hpp) and asks the scheduler to stop the job when the rule fires.
// The engine tracks the same rule to keep the best weights; the decision to stop is made here.
#include <caf/all.hpp>

#include "actors/scheduler.hpp"

namespace trainyard {

namespace {

struct early_stopper_state {
  early_stopping_rule rule;
  early_stopping_state rule_state;
  bool asked = false;  // the stop request went out; don't ask twice
  static inline const char* name = "early_stopper";
};

event_listener::behavior_type early_stopper(
  event_listener::stateful_pointer<early_stopper_state> self, scheduler_actor scheduler,
  job_id job, early_stopping_rule rule, early_stopping_state initial) {
  self->state.rule = rule;
  self->state.rule_state = initial;
  return {
    [=](iterated_atom, const iteration_report& report) {
      if (report.job != job || self->state.asked)
        return;
      auto metric = report.metrics.find("monitored");
      if (metric == report.metrics.end())
        metric = report.metrics.find("val_accuracy");
      if (metric == report.metrics.end())
        return;
      auto decision = observe(self->state.rule, self->state.rule_state, report.iteration,
                              metric->second);
      if (decision.stop) {
        self->state.asked = true;
        // The reply (the job's info) is of no use here; anon_send drops it.
        caf::anon_send(scheduler, stop_atom::value, job, "early stopping: " + decision.reason);
      }
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
                                   job_id job, early_stopping_rule rule,
                                   early_stopping_state initial) {
  return system.spawn(early_stopper, std::move(scheduler), job, rule, initial);
}

}  // namespace trainyard
