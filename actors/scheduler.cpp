// The scheduler actor. Mechanism only: the queue order is queue_policy's, progression is
// estimate_progression's, the stop rule is the early stopper's; this file turns messages into
// calls of those, persists the outcome in the store, and sends the results.
//
// A job's life here: submit -> queued (persisted) -> dispatched to an idle worker once the
// dataset actor granted (and locked) its split -> running (iteration reports persisted and fanned
// out) -> finished (completed / stopped / failed), or back to the head of the queue when it was
// interrupted by a shutdown. Cancel applies to queued jobs, stop to running ones.
#include "actors/scheduler.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <map>
#include <optional>
#include <unordered_map>

#include <caf/all.hpp>

#include "runtime/policy/progression.hpp"
#include "runtime/policy/queue_policy.hpp"
#include "runtime/store/spec_json.hpp"
#include "runtime/store/store.hpp"

namespace trainyard {

namespace {

// The workspace's random token, made on first use: nodes compare it with what they read at the
// same path to learn whether they share the scheduler's filesystem.
std::string workspace_token(const std::string& workspace) {
  auto path = workspace + "/cluster-id";
  std::string token;
  if (std::ifstream in(path); in && std::getline(in, token) && !token.empty())
    return token;
  std::random_device device;
  std::ostringstream out;
  out << std::hex << device() << device() << device() << device();
  token = out.str();
  std::ofstream(path) << token << "\n";
  return token;
}

std::int64_t system_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

/// What the scheduler keeps about a job beyond its stored record.
struct job_entry {
  job_record rec;
  iteration_report last;            // latest iteration report (iteration 0: none yet)
  std::vector<double> seconds;      // durations of this run's iterations
  std::int64_t current_since_ms = 0;  // when the iteration now running began
  std::vector<std::size_t> ranks;   // worker slots of its ranks (rank 0 first) while placed
  std::optional<training_outcome> outcome;  // rank 0's outcome, once reported
  bool lost_rank = false;           // a rank's worker went away: resume the job elsewhere
  std::string group;                // rendezvous key prefix of this run (devices > 1)
  bool dispatching = false;         // waiting for the split grant
  bool interrupting = false;        // stopped by shutdown: requeue instead of finishing
  std::string stop_reason;          // why a stop was asked
  // Highest fraction reported so far: an auto job's estimate drops when a new best iteration
  // moves its expected end, but a progress bar that goes backwards helps nobody.
  mutable double fraction_floor = 0;
};

struct worker_slot {
  worker_actor handle;
  worker_info info;
  std::optional<job_id> job;
  bool alive = true;  // false once its node went away; the slot is kept so indices stay valid
};

struct scheduler_state {
  std::unique_ptr<store> db;
  std::string workspace;
  std::string workspace_id;  // token of workspace/cluster-id (see training_request)
  dataset_actor datasets;
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
  // Rendezvous of data-parallel ranks: keys set so far, and gets waiting for a key.
  std::map<std::string, std::vector<std::uint8_t>> rendezvous;
  std::multimap<std::string, caf::typed_response_promise<std::vector<std::uint8_t>>> pending_gets;
  static inline const char* name = "scheduler";
};

using self_ptr = scheduler_actor::stateful_pointer<scheduler_state>;

caf::error not_found(job_id id) {
  return make_caf_error(error_code::unknown_job,
                        "no job with id " + std::to_string(id) +
                          " (list the jobs with 'trainyard queue')");
}

// `positions` (0-based queue positions by job) saves a scan of the queue per job when listing all.
job_info info_of(const scheduler_state& st, const job_entry& e,
                 const std::unordered_map<job_id, std::size_t>* positions = nullptr) {
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
  x.best_iteration = e.last.iteration > 0 ? e.last.best_iteration : r.best_iteration;
  x.best_value = e.last.best_value;
  x.last_metrics = e.last.metrics;
  x.monitored_name = monitored_metric_of(r.spec.tool.kind);
  progression_input in;
  const auto& s = r.spec.settings;
  in.first_iteration = r.first_iteration;
  in.completed_iteration = x.iteration;
  in.automatic = s.iterations == 0 && !r.spec.continue_training;
  in.max_iteration = e.last.target_iterations > 0
                       ? e.last.target_iterations
                       : r.first_iteration + (in.automatic ? s.max_iterations : s.iterations);
  in.patience = s.patience;
  in.patience_counter = e.last.patience_counter;
  in.best_iteration = x.best_iteration;
  in.iteration_seconds = e.seconds;
  in.finished = is_final(r.state);
  if (r.state == job_state::running && e.current_since_ms > 0)
    in.seconds_into_current = (st.now_ms() - e.current_since_ms) / 1000.0;
  auto p = estimate_progression(in);
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

// Persists a job record; a failure is reported but the in-memory state stays authoritative.
void persist(self_ptr self, job_entry& e) {
  auto key = self->state.queue.key_of(e.rec.id);
  e.rec.queue_position = key ? *key : -1;  // the stored sort key, not the 0-based position
  if (auto ok = self->state.db->update_job(e.rec); !ok)
    caf::aout(self) << "trainyard: cannot save job " << e.rec.id << ": " << ok.error().message
                    << std::endl;
}

// Saves the queue keys the last queue operation changed (usually one row).
void persist_order(self_ptr self) {
  if (auto ok = self->state.db->save_queue_keys(self->state.queue.changed_keys()); !ok)
    caf::aout(self) << "trainyard: cannot save the queue order: " << ok.error().message
                    << std::endl;
}

std::vector<worker_status> worker_statuses(const scheduler_state& st) {
  std::vector<worker_status> out;
  out.reserve(st.workers.size());
  for (std::size_t i = 0; i < st.workers.size(); ++i) {
    worker_status x;
    x.index = static_cast<std::uint32_t>(i);
    x.info = st.workers[i].info;
    x.job = st.workers[i].job ? *st.workers[i].job : 0;
    x.alive = st.workers[i].alive;
    out.push_back(std::move(x));
  }
  return out;
}

template <class... Ts>
void broadcast(self_ptr self, const Ts&... xs) {
  for (auto& listener : self->state.listeners)
    self->send(listener, xs...);
}

void announce(self_ptr self, const job_entry& e) {
  broadcast(self, changed_atom::value, info_of(self->state, e));
}

void subscribe(self_ptr self, const event_listener& listener) {
  self->monitor(listener);
  self->state.listeners.push_back(listener);
}

// Helpers the scheduler spawns (waiters, early stoppers) are linked to it: when the scheduler
// goes away they go too, and the actor system can shut down.
void adopt(self_ptr self, const event_listener& helper) {
  self->link_to(helper);
  subscribe(self, helper);
}

// The tool's iteration count before a job starts: what earlier jobs of the tool trained.
int tool_iterations(const scheduler_state& st, const job_entry& job) {
  int most = 0;
  for (const auto& [id, e] : st.jobs)
    if (id != job.rec.id && e.rec.spec.tool.name == job.rec.spec.tool.name && e.rec.run_order > 0 &&
        e.rec.run_order < (job.rec.run_order > 0 ? job.rec.run_order : INT64_MAX))
      most = std::max(most, std::max(e.rec.trained_iterations, e.last.iteration));
  return most;
}

void maybe_finish_shutdown(self_ptr self) {
  auto& st = self->state;
  if (!st.shutting_down)
    return;
  for (const auto& [id, e] : st.jobs)
    if (e.rec.state == job_state::running || e.dispatching)
      return;
  for (auto& rp : st.shutdown_waiters)
    rp.deliver(true);
  st.shutdown_waiters.clear();
}

void announce_workers(self_ptr self) {
  broadcast(self, workers_atom::value, worker_statuses(self->state));
}

// Frees the job's workers (those still assigned to it) and forgets its rendezvous keys.
void release_ranks(self_ptr self, job_entry& e) {
  auto& st = self->state;
  for (auto slot : e.ranks)
    if (st.workers[slot].job == e.rec.id)
      st.workers[slot].job.reset();
  auto had_ranks = !e.ranks.empty();
  e.ranks.clear();
  e.outcome.reset();
  e.lost_rank = false;
  if (!e.group.empty()) {
    auto prefix = e.group + "/";
    for (auto it = st.rendezvous.lower_bound(prefix);
         it != st.rendezvous.end() && it->first.compare(0, prefix.size(), prefix) == 0;)
      it = st.rendezvous.erase(it);
    e.group.clear();
  }
  if (had_ranks)
    announce_workers(self);
}

// Ranks of the job whose workers still train it.
std::size_t busy_ranks(const scheduler_state& st, const job_entry& e) {
  std::size_t n = 0;
  for (auto slot : e.ranks)
    n += st.workers[slot].job == e.rec.id;
  return n;
}

void stop_ranks(self_ptr self, const job_entry& e) {
  for (auto slot : e.ranks)
    if (self->state.workers[slot].job == e.rec.id && self->state.workers[slot].alive)
      self->send(self->state.workers[slot].handle, stop_atom::value, e.rec.id);
}

// Ends a job that will not run again: state, record, event; frees its workers.
void finish(self_ptr self, job_entry& e, job_state state, const std::string& message,
            error_code error = error_code::none) {
  e.rec.state = state;
  e.rec.message = message;
  e.rec.error = error;
  e.rec.finished_ms = self->state.now_ms();
  e.dispatching = false;
  release_ranks(self, e);
  persist(self, e);
  broadcast(self, finished_atom::value, result_of(e));
  announce(self, e);
}

void requeue_at_head(self_ptr self, job_entry& e) {
  e.rec.state = job_state::queued;
  e.dispatching = false;
  e.interrupting = false;
  e.stop_reason.clear();
  release_ranks(self, e);
  self->state.queue.push_front(e.rec.id);
  persist(self, e);
  persist_order(self);
  announce(self, e);
}

void dispatch(self_ptr self);

// The split is granted: hand the job to its worker.
void start(self_ptr self, job_id id, split_grant grant) {
  auto& st = self->state;
  auto& e = st.jobs.at(id);
  e.dispatching = false;
  if (st.shutting_down) {
    requeue_at_head(self, e);
    maybe_finish_shutdown(self);
    return;
  }
  if (!e.stop_reason.empty()) {
    finish(self, e, job_state::cancelled, e.stop_reason);
    dispatch(self);
    return;
  }
  if (e.lost_rank) {  // a worker went away while the split was being granted
    requeue_at_head(self, e);
    dispatch(self);
    return;
  }
  auto resumed = e.rec.run_order > 0;
  if (!resumed) {
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
  const auto& s = e.rec.spec.settings;
  if (s.iterations == 0 && !e.rec.spec.continue_training)
    adopt(self, spawn_early_stopper(self->system(), self, id));
  training_request request;
  request.job = id;
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
    self->send(worker.handle, train_atom::value, request);
  }
  announce(self, e);
  announce_workers(self);
}

// Gives the head of the queue to idle workers, in queue order: a job of N devices waits at the
// head until N workers are idle (jobs behind it do not overtake it).
void dispatch(self_ptr self) {
  auto& st = self->state;
  if (st.shutting_down)
    return;
  for (;;) {
    if (st.queue.empty())
      return;
    auto id = st.queue.order().front();
    auto& e = st.jobs.at(id);
    auto need = static_cast<std::size_t>(std::max(1, e.rec.spec.settings.devices));
    std::vector<std::size_t> idle;
    for (std::size_t slot = 0; slot < st.workers.size() && idle.size() < need; ++slot)
      if (st.workers[slot].alive && !st.workers[slot].job)
        idle.push_back(slot);
    if (idle.size() < need)
      return;
    st.queue.pop_front();
    persist_order(self);
    e.dispatching = true;
    e.ranks = idle;
    e.outcome.reset();
    e.lost_rank = false;
    e.group = need > 1 ? "job" + std::to_string(id) + ".run" + std::to_string(++st.runs) : "";
    for (auto slot : idle)
      st.workers[slot].job = id;
    self->request(st.datasets, caf::infinite, split_atom::value, e.rec.spec.split, true)
      .then([=](split_grant& grant) { start(self, id, std::move(grant)); },
            [=](caf::error& err) {
              auto& job = self->state.jobs.at(id);
              auto code = code_of(err);
              finish(self, job, job_state::failed, describe(err),
                     code == error_code::none ? error_code::interrupted : code);
              maybe_finish_shutdown(self);
              dispatch(self);
            });
  }
}

// Moves a queued job; the new order is persisted before it takes effect and is answered.
caf::result<job_info> reorder(self_ptr self, job_id id, std::size_t position) {
  auto& st = self->state;
  if (!st.jobs.count(id))
    return not_found(id);
  auto before = st.queue.position_of(id);
  if (auto ok = st.queue.move(id, position); !ok)
    return make_caf_error(ok.error());
  if (auto ok = st.db->save_queue_keys(st.queue.changed_keys()); !ok) {
    // Not saved, so not done: put the job back where it was (the store still has it there).
    st.queue.move(id, *before);
    return make_caf_error(ok.error());
  }
  auto info = info_of(st, st.jobs.at(id));
  broadcast(self, changed_atom::value, info);
  return info;
}

// Checks a submission against the jobs already known for its tool.
std::optional<caf::error> check_tool_history(const scheduler_state& st, const job_spec& spec) {
  const job_entry* previous = nullptr;
  if (auto tool_jobs = st.by_tool.find(spec.tool.name); tool_jobs != st.by_tool.end())
    for (auto id : tool_jobs->second) {
      const auto& e = st.jobs.at(id);
      if (e.rec.state != job_state::cancelled && e.rec.state != job_state::failed)
        previous = &e;
    }
  const auto& tool = spec.tool.name;
  if (spec.continue_training) {
    if (spec.settings.iterations <= 0)
      return make_caf_error(error_code::invalid_config,
                            "job '" + spec.name + "': continue training needs an explicit "
                            "iterations count (iterations = N)");
    if (!previous)
      return make_caf_error(error_code::unknown_tool,
                            "job '" + spec.name + "': tool '" + tool +
                              "' has no training to continue; submit a job without continue "
                              "first");
    if (previous->rec.spec.split != spec.split)
      return make_caf_error(error_code::split_mismatch,
                            "job '" + spec.name + "': tool '" + tool + "' was trained on split '" +
                              previous->rec.spec.split + "'; continue training must use split '" +
                              previous->rec.spec.split + "' (or train a new tool on split '" +
                              spec.split + "')");
    return std::nullopt;
  }
  if (previous)
    return make_caf_error(error_code::already_exists,
                          "job '" + spec.name + "': tool '" + tool +
                            "' is already trained by job '" + previous->rec.spec.name +
                            "'; to train it further set continue = true with an explicit "
                            "iterations count, or name a new tool");
  return std::nullopt;
}

scheduler_actor::behavior_type scheduler(self_ptr self, std::unique_ptr<store> db,
                                         scheduler_options options, dataset_actor datasets) {
  auto& st = self->state;
  st.db = std::move(db);
  st.workspace = options.workspace;
  st.workspace_id = workspace_token(options.workspace);
  st.now_ms = options.now_ms ? options.now_ms : system_now_ms;
  st.datasets = std::move(datasets);
  // Reload: queued jobs by stored position, then jobs that were running go first again.
  if (auto jobs = st.db->load_jobs()) {
    std::vector<std::pair<std::int64_t, job_id>> queued;
    std::vector<std::pair<std::int64_t, job_id>> interrupted;
    for (auto& rec : *jobs) {
      auto id = rec.id;
      auto& e = st.jobs[id];
      e.rec = std::move(rec);
      st.by_name[e.rec.spec.name] = id;
      st.by_tool[e.rec.spec.tool.name].push_back(id);
      if (!is_final(e.rec.state) && e.rec.run_order > 0)
        if (auto reports = st.db->load_iterations(id); reports && !reports->empty())
          e.last = reports->back();
      if (e.rec.state == job_state::queued)
        queued.emplace_back(e.rec.queue_position, id);
      else if (e.rec.state == job_state::running)
        interrupted.emplace_back(e.rec.run_order, id);
    }
    std::sort(interrupted.begin(), interrupted.end());
    st.queue.restore(std::move(queued));
    persist_order(self);  // keys of an older store are spaced out once
    // Jobs that were running go first again, in the order they had started.
    for (auto it = interrupted.rbegin(); it != interrupted.rend(); ++it) {
      auto id = it->second;
      st.jobs[id].rec.state = job_state::queued;
      st.queue.push_front(id);
      persist(self, st.jobs[id]);
    }
  }
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& st = self->state;
    auto& ls = st.listeners;
    ls.erase(std::remove_if(ls.begin(), ls.end(),
                            [&](const event_listener& l) { return l.address() == msg.source; }),
             ls.end());
    for (std::size_t i = 0; i < st.workers.size(); ++i) {
      auto& w = st.workers[i];
      if (!w.alive || w.handle.address() != msg.source)
        continue;
      // A worker went away (its node died or lost the connection): its job resumes elsewhere.
      w.alive = false;
      // On stderr: stdout may carry a command's JSON. A worker ended by its own process's
      // shutdown is no news.
      if (msg.reason != caf::exit_reason::user_shutdown)
        std::cerr << "trainyard scheduler: worker " << w.info.name << " of node " << w.info.node
                  << " went away (" << caf::to_string(msg.reason) << ")" << std::endl;
      if (auto job = w.job) {
        w.job.reset();
        auto& e = st.jobs.at(*job);
        e.lost_rank = true;
        stop_ranks(self, e);
        if (busy_ranks(st, e) == 0) {
          if (e.outcome && e.outcome->state == job_state::completed) {
            // Rank 0 had finished: the job is done, whatever happened to the others.
            auto outcome = *e.outcome;
            e.rec.trained_iterations = outcome.trained_iterations;
            e.rec.best_iteration = outcome.best_iteration;
            e.rec.final_metrics = outcome.final_metrics;
            finish(self, e, outcome.state, outcome.message, outcome.error);
          } else if (e.dispatching) {
            e.lost_rank = true;  // start() requeues it when the split grant arrives
          } else {
            requeue_at_head(self, e);
          }
        }
      }
      announce_workers(self);
      maybe_finish_shutdown(self);
      dispatch(self);
    }
  });
  return {
    [=](submit_atom, job_spec& spec) -> caf::result<job_id> {
      auto& st = self->state;
      if (auto known = st.by_name.find(spec.name); known != st.by_name.end()) {
        // Resubmitting a campaign finds its jobs again; a job whose settings were edited since
        // is refused rather than silently answered with the old job's results.
        if (to_json(st.jobs.at(known->second).rec.spec) == to_json(spec))
          return known->second;
        return make_caf_error(error_code::already_exists,
                              "job '" + spec.name + "' already exists in this workspace (job " +
                                std::to_string(known->second) +
                                ") with other settings; give the changed job a new name, or "
                                "use another workspace");
      }
      if (auto err = check_tool_history(st, spec))
        return std::move(*err);
      job_record rec;
      rec.spec = std::move(spec);
      rec.state = job_state::queued;
      rec.submitted_ms = st.now_ms();
      rec.queue_position = st.queue.next_tail_key();
      auto id = st.db->insert_job(rec);
      if (!id)
        return make_caf_error(id.error());
      rec.id = *id;
      auto& e = st.jobs[*id];
      e.rec = std::move(rec);
      st.by_name[e.rec.spec.name] = *id;
      st.by_tool[e.rec.spec.tool.name].push_back(*id);
      st.queue.push_back(*id);
      if (st.queue.key_of(*id) != e.rec.queue_position)
        persist_order(self);  // the keys were renumbered
      announce(self, e);
      dispatch(self);
      return *id;
    },
    [=](move_atom, job_id id, std::uint32_t position) { return reorder(self, id, position); },
    [=](top_atom, job_id id) { return reorder(self, id, 0); },
    [=](cancel_atom, job_id id) -> caf::result<job_info> {
      auto& st = self->state;
      auto it = st.jobs.find(id);
      if (it == st.jobs.end())
        return not_found(id);
      auto& e = it->second;
      if (!st.queue.contains(id))
        return make_caf_error(error_code::invalid_request,
                              "job " + std::to_string(id) + " is " + to_string(e.rec.state) +
                                ", not queued; only queued jobs can be cancelled" +
                                (e.rec.state == job_state::running ? " (stop it instead)" : ""));
      st.queue.remove(id);
      persist_order(self);
      finish(self, e, job_state::cancelled, "cancelled while queued");
      return info_of(st, e);
    },
    [=](stop_atom, job_id id, std::string& reason) -> caf::result<job_info> {
      auto& st = self->state;
      auto it = st.jobs.find(id);
      if (it == st.jobs.end())
        return not_found(id);
      auto& e = it->second;
      if (reason.empty())
        reason = "stopped by request";
      if (st.queue.contains(id)) {
        st.queue.remove(id);
        persist_order(self);
        finish(self, e, job_state::cancelled, reason);
      } else if (e.dispatching || e.rec.state == job_state::running) {
        if (e.stop_reason.empty())
          e.stop_reason = reason;
        if (e.rec.state == job_state::running)
          stop_ranks(self, e);
      } else {
        return make_caf_error(error_code::invalid_request,
                              "job " + std::to_string(id) + " already " +
                                to_string(e.rec.state) + "; nothing to stop");
      }
      return info_of(st, e);
    },
    [=](list_atom) {
      const auto& order = self->state.queue.order();
      std::unordered_map<job_id, std::size_t> positions;
      positions.reserve(order.size());
      for (std::size_t i = 0; i < order.size(); ++i)
        positions.emplace(order[i], i);
      std::vector<job_info> all;
      all.reserve(self->state.jobs.size());
      for (const auto& [id, e] : self->state.jobs)
        all.push_back(info_of(self->state, e, &positions));
      return all;
    },
    [=](progress_atom, job_id id) -> caf::result<job_info> {
      auto it = self->state.jobs.find(id);
      if (it == self->state.jobs.end())
        return not_found(id);
      return info_of(self->state, it->second);
    },
    [=](wait_atom, job_id id, std::int64_t timeout_ms) -> caf::result<job_result> {
      auto it = self->state.jobs.find(id);
      if (it == self->state.jobs.end())
        return not_found(id);
      if (is_final(it->second.rec.state))
        return result_of(it->second);
      auto waiter = spawn_waiter(self->system());
      adopt(self, caf::actor_cast<event_listener>(waiter));
      return self->delegate(waiter, wait_atom::value, id, timeout_ms);
    },
    [=](wait_iter_atom, job_id id, std::int64_t timeout_ms) -> caf::result<iteration_report> {
      auto it = self->state.jobs.find(id);
      if (it == self->state.jobs.end())
        return not_found(id);
      if (is_final(it->second.rec.state))
        return make_caf_error(error_code::invalid_request,
                              "job " + std::to_string(id) + " already " +
                                to_string(it->second.rec.state) + "; no further iteration");
      auto waiter = spawn_waiter(self->system());
      adopt(self, caf::actor_cast<event_listener>(waiter));
      return self->delegate(waiter, wait_iter_atom::value, id, timeout_ms);
    },
    [=](subscribe_atom, event_listener& listener) {
      subscribe(self, listener);
      self->send(listener, workers_atom::value, worker_statuses(self->state));
    },
    [=](workers_atom) { return worker_statuses(self->state); },
    [=](rdv_set_atom, std::string& key, std::vector<std::uint8_t>& value) {
      auto& st = self->state;
      auto [first, last] = st.pending_gets.equal_range(key);
      for (auto it = first; it != last; ++it)
        if (it->second.pending())
          it->second.deliver(value);
      st.pending_gets.erase(first, last);
      st.rendezvous[key] = std::move(value);
      return true;
    },
    [=](rdv_get_atom, std::string& key,
        std::int64_t timeout_ms) -> caf::result<std::vector<std::uint8_t>> {
      auto& st = self->state;
      if (auto it = st.rendezvous.find(key); it != st.rendezvous.end())
        return it->second;
      auto rp = self->make_response_promise<std::vector<std::uint8_t>>();
      st.pending_gets.emplace(key, rp);
      if (timeout_ms > 0)
        self->delayed_send(self, std::chrono::milliseconds(timeout_ms), timeout_atom::value,
                           key);
      return rp;
    },
    [=](rdv_add_atom, std::string& key, std::int64_t delta) {
      auto& bytes = self->state.rendezvous[key];
      std::int64_t value = 0;
      if (bytes.size() == sizeof(value))
        std::memcpy(&value, bytes.data(), sizeof(value));
      value += delta;
      bytes.resize(sizeof(value));
      std::memcpy(bytes.data(), &value, sizeof(value));
      return value;
    },
    [=](timeout_atom, const std::string& key) {
      // A rendezvous get ran past its deadline: fail whoever still waits for the key.
      auto& st = self->state;
      auto [first, last] = st.pending_gets.equal_range(key);
      for (auto it = first; it != last; ++it)
        if (it->second.pending())
          it->second.deliver(make_caf_error(error_code::timeout,
                                            "rendezvous key '" + key + "' was not set in time"));
      st.pending_gets.erase(first, last);
    },
    [=](register_atom, worker_actor& worker, worker_info& info) -> std::uint32_t {
      auto& st = self->state;
      self->monitor(worker);
      st.workers.push_back(worker_slot{std::move(worker), std::move(info), std::nullopt, true});
      announce_workers(self);
      dispatch(self);
      return static_cast<std::uint32_t>(st.workers.size() - 1);
    },
    [=](iterated_atom, iteration_report& report) {
      auto& st = self->state;
      auto it = st.jobs.find(report.job);
      if (it == st.jobs.end())
        return;
      auto& e = it->second;
      auto now = st.now_ms();
      e.seconds.push_back(report.metrics.count("seconds") ? report.metrics.at("seconds")
                                                          : (now - e.current_since_ms) / 1000.0);
      e.current_since_ms = now;
      e.last = report;
      e.rec.trained_iterations = report.iteration;
      e.rec.best_iteration = report.best_iteration;
      e.rec.batch_size = report.batch_size;
      if (auto ok = st.db->save_iteration(report); !ok)
        caf::aout(self) << "trainyard: cannot save an iteration: " << ok.error().message
                        << std::endl;
      persist(self, e);
      broadcast(self, iterated_atom::value, report);
    },
    [=](probed_atom, job_id id, probe_result& probe) {
      auto it = self->state.jobs.find(id);
      if (it == self->state.jobs.end())
        return;
      it->second.rec.batch_size = probe.train_batch_size;
      persist(self, it->second);
      announce(self, it->second);
    },
    [=](finished_atom, job_id id, training_outcome& outcome) {
      auto& st = self->state;
      auto it = st.jobs.find(id);
      if (it == st.jobs.end())
        return;
      auto& e = it->second;
      // Which rank reported: the slot of the sending worker.
      auto sender = self->current_sender();
      std::optional<std::size_t> slot;
      for (std::size_t i = 0; i < e.ranks.size(); ++i)
        if (sender && st.workers[e.ranks[i]].handle.address() == sender->address())
          slot = i;
      if (!slot || st.workers[e.ranks[*slot]].job != id)
        return;  // a rank of an earlier run of the job (requeued since): nothing to do
      st.workers[e.ranks[*slot]].job.reset();
      if (*slot == 0)
        e.outcome = outcome;
      else if (outcome.state != job_state::completed && !e.outcome)
        stop_ranks(self, e);  // a rank ended early: end the others too
      if (busy_ranks(st, e) > 0) {
        announce_workers(self);
        return;  // the job ends when its last rank has
      }
      if (!e.outcome || (e.lost_rank && e.outcome->state != job_state::completed)) {
        // Rank 0 never reported, or a rank's node went away mid-job: resume from the last
        // checkpoint on the next idle workers.
        if (e.outcome)
          e.rec.trained_iterations =
            std::max(e.rec.trained_iterations, e.outcome->trained_iterations);
        requeue_at_head(self, e);
        maybe_finish_shutdown(self);
        dispatch(self);
        return;
      }
      outcome = *e.outcome;
      if (e.interrupting && outcome.state == job_state::stopped) {
        e.rec.trained_iterations = std::max(e.rec.trained_iterations, outcome.trained_iterations);
        requeue_at_head(self, e);
      } else {
        e.rec.trained_iterations = outcome.trained_iterations;
        e.rec.best_iteration = outcome.best_iteration;
        e.rec.final_metrics = outcome.final_metrics;
        if (outcome.batch_size > 0)
          e.rec.batch_size = outcome.batch_size;
        auto message = outcome.state == job_state::stopped && !e.stop_reason.empty()
                         ? e.stop_reason
                         : outcome.message;
        finish(self, e, outcome.state, message, outcome.error);
      }
      maybe_finish_shutdown(self);
      dispatch(self);
    },
    [=](shutdown_atom) -> caf::result<bool> {
      auto& st = self->state;
      st.shutting_down = true;
      for (auto& [id, e] : st.jobs) {
        if (e.rec.state == job_state::running) {
          e.interrupting = true;
          stop_ranks(self, e);
        }
      }
      auto rp = self->make_response_promise<bool>();
      st.shutdown_waiters.push_back(rp);
      maybe_finish_shutdown(self);
      return rp;
    },
  };
}

}  // namespace

expected<scheduler_actor> spawn_scheduler(caf::actor_system& system, scheduler_options options,
                                          dataset_actor datasets) {
  auto db = store::open(options.workspace + "/trainyard.db");
  if (!db)
    return db.error();
  return system.spawn(scheduler, std::move(*db), std::move(options), std::move(datasets));
}

}  // namespace trainyard
