// Waiters: one short-lived actor per pending wait request. The scheduler delegates the request
// here and subscribes the waiter to its events; the waiter answers when the job's event arrives
// (or its deadline passes) and quits, which unsubscribes it.
#include <chrono>

#include <caf/all.hpp>

#include "actors/scheduler.hpp"

namespace trainyard {

namespace {

struct waiter_state {
  job_id job = 0;
  caf::typed_response_promise<job_result> done;          // pending wait for completion
  caf::typed_response_promise<iteration_report> next;    // pending wait for an iteration
  static inline const char* name = "waiter";
};

waiter_actor::behavior_type waiter(waiter_actor::stateful_pointer<waiter_state> self) {
  auto arm = [self](job_id job, std::int64_t timeout_ms) {
    self->state.job = job;
    if (timeout_ms > 0)
      self->delayed_send(self, std::chrono::milliseconds(timeout_ms), timeout_atom::value);
  };
  return {
    [=](wait_atom, job_id job, std::int64_t timeout_ms) {
      arm(job, timeout_ms);
      self->state.done = self->make_response_promise<job_result>();
      return self->state.done;
    },
    [=](wait_iter_atom, job_id job, std::int64_t timeout_ms) {
      arm(job, timeout_ms);
      self->state.next = self->make_response_promise<iteration_report>();
      return self->state.next;
    },
    [=](iterated_atom, const iteration_report& report) {
      if (report.job != self->state.job || !self->state.next.pending())
        return;
      self->state.next.deliver(report);
      self->quit();
    },
    [=](finished_atom, const job_result& result) {
      if (result.id != self->state.job)
        return;
      if (self->state.done.pending())
        self->state.done.deliver(result);
      if (self->state.next.pending())
        self->state.next.deliver(make_caf_error(
          error_code::invalid_request,
          "job " + std::to_string(result.id) + " ended (" + to_string(result.state) +
            ") before another iteration completed"));
      self->quit();
    },
    [=](workers_atom, const std::vector<worker_status>&) {},
    [=](changed_atom, const job_info&) {
      // Queue changes do not answer waits.
    },
    [=](timeout_atom) {
      auto err = make_caf_error(error_code::timeout, "job " + std::to_string(self->state.job) +
                                                       " did not get there before the timeout");
      if (self->state.done.pending())
        self->state.done.deliver(err);
      if (self->state.next.pending())
        self->state.next.deliver(err);
      self->quit();
    },
  };
}

}  // namespace

waiter_actor spawn_waiter(caf::actor_system& system) { return system.spawn(waiter); }

}  // namespace trainyard
