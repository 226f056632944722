// Dispatching: the head of the queue is placed on idle workers (runtime/policy/placement), its
// split is requested from the dataset actor (granted and locked), and the granted job's ranks get
// their training requests.
#include <caf/all.hpp>

#include "actors/scheduler.hpp"
#include "actors/scheduler_state.hpp"
#include "runtime/policy/placement.hpp"
#include "runtime/tasks/kinds.hpp"

namespace trainyard::scheduling {

namespace {

std::vector<slot_view> slot_views(const scheduler_state& st) {
  std::vector<slot_view> slots;
  slots.reserve(st.workers.size());
  for (const auto& w : st.workers)
    slots.push_back(slot_view{w.alive, !w.job, w.info.kind == "cuda"});
  return slots;
}

// An auto job gets an early-stopping actor: it turns the engine's early_stop into the stop
// request.
void watch_early_stopping(self_ptr self, const job_entry& e) {
  const auto& s = e.rec.spec.settings;
  if (s.iterations == 0 && !e.rec.spec.continue_training)
    adopt(self, spawn_early_stopper(self->system(), self, e.rec.id));
}

// The job runs: its record says so, and each rank gets its training request.
void start(self_ptr self, job_entry& e, split_grant grant) {
  auto& st = self->state;
  if (e.rec.run_order == 0) {  // a first start, not a resumption
    auto order = st.db->next_run_order();
    e.rec.run_order = order ? *order : 0;
    e.rec.first_iteration = tool_iterations(st, e);
  }
  e.rec.state = job_state::running;
  e.rec.started_ms = st.now_ms();
  e.current_since_ms = e.rec.started_ms;
  e.seconds.clear();
  e.fraction_floor = 0;
  persist(self, e);
  watch_early_stopping(self, e);
  training_request request;
  request.job = e.rec.id;
  request.spec = e.rec.spec;
  request.dataset = std::move(grant.dataset);
  request.assignment = std::move(grant.assignment);
  request.workspace = st.workspace;
  request.workspace_id = st.workspace_id;
  request.parallel.world_size = static_cast<int>(e.ranks.size());
  request.parallel.group = e.group;
  for (std::size_t rank = 0; rank < e.ranks.size(); ++rank) {
    auto& worker = st.workers[e.ranks[rank]];
    request.parallel.rank = static_cast<int>(rank);
    request.parallel.address = worker.info.address.empty() ? "127.0.0.1" : worker.info.address;
    self->send(worker.handle, train_atom::value, request, st.rendezvous);
  }
  announce(self, e);
  announce_workers(self);
}

// The split arrived: the job starts, or (stopped, shut down or short of a rank meanwhile) is
// cancelled or requeued.
void on_granted(self_ptr self, job_id id, split_grant& grant) {
  auto& e = self->state.jobs.at(id);
  if (advance_job(self, e, job_event::granted) == job_phase::running)
    start(self, e, std::move(grant));
  maybe_finish_shutdown(self);
  dispatch(self);
}

void on_grant_failed(self_ptr self, job_id id, const caf::error& err) {
  auto code = code_of(err);
  advance_job(self, self->state.jobs.at(id), job_event::grant_failed,
              {job_state::failed, describe(err),
               code == error_code::none ? error_code::interrupted : code});
  maybe_finish_shutdown(self);
  dispatch(self);
}

}  // namespace

void dispatch(self_ptr self) {
  auto& st = self->state;
  while (!st.shutting_down && !st.queue.empty()) {
    auto id = st.queue.order().front();
    auto& e = st.jobs.at(id);
    const job_spec& spec = e.rec.spec;
    auto slots = place(placement_need{spec.settings.devices, !trains_on_gpu(spec.tool.kind)},
                       slot_views(st));
    if (!slots)
      return;  // the head waits for enough idle workers; no job behind it overtakes it
    advance_job(self, e, job_event::dispatched);
    e.ranks = *slots;
    e.rank0.reset();
    e.group = e.ranks.size() > 1
                ? "job" + std::to_string(id) + ".run" + std::to_string(++st.runs)
                : "";
    for (auto slot : e.ranks)
      st.workers[slot].job = id;
    self->request(st.datasets, caf::infinite, split_atom::value, e.rec.spec.split, true)
      .then([=](split_grant& grant) { on_granted(self, id, grant); },
            [=](caf::error& err) { on_grant_failed(self, id, err); });
  }
}

}  // namespace trainyard::scheduling
