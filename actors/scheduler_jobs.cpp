// The scheduler's bookkeeping of jobs: what clients see of a job, persistence, events, and the
// one place a job changes phase (advance_job), which also merges a finished run's outcome into
// the job's record.
#include <algorithm>

#include <caf/all.hpp>

#include "actors/scheduler_state.hpp"
#include "runtime/policy/job_length.hpp"
#include "runtime/policy/progression.hpp"

namespace trainyard::scheduling {

namespace {

template <class... Ts>
void broadcast(self_ptr self, const Ts&... xs) {
  for (auto& listener : self->state.listeners)
    self->send(listener, xs...);
}

progression progression_of(const scheduler_state& st, const job_entry& e,
                                    const job_info& x) {
  const auto& r = e.rec;
  const auto& s = r.spec.settings;
  progression_input in;
  in.first_iteration = r.first_iteration;
  in.completed_iteration = x.iteration;
  in.automatic = s.iterations == 0 && !r.spec.continue_training;
  in.max_iteration = e.last.target_iterations > 0
                       ? e.last.target_iterations
                       : r.first_iteration + (in.automatic ? length_before_counting(s)
                                                           : s.iterations);
  in.patience = s.patience;
  in.patience_counter = e.last.patience_counter;
  in.best_iteration = x.best_iteration;
  in.iteration_seconds = e.seconds;
  in.finished = is_final(r.state);
  if (r.state == job_state::running && e.current_since_ms > 0)
    in.seconds_into_current = (st.now_ms() - e.current_since_ms) / 1000.0;
  return estimate_progression(in);
}

// Frees the job's workers (those still assigned to it) and forgets its rendezvous keys.
void release_ranks(self_ptr self, job_entry& e) {
  auto& st = self->state;
  for (auto slot : e.ranks)
    if (st.workers[slot].job == e.rec.id)
      st.workers[slot].job.reset();
  auto had_ranks = !e.ranks.empty();
  e.ranks.clear();
  e.rank0.reset();
  if (!e.group.empty()) {
    self->send(st.rendezvous, rdv_drop_atom::value, e.group + "/");
    e.group.clear();
  }
  if (had_ranks)
    announce_workers(self);
}

void announce_finished(self_ptr self, const job_entry& e) {
  broadcast(self, finished_atom::value, result_of(e));
}

// A failed or cancelled job queued again at the tail, as a new submission would be; it resumes
// from its checkpoint if it had one.
void requeue_at_tail(self_ptr self, job_entry& e) {
  auto& st = self->state;
  e.rec.state = job_state::queued;
  e.rec.message.clear();
  e.rec.error = error_code::none;
  e.rec.finished_ms = 0;
  e.rec.submitted_ms = st.now_ms();
  e.rec.queue_position = st.queue.next_tail_key();
  e.stop_reason.clear();
  st.queue.push_back(e.rec.id);
  persist(self, e);
  if (st.queue.key_of(e.rec.id) != e.rec.queue_position)
    persist_order(self);  // the keys were renumbered
  announce(self, e);
}

// A job that ends failed or cancelled without having trained gives its split back unless
// another job on that split trained or is under way: a split is locked only by a trained tool.
void unlock_untrained_split(self_ptr self, const job_entry& e) {
  auto& st = self->state;
  if (e.rec.trained_iterations > 0 ||
      (e.rec.state != job_state::failed && e.rec.state != job_state::cancelled))
    return;
  for (const auto& [id, other] : st.jobs)
    if (id != e.rec.id && other.rec.spec.split == e.rec.spec.split &&
        (other.rec.trained_iterations > 0 || is_active(other.phase)))
      return;
  self->request(st.datasets, caf::infinite, unlock_atom::value, e.rec.spec.split)
    .then([](bool) {}, [](caf::error&) {});  // a split it cannot find was never locked
}

// Ends a job that will not run again (from phase `before`): state, record, event; frees its
// workers.
void finish(self_ptr self, job_entry& e, const job_end& end, job_phase before) {
  e.rec.state = end.state;
  e.rec.message = end.message;
  e.rec.error = end.error;
  e.rec.finished_ms = self->state.now_ms();
  e.stop_reason.clear();
  release_ranks(self, e);
  persist(self, e);
  // Only a dispatched job can have locked its split (one cancelled in the queue did not, and
  // cancelling many queued jobs need not scan the jobs and ask the dataset actor for each). The
  // request goes before the finished event, so whoever hears of the end finds the split unlocked.
  if (before != job_phase::queued)
    unlock_untrained_split(self, e);
  announce_finished(self, e);
  announce(self, e);
}

// Back to the head of the queue, to resume from the last checkpoint.
void requeue_at_head(self_ptr self, job_entry& e) {
  e.rec.state = job_state::queued;
  e.stop_reason.clear();
  release_ranks(self, e);
  self->state.queue.push_front(e.rec.id);
  persist(self, e);
  persist_order(self);
  announce(self, e);
}

// The end of a run whose ranks all ended: rank 0's outcome goes into the record; a run that
// resumes later keeps only the iterations it trained.
job_end merge_outcome(job_entry& e, job_phase before, job_phase after) {
  const auto& outcome = *e.rank0;
  e.rec.trained_iterations = std::max(e.rec.trained_iterations, outcome.trained_iterations);
  if (after != job_phase::done)
    return {};
  e.rec.trained_iterations = outcome.trained_iterations;
  e.rec.best_iteration = outcome.best_iteration;
  e.rec.final_metrics = outcome.final_metrics;
  if (outcome.batch_size > 0)
    e.rec.batch_size = outcome.batch_size;
  bool asked = before == job_phase::stopping && outcome.state == job_state::stopped;
  return {outcome.state, asked ? e.stop_reason : outcome.message, outcome.error};
}

}  // namespace

caf::error not_found(job_id id) {
  return make_caf_error(error_code::unknown_job,
                        "no job with id " + std::to_string(id) +
                          " (list the jobs with 'trainyard queue')");
}

// `positions` (0-based queue positions by job) saves a scan of the queue per job when listing all.
job_info info_of(scheduler_state& st, job_entry& e,
                 const std::unordered_map<job_id, std::size_t>* positions) {
  job_info x;
  const auto& r = e.rec;
  x.id = r.id;
  x.name = r.spec.name;
  x.tool = r.spec.tool.name;
  x.split = r.spec.split;
  x.state = r.state;
  x.run_order = r.run_order;
  x.batch_size = r.batch_size;
  x.final_metrics = r.final_metrics;
  x.message = r.message;
  if (positions) {
    if (auto it = positions->find(r.id); it != positions->end())
      x.queue_position = static_cast<std::int64_t>(it->second);
  } else if (auto pos = st.queue.position_of(r.id)) {
    x.queue_position = static_cast<std::int64_t>(*pos);
  }
  x.iteration = std::max(e.last.iteration, r.trained_iterations);
  x.first_iteration = r.first_iteration;
  x.best_iteration = e.last.iteration > 0 ? e.last.best_iteration : r.best_iteration;
  x.best_value = e.last.best_value;
  x.last_metrics = e.last.metrics;
  x.monitored_name = monitored_metric_of(r.spec.tool.kind);
  x.inherited_settings = r.spec.inherited_settings;
  auto p = progression_of(st, e, x);
  e.fraction_floor = std::max(e.fraction_floor, p.fraction);
  x.fraction = e.fraction_floor;
  x.eta_seconds = p.eta_seconds;
  x.target_iterations = p.target_iterations;
  return x;
}

job_result result_of(const job_entry& e) {
  job_result x;
  x.id = e.rec.id;
  x.name = e.rec.spec.name;
  x.state = e.rec.state;
  x.trained_iterations = e.rec.trained_iterations;
  x.best_iteration = e.rec.best_iteration;
  x.final_metrics = e.rec.final_metrics;
  x.message = e.rec.message;
  x.error = e.rec.error;
  return x;
}

std::vector<worker_status> worker_statuses(const scheduler_state& st) {
  std::vector<worker_status> out;
  out.reserve(st.workers.size());
  const std::int64_t now = st.now_ms();
  for (std::size_t i = 0; i < st.workers.size(); ++i) {
    if (!st.workers[i].alive && now - st.workers[i].gone_ms >= gone_worker_linger_ms)
      continue;
    worker_status x;
    x.index = static_cast<std::uint32_t>(i);
    x.info = st.workers[i].info;
    x.job = st.workers[i].job ? *st.workers[i].job : 0;
    x.alive = st.workers[i].alive;
    out.push_back(std::move(x));
  }
  return out;
}

void persist(self_ptr self, job_entry& e) {
  auto key = self->state.queue.key_of(e.rec.id);
  e.rec.queue_position = key ? *key : -1;  // the stored sort key, not the 0-based position
  if (auto ok = self->state.db->update_job(e.rec); !ok)
    caf::aout(self) << "trainyard: cannot save job " << e.rec.id << ": " << ok.error().message
                    << std::endl;
}

void persist_order(self_ptr self) {
  if (auto ok = self->state.db->save_queue_keys(self->state.queue.changed_keys()); !ok)
    caf::aout(self) << "trainyard: cannot save the queue order: " << ok.error().message
                    << std::endl;
}

void subscribe(self_ptr self, const event_listener& listener) {
  self->monitor(listener);
  self->state.listeners.push_back(listener);
}

// Helpers the scheduler spawns are linked to it: when the scheduler goes away they go too, and
// the actor system can shut down.
void adopt(self_ptr self, const event_listener& helper) {
  self->link_to(helper);
  subscribe(self, helper);
}

job_info announce(self_ptr self, job_entry& e) {
  auto info = info_of(self->state, e);
  broadcast(self, changed_atom::value, info);
  return info;
}

void announce_workers(self_ptr self) {
  broadcast(self, workers_atom::value, worker_statuses(self->state));
}

void stop_ranks(self_ptr self, const job_entry& e) {
  for (auto slot : e.ranks)
    if (self->state.workers[slot].job == e.rec.id && self->state.workers[slot].alive)
      self->send(self->state.workers[slot].handle, stop_atom::value, e.rec.id);
}

std::size_t busy_ranks(const scheduler_state& st, const job_entry& e) {
  std::size_t n = 0;
  for (auto slot : e.ranks)
    n += st.workers[slot].job == e.rec.id;
  return n;
}

int tool_iterations(const scheduler_state& st, const job_entry& job) {
  int most = 0;
  for (const auto& [id, e] : st.jobs)
    if (id != job.rec.id && e.rec.spec.tool.name == job.rec.spec.tool.name && e.rec.run_order > 0 &&
        e.rec.run_order < (job.rec.run_order > 0 ? job.rec.run_order : INT64_MAX))
      most = std::max(most, std::max(e.rec.trained_iterations, e.last.iteration));
  return most;
}

std::optional<job_phase> advance_job(self_ptr self, job_entry& e, job_event event,
                                     const job_end& end) {
  const auto before = e.phase;
  auto rank0 = e.rank0 ? std::optional<job_state>(e.rank0->state) : std::nullopt;
  auto next = advance(before, event, rank0);
  if (!next)
    return std::nullopt;
  e.phase = *next;
  if (before == job_phase::queued && *next != job_phase::queued) {
    self->state.queue.remove(e.rec.id);
    persist_order(self);
  }
  switch (*next) {
    case job_phase::cancelling:
    case job_phase::stopping:
      if (e.stop_reason.empty())
        e.stop_reason = end.message;
      if (*next == job_phase::stopping)
        stop_ranks(self, e);
      break;
    case job_phase::interrupting:
    case job_phase::rank_lost:
      stop_ranks(self, e);
      break;
    case job_phase::queued:
      if (before == job_phase::queued)
        break;
      if (event == job_event::retried) {
        requeue_at_tail(self, e);
        break;
      }
      if (event == job_event::ranks_ended && e.rank0)
        merge_outcome(e, before, *next);
      requeue_at_head(self, e);
      break;
    case job_phase::done:
      if (before == job_phase::done)
        break;
      if (event == job_event::ranks_ended)
        finish(self, e, merge_outcome(e, before, *next), before);
      else if (before == job_phase::cancelling)
        finish(self, e, {job_state::cancelled, e.stop_reason}, before);
      else
        finish(self, e, end, before);
      break;
    default:
      break;
  }
  return next;
}

void maybe_finish_shutdown(self_ptr self) {
  auto& st = self->state;
  if (!st.shutting_down)
    return;
  for (const auto& [id, e] : st.jobs)
    if (is_active(e.phase))
      return;
  for (auto& rp : st.shutdown_waiters)
    rp.deliver(true);
  st.shutdown_waiters.clear();
}

}  // namespace trainyard::scheduling
