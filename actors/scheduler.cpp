// The scheduler actor. Mechanism only: the queue order is queue_policy's, placement is place()'s,
// a job's phase changes through job_lifecycle's advance(), progression is estimate_progression's,
// the stop rule is the early stopper's; each handler below turns its message into calls of
// those, persists the outcome in the store, and sends the results.
//
// A job's life here: submit -> queued (persisted) -> placed on idle workers once the dataset
// actor granted (and locked) its split -> running (iteration reports persisted and fanned out)
// -> finished (completed / stopped / failed), or back to the head of the queue when it was
// interrupted by a shutdown or lost a rank. Cancel applies to queued jobs, stop to running ones.
#include "actors/scheduler.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include <caf/all.hpp>

#include "actors/rendezvous.hpp"
#include "actors/scheduler_state.hpp"
#include "runtime/core/inheritance.hpp"
#include "runtime/core/validate.hpp"
#include "runtime/store/spec_json.hpp"

namespace trainyard {

namespace scheduling {

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

caf::error refused(const std::string& message) {
  return make_caf_error(error_code::invalid_request, message);
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
  return announce(self, st.jobs.at(id));
}

// The latest job of `tool` submitted before job `before` (any, when 0) that was not cancelled
// or failed: the training a continue job continues.
const job_entry* previous_training(const scheduler_state& st, const std::string& tool,
                                   job_id before = 0) {
  const job_entry* previous = nullptr;
  if (auto tool_jobs = st.by_tool.find(tool); tool_jobs != st.by_tool.end())
    for (auto id : tool_jobs->second) {
      const auto& e = st.jobs.at(id);
      if ((before == 0 || id < before) && e.rec.state != job_state::cancelled &&
          e.rec.state != job_state::failed)
        previous = &e;
    }
  return previous;
}

// A continue job takes the settings its campaign did not write from the job it continues
// (runtime/core/inheritance.hpp); what it took is stored with it. `self`: its own id when it is
// known already (a resubmission), so only jobs before it count.
void inherit_from_previous(const scheduler_state& st, job_spec& spec, job_id self = 0) {
  if (!spec.continue_training)
    return;
  if (const auto* previous = previous_training(st, spec.tool.name, self))
    spec.inherited_settings =
      inherit_settings(spec.settings, previous->rec.spec.settings, spec.written_settings);
}

// Checks a submission against the jobs already known for its tool.
std::optional<caf::error> check_tool_history(const scheduler_state& st, const job_spec& spec) {
  const job_entry* previous = previous_training(st, spec.tool.name);
  const auto& tool = spec.tool.name;
  if (spec.continue_training) {
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

// What every submission passes before it is stored or queued (a remote client may send any
// job_spec): validate(), against the tool's dataset when this workspace declares it.
std::optional<caf::error> check_spec(const scheduler_state& st, const job_spec& spec) {
  expected<void> ok = validate(spec);
  if (auto datasets = st.db->load_datasets())
    for (const auto& dataset : *datasets)
      if (ok && dataset.name == spec.tool.dataset)
        ok = validate(spec, dataset);
  if (!ok)
    return make_caf_error(ok.error());
  return std::nullopt;
}

job_entry& add_job(scheduler_state& st, job_record rec) {
  auto id = rec.id;
  auto& e = st.jobs[id];
  e.rec = std::move(rec);
  e.phase = is_final(e.rec.state) ? job_phase::done : job_phase::queued;
  st.by_name[e.rec.spec.name] = id;
  st.by_tool[e.rec.spec.tool.name].push_back(id);
  return e;
}

// Reload: queued jobs by stored position, then jobs that were running go first again, in the
// order they had started, to resume from their checkpoints.
void reload(self_ptr self) {
  auto& st = self->state;
  auto jobs = st.db->load_jobs();
  if (!jobs)
    return;
  std::vector<std::pair<std::int64_t, job_id>> queued;
  std::vector<std::pair<std::int64_t, job_id>> interrupted;
  for (auto& rec : *jobs) {
    auto& e = add_job(st, std::move(rec));
    auto id = e.rec.id;
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
  for (auto it = interrupted.rbegin(); it != interrupted.rend(); ++it) {
    auto& e = st.jobs[it->second];
    e.rec.state = job_state::queued;
    st.queue.push_front(e.rec.id);
    persist(self, e);
  }
}

// A known job submitted again. A failed or cancelled one queues again (a retry: its cause may
// be gone), with changed settings too (a lower learning rate after it diverged), and with
// another tool or split only while it trained nothing; any other answers its id when unchanged,
// so resubmitting a campaign finds its jobs again, and is refused when edited rather than
// silently answered with the old job's results.
caf::result<job_id> on_resubmit(self_ptr self, job_entry& e, job_spec& spec) {
  auto& st = self->state;
  inherit_from_previous(st, spec, e.rec.id);
  const bool same = to_json(e.rec.spec) == to_json(spec);
  const std::string id = std::to_string(e.rec.id);
  const bool retryable =
    e.rec.state == job_state::failed || e.rec.state == job_state::cancelled;
  if (!retryable) {
    if (same)
      return e.rec.id;
    return make_caf_error(error_code::already_exists,
                          "job '" + spec.name + "' already exists in this workspace (job " + id +
                            ", " + to_string(e.rec.state) +
                            ") with other settings\nto keep both, give the changed job a new "
                            "name, or restore its settings and list the new values in a "
                            "[sweep.NAME] section (job = " + spec.name +
                            ", e.g. learning_rate = 0.001, 0.002); or use another workspace");
  }
  if (!same) {
    // What it trained lives in its checkpoint: a resume needs the same tool and split.
    const bool same_ground = to_json(e.rec.spec.tool) == to_json(spec.tool) &&
                             e.rec.spec.split == spec.split &&
                             e.rec.spec.continue_training == spec.continue_training;
    if (e.rec.trained_iterations > 0 && !same_ground)
      return make_caf_error(error_code::already_exists,
                            "job '" + spec.name + "' (job " + id + ") " +
                              to_string(e.rec.state) + " after training " +
                              std::to_string(e.rec.trained_iterations) +
                              " iterations of its tool; submit it with the same tool and split "
                              "to resume it (its training settings may change), or give the "
                              "changed job a new name");
    if (auto err = check_spec(st, spec))
      return std::move(*err);
    if (auto err = check_tool_history(st, spec))
      return std::move(*err);
    if (spec.tool.name != e.rec.spec.tool.name) {
      auto& old_tool = st.by_tool[e.rec.spec.tool.name];
      old_tool.erase(std::remove(old_tool.begin(), old_tool.end(), e.rec.id), old_tool.end());
      st.by_tool[spec.tool.name].push_back(e.rec.id);
    }
    e.rec.spec = std::move(spec);
  }
  advance_job(self, e, job_event::retried, {});
  dispatch(self);
  return e.rec.id;
}

// Queues a job (persisted first) unless its name, validate() or its tool's history refuses it.
caf::result<job_id> on_submit(self_ptr self, job_spec& spec) {
  auto& st = self->state;
  if (auto known = st.by_name.find(spec.name); known != st.by_name.end())
    return on_resubmit(self, st.jobs.at(known->second), spec);
  inherit_from_previous(st, spec);
  if (auto err = check_spec(st, spec))
    return std::move(*err);
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
  auto& e = add_job(st, std::move(rec));
  st.queue.push_back(*id);
  if (st.queue.key_of(*id) != e.rec.queue_position)
    persist_order(self);  // the keys were renumbered
  announce(self, e);
  dispatch(self);
  return *id;
}

// Cancels a queued job.
caf::result<job_info> on_cancel(self_ptr self, job_id id) {
  auto& st = self->state;
  auto it = st.jobs.find(id);
  if (it == st.jobs.end())
    return not_found(id);
  auto& e = it->second;
  if (!advance_job(self, e, job_event::cancel_asked, {job_state::cancelled, "cancelled while queued"}))
    return refused("job " + std::to_string(id) + " is " + to_string(e.rec.state) +
                   ", not queued; only queued jobs can be cancelled" +
                   (e.rec.state == job_state::running ? " (stop it instead)" : ""));
  return info_of(st, e);
}

// Stops a job: a queued one is cancelled, a granting one cancelled at its grant, a running one
// ends stopped between two steps.
caf::result<job_info> on_stop(self_ptr self, job_id id, std::string& reason) {
  auto& st = self->state;
  auto it = st.jobs.find(id);
  if (it == st.jobs.end())
    return not_found(id);
  auto& e = it->second;
  if (reason.empty())
    reason = "stopped by request";
  if (!advance_job(self, e, job_event::stop_asked, {job_state::cancelled, reason}))
    return refused("job " + std::to_string(id) + " already " + to_string(e.rec.state) +
                   "; nothing to stop");
  return info_of(st, e);
}

// Every job with its progression.
std::vector<job_info> on_list(self_ptr self) {
  auto& st = self->state;
  const auto& order = st.queue.order();
  std::unordered_map<job_id, std::size_t> positions;
  positions.reserve(order.size());
  for (std::size_t i = 0; i < order.size(); ++i)
    positions.emplace(order[i], i);
  std::vector<job_info> all;
  all.reserve(st.jobs.size());
  for (auto& [id, e] : st.jobs)
    all.push_back(info_of(st, e, &positions));
  return all;
}

// A wait request goes to a waiter subscribed to the events, which answers when its event comes.
template <class Answer, class Atom>
caf::result<Answer> delegate_wait(self_ptr self, Atom what, job_id id, std::int64_t timeout_ms) {
  auto waiter = spawn_waiter(self->system());
  adopt(self, caf::actor_cast<event_listener>(waiter));
  return self->delegate(waiter, what, id, timeout_ms);
}

// The job's result now if it is final, else when it becomes final.
caf::result<job_result> on_wait(self_ptr self, job_id id, std::int64_t timeout_ms) {
  auto it = self->state.jobs.find(id);
  if (it == self->state.jobs.end())
    return not_found(id);
  if (is_final(it->second.rec.state))
    return result_of(it->second);
  return delegate_wait<job_result>(self, wait_atom::value, id, timeout_ms);
}

// The job's next iteration report.
caf::result<iteration_report> on_wait_iteration(self_ptr self, job_id id,
                                                std::int64_t timeout_ms) {
  auto it = self->state.jobs.find(id);
  if (it == self->state.jobs.end())
    return not_found(id);
  if (is_final(it->second.rec.state))
    return refused("job " + std::to_string(id) + " already " + to_string(it->second.rec.state) +
                   "; no further iteration");
  return delegate_wait<iteration_report>(self, wait_iter_atom::value, id, timeout_ms);
}

// An iteration of a job: saved, and sent to every listener.
void on_iterated(self_ptr self, iteration_report& report) {
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
    caf::aout(self) << "trainyard: cannot save an iteration: " << ok.error().message << std::endl;
  persist(self, e);
  for (auto& listener : st.listeners)
    self->send(listener, iterated_atom::value, report);
}

// A rank's training ended; the job ends (or resumes later) once its last rank has.
void on_finished(self_ptr self, job_id id, training_outcome& outcome) {
  auto& st = self->state;
  auto it = st.jobs.find(id);
  if (it == st.jobs.end())
    return;
  auto& e = it->second;
  // Which rank reported: the slot of the sending worker.
  auto sender = self->current_sender();
  std::optional<std::size_t> rank;
  for (std::size_t i = 0; i < e.ranks.size(); ++i)
    if (sender && st.workers[e.ranks[i]].handle.address() == sender->address())
      rank = i;
  if (!rank || st.workers[e.ranks[*rank]].job != id)
    return;  // a rank of an earlier run of the job (requeued since): nothing to do
  st.workers[e.ranks[*rank]].job.reset();
  if (*rank == 0)
    e.rank0 = outcome;
  else if (outcome.state != job_state::completed && !e.rank0)
    stop_ranks(self, e);  // a rank ended early: end the others too
  if (busy_ranks(st, e) > 0) {
    announce_workers(self);
    return;
  }
  advance_job(self, e, job_event::ranks_ended);
  maybe_finish_shutdown(self);
  dispatch(self);
}

// A worker went away (its node died or lost the connection): its job resumes elsewhere.
void worker_lost(self_ptr self, worker_slot& w, const caf::error& reason) {
  auto& st = self->state;
  w.alive = false;
  w.gone_ms = st.now_ms();
  // On stderr: stdout may carry a command's JSON. A worker ended by its own process's shutdown
  // is no news.
  if (reason != caf::exit_reason::user_shutdown)
    std::cerr << "trainyard scheduler: worker " << w.info.name << " of node " << w.info.node
              << " went away (" << caf::to_string(reason) << ")" << std::endl;
  if (auto job = w.job) {
    w.job.reset();
    auto& e = st.jobs.at(*job);
    advance_job(self, e, job_event::rank_lost);
    if (busy_ranks(st, e) == 0 && !awaits_grant(e.phase))
      advance_job(self, e, job_event::ranks_ended);
  }
  announce_workers(self);
  maybe_finish_shutdown(self);
  dispatch(self);
}

// The workers as last known; each live one is asked for its memory now, so a monitor that asks
// every few seconds sees figures one request old.
std::vector<worker_status> on_workers(self_ptr self) {
  auto& st = self->state;
  for (std::size_t i = 0; i < st.workers.size(); ++i) {
    if (!st.workers[i].alive)
      continue;
    auto handle = st.workers[i].handle;
    self->request(handle, std::chrono::seconds(5), info_atom::value)
      .then(
        [=](const worker_info& now) {
          auto& w = self->state.workers[i];
          if (w.handle != handle)
            return;
          w.info.memory_used_bytes = now.memory_used_bytes;
          w.info.process_bytes = now.process_bytes;
        },
        [](const caf::error&) {});  // a worker gone meanwhile: its down message says so
  }
  return worker_statuses(st);
}

// A listener or a worker went away.
void on_down(self_ptr self, const caf::down_msg& msg) {
  auto& st = self->state;
  auto& ls = st.listeners;
  ls.erase(std::remove_if(ls.begin(), ls.end(),
                          [&](const event_listener& l) { return l.address() == msg.source; }),
           ls.end());
  for (auto& w : st.workers)
    if (w.alive && w.handle.address() == msg.source)
      worker_lost(self, w, msg.reason);
}

// Stops dispatching and interrupts running jobs; answers once no job holds a worker.
caf::result<bool> on_shutdown(self_ptr self) {
  auto& st = self->state;
  st.shutting_down = true;
  for (auto& [id, e] : st.jobs)
    if (is_active(e.phase))
      advance_job(self, e, job_event::shutdown);
  auto rp = self->make_response_promise<bool>();
  st.shutdown_waiters.push_back(rp);
  maybe_finish_shutdown(self);
  return rp;
}

scheduler_actor::behavior_type scheduler(self_ptr self, std::unique_ptr<store> db,
                                         scheduler_options options, dataset_actor datasets) {
  auto& st = self->state;
  st.db = std::move(db);
  st.workspace = options.workspace;
  st.workspace_id = workspace_token(options.workspace);
  st.now_ms = options.now_ms ? options.now_ms : system_now_ms;
  st.datasets = std::move(datasets);
  st.rendezvous = spawn_rendezvous(self->system());
  self->link_to(st.rendezvous);
  reload(self);
  self->set_down_handler([=](caf::down_msg& msg) { on_down(self, msg); });
  return {
    [=](submit_atom, job_spec& spec) { return on_submit(self, spec); },
    [=](move_atom, job_id id, std::uint32_t position) { return reorder(self, id, position); },
    [=](top_atom, job_id id) { return reorder(self, id, 0); },
    [=](cancel_atom, job_id id) { return on_cancel(self, id); },
    [=](stop_atom, job_id id, std::string& reason) { return on_stop(self, id, reason); },
    [=](list_atom) { return on_list(self); },
    [=](progress_atom, job_id id) -> caf::result<job_info> {
      auto it = self->state.jobs.find(id);
      if (it == self->state.jobs.end())
        return not_found(id);
      return info_of(self->state, it->second);
    },
    [=](wait_atom, job_id id, std::int64_t timeout_ms) { return on_wait(self, id, timeout_ms); },
    [=](wait_iter_atom, job_id id, std::int64_t timeout_ms) {
      return on_wait_iteration(self, id, timeout_ms);
    },
    [=](subscribe_atom, event_listener& listener) {
      subscribe(self, listener);
      self->send(listener, workers_atom::value, worker_statuses(self->state));
    },
    [=](workers_atom) { return on_workers(self); },
    [=](register_atom, worker_actor& worker, worker_info& info) -> std::uint32_t {
      auto& st = self->state;
      self->monitor(worker);
      st.workers.push_back(worker_slot{std::move(worker), std::move(info), std::nullopt, true});
      announce_workers(self);
      dispatch(self);
      return static_cast<std::uint32_t>(st.workers.size() - 1);
    },
    [=](iterated_atom, iteration_report& report) { on_iterated(self, report); },
    [=](probed_atom, job_id id, probe_result& probe) {
      auto it = self->state.jobs.find(id);
      if (it == self->state.jobs.end())
        return;
      it->second.rec.batch_size = probe.train_batch_size;
      persist(self, it->second);
      announce(self, it->second);
    },
    [=](finished_atom, job_id id, training_outcome& outcome) { on_finished(self, id, outcome); },
    [=](shutdown_atom) { return on_shutdown(self); },
  };
}

}  // namespace

}  // namespace scheduling

expected<scheduler_actor> spawn_scheduler(caf::actor_system& system, scheduler_options options,
                                          dataset_actor datasets) {
  auto db = store::open(options.workspace + "/trainyard.db");
  if (!db)
    return db.error();
  return system.spawn(scheduling::scheduler, std::move(*db), std::move(options),
                      std::move(datasets));
}

}  // namespace trainyard
