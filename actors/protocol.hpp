// The one protocol of trainyard: typed actor interfaces of every role, the atoms that name
// commands and events, the `inspect` overloads of the message structs that cross actors and
// processes (the structs themselves are plain data in runtime/core/), and the registration of
// all of it with an actor_system_config.
//
// Commands are verbs (submit, move, cancel, stop), events past tense (iterated, finished,
// changed), data nouns (job_spec, job_info). Messages carry plain types only: ids, strings,
// vectors, metric maps; never tensors or images.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/save_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/typed_actor.hpp>
#include <caf/replies_to.hpp>

#include "runtime/core/error.hpp"
#include "runtime/core/fields.hpp"
#include "runtime/core/jobs.hpp"
#include "runtime/store/file_transfer.hpp"
#include "runtime/core/reports.hpp"
#include "runtime/core/specs.hpp"
#include "runtime/core/training_engine.hpp"

namespace trainyard {

// -- atoms (CAF 0.17: at most 10 characters) --------------------------------------------------

using submit_atom = caf::atom_constant<caf::atom("submit")>;
using move_atom = caf::atom_constant<caf::atom("move")>;
using top_atom = caf::atom_constant<caf::atom("top")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using list_atom = caf::atom_constant<caf::atom("list")>;
using progress_atom = caf::atom_constant<caf::atom("progress")>;
using wait_atom = caf::atom_constant<caf::atom("wait")>;
using wait_iter_atom = caf::atom_constant<caf::atom("waititer")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using register_atom = caf::atom_constant<caf::atom("register")>;
using train_atom = caf::atom_constant<caf::atom("train")>;
using iterated_atom = caf::atom_constant<caf::atom("iterated")>;
using finished_atom = caf::atom_constant<caf::atom("finished")>;
using probed_atom = caf::atom_constant<caf::atom("probed")>;
using changed_atom = caf::atom_constant<caf::atom("changed")>;
using define_atom = caf::atom_constant<caf::atom("define")>;
using split_atom = caf::atom_constant<caf::atom("split")>;
using unlock_atom = caf::atom_constant<caf::atom("unlock")>;
using images_atom = caf::atom_constant<caf::atom("images")>;
using info_atom = caf::atom_constant<caf::atom("info")>;
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;
using timeout_atom = caf::atom_constant<caf::atom("timeout")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using workers_atom = caf::atom_constant<caf::atom("workers")>;
using rdv_set_atom = caf::atom_constant<caf::atom("rdvset")>;
using rdv_get_atom = caf::atom_constant<caf::atom("rdvget")>;
using rdv_add_atom = caf::atom_constant<caf::atom("rdvadd")>;
using rdv_drop_atom = caf::atom_constant<caf::atom("rdvdrop")>;
using hello_atom = caf::atom_constant<caf::atom("hello")>;
using prove_atom = caf::atom_constant<caf::atom("prove")>;
using files_atom = caf::atom_constant<caf::atom("files")>;
using fetch_atom = caf::atom_constant<caf::atom("fetch")>;
using put_atom = caf::atom_constant<caf::atom("put")>;

// -- typed interfaces --------------------------------------------------------------------------

/// Receives events: early-stopping actors, waiters, console monitors.
using event_listener = caf::typed_actor<
  // A job finished an iteration.
  caf::reacts_to<iterated_atom, iteration_report>,
  // A job reached a final state.
  caf::reacts_to<finished_atom, job_result>,
  // A job was queued, moved, started, cancelled or stopped.
  caf::reacts_to<changed_atom, job_info>,
  // A worker joined, left, took or finished a job: every worker's status.
  caf::reacts_to<workers_atom, std::vector<worker_status>>>;

/// Where the ranks of a data-parallel job meet: a key-value store whose gets wait for their key.
/// The scheduler spawns one and hands it to every rank with the job.
using rendezvous_actor = caf::typed_actor<
  // Set a key.
  caf::replies_to<rdv_set_atom, std::string, std::vector<std::uint8_t>>::with<bool>,
  // A key's value once set; timeout in ms (0: answers at once, or fails).
  caf::replies_to<rdv_get_atom, std::string, std::int64_t>::with<std::vector<std::uint8_t>>,
  // Add to a counter (decimal text); answers the new value.
  caf::replies_to<rdv_add_atom, std::string, std::int64_t>::with<std::int64_t>,
  // Forget every key under a prefix (a run of a job ended).
  caf::reacts_to<rdv_drop_atom, std::string>>;

/// One per device: trains one job at a time on its own thread.
using worker_actor = caf::typed_actor<
  // Start training a job, its ranks meeting at the rendezvous; reports go to the sender.
  caf::reacts_to<train_atom, training_request, rendezvous_actor>,
  // Stop the job between two steps.
  caf::reacts_to<stop_atom, job_id>,
  // The device this worker drives.
  caf::replies_to<info_atom>::with<worker_info>>;

/// Owns datasets, splits and locks.
using dataset_actor = caf::typed_actor<
  // Declare (or re-declare identically) a dataset; answers its image count.
  caf::replies_to<define_atom, dataset_spec>::with<std::int64_t>,
  // Declare a split: drawn once, kept while unchanged, redrawn only while unlocked.
  caf::replies_to<define_atom, split_spec>::with<split_summary>,
  // Hand out a split (and lock it when the flag is set: a tool is being trained on it).
  caf::replies_to<split_atom, std::string, bool>::with<split_grant>,
  // Unlock a split again: the scheduler's answer to the end of the only job that locked it,
  // when that job trained nothing. Answers whether it was locked.
  caf::replies_to<unlock_atom, std::string>::with<bool>,
  // Move images of a split into a set (locked splits: test images into train/validation only).
  caf::replies_to<images_atom, std::string, std::vector<std::int64_t>, std::uint8_t>::with<
    split_summary>,
  // For nodes without the shared filesystem: the files of a declared dataset (all its folders).
  caf::replies_to<files_atom, dataset_spec>::with<std::vector<file_entry>>,
  // The files of a tool's folder in the workspace (none yet: an empty list).
  caf::replies_to<files_atom, std::string>::with<std::vector<file_entry>>,
  // A chunk (path, offset, length) of a file listed by one of the above; nothing else is served.
  caf::replies_to<fetch_atom, std::string, std::uint64_t, std::uint32_t>::with<
    std::vector<std::uint8_t>>,
  // A chunk of a node's tool file (tool, path inside the tool folder, offset, bytes, whether it is
  // the last) into the workspace; chunks come in order, and the last puts the file in place.
  caf::replies_to<put_atom, std::string, std::string, std::uint64_t, std::vector<std::uint8_t>,
                  bool>::with<bool>>;

/// Owns the queue and its order, dispatches jobs to workers, fans out events.
using scheduler_actor = caf::typed_actor<
  // Queue a job; answers its id at once (a known name answers the existing id).
  caf::replies_to<submit_atom, job_spec>::with<job_id>,
  // Move a queued job to a 0-based position; answers the job with its new position (an answer
  // that does not grow with the queue: list gives the whole order).
  caf::replies_to<move_atom, job_id, std::uint32_t>::with<job_info>,
  // Move a queued job to the head; answers the job.
  caf::replies_to<top_atom, job_id>::with<job_info>,
  // Cancel a queued job.
  caf::replies_to<cancel_atom, job_id>::with<job_info>,
  // Stop a running job (between steps) with a reason; a queued job is cancelled.
  caf::replies_to<stop_atom, job_id, std::string>::with<job_info>,
  // Every job, by id, with progression.
  caf::replies_to<list_atom>::with<std::vector<job_info>>,
  // One job's progression.
  caf::replies_to<progress_atom, job_id>::with<job_info>,
  // Wait for a job to reach a final state; timeout in ms, 0 = none.
  caf::replies_to<wait_atom, job_id, std::int64_t>::with<job_result>,
  // Wait for a job's next iteration; timeout in ms, 0 = none.
  caf::replies_to<wait_iter_atom, job_id, std::int64_t>::with<iteration_report>,
  // Send events to this listener until it terminates.
  caf::reacts_to<subscribe_atom, event_listener>,
  // Every worker's status.
  caf::replies_to<workers_atom>::with<std::vector<worker_status>>,
  // A worker joins; answers its index.
  caf::replies_to<register_atom, worker_actor, worker_info>::with<std::uint32_t>,
  // From a worker: an iteration finished.
  caf::reacts_to<iterated_atom, iteration_report>,
  // From a worker: the batch size is chosen.
  caf::reacts_to<probed_atom, job_id, probe_result>,
  // From a worker: training ended.
  caf::reacts_to<finished_atom, job_id, training_outcome>,
  // Stop dispatching, interrupt running jobs so they resume later; answers once workers are idle.
  caf::replies_to<shutdown_atom>::with<bool>>;

/// What a scheduler publishes on its port: the door every node, client and monitor knocks at.
/// Only a peer that proves it holds the cluster's secret gets the scheduler's handles.
using gate_actor = caf::typed_actor<
  // A peer says its trainyard version; answers a one-use challenge (refused on another version).
  caf::replies_to<hello_atom, std::string>::with<std::string>,
  // The peer answers the challenge with HMAC-SHA256(secret, challenge) in hex; answers the
  // scheduler and the dataset actor, or refuses (and logs why).
  caf::replies_to<prove_atom, std::string, std::string>::with<scheduler_actor, dataset_actor>>;

/// A waiter: one pending wait request, answered when its event arrives.
using waiter_actor = event_listener::extend<
  // Answer when the job reaches a final state.
  caf::replies_to<wait_atom, job_id, std::int64_t>::with<job_result>,
  // Answer with the job's next iteration report.
  caf::replies_to<wait_iter_atom, job_id, std::int64_t>::with<iteration_report>,
  // The deadline passed.
  caf::reacts_to<timeout_atom>>;

// -- errors ------------------------------------------------------------------------------------

/// caf::error carrying a trainyard error code and its message.
caf::error make_caf_error(const failure& f);
caf::error make_caf_error(error_code code, std::string message);
/// The message a user should read for any caf::error (ours or CAF's).
std::string describe(const caf::error& err);
/// The trainyard code of an error, or none for CAF's own errors.
error_code code_of(const caf::error& err);

/// Registers every message type and the error category with a config. Call once per system.
void register_protocol(caf::actor_system_config& cfg);

// -- inspect -----------------------------------------------------------------------------------

/// CAF 0.17 encodes a double by halving it until it is below 2 (pack754 in
/// caf/detail/ieee_754.hpp), which never ends for an infinity: a message holding one would hang
/// whoever serializes it, this process or a peer that passes it on, and a peer can send the bits
/// of one. So every inspect below clamps infinities to the largest finite doubles before it
/// saves, and refuses a message that decodes to one after it loads. NaN travels without harm.
namespace wire {

template <class T>
void clamp(T&) {}
inline void clamp(double& v) {
  if (std::isinf(v))
    v = v > 0 ? std::numeric_limits<double>::max() : std::numeric_limits<double>::lowest();
}
inline void clamp(metric_map& m) {
  for (auto& kv : m)
    clamp(kv.second);
}

template <class T>
bool finite(const T&) {
  return true;
}
inline bool finite(double v) { return !std::isinf(v); }
inline bool finite(const metric_map& m) {
  for (const auto& kv : m)
    if (!finite(kv.second))
      return false;
  return true;
}

/// The annotation that clamps `xs` before they are saved.
template <class... Ts>
auto clamp_before_save(Ts&... xs) {
  return caf::meta::save_callback([&xs...]() -> caf::error {
    (clamp(xs), ...);
    return caf::none;
  });
}

/// The annotation that refuses the message when one of `xs` loaded as an infinity.
template <class... Ts>
auto refuse_infinity_after_load(Ts&... xs) {
  return caf::meta::load_callback([&xs...]() -> caf::error {
    if ((finite(xs) && ...))
      return caf::none;
    return make_caf_error(error_code::invalid_request,
                          "a message holds an infinite number, which CAF cannot send on; it is "
                          "refused");
  });
}

}  // namespace wire

/// The specs with a field table (runtime/core/fields.hpp) are inspected through it: the members
/// in table order.
template <class Inspector, class Spec>
std::enable_if_t<has_fields_v<Spec>, typename Inspector::result_type> inspect(Inspector& f,
                                                                              Spec& x) {
  return fields(
    [&f](const char* type_name, auto... defs) {
      return f(caf::meta::type_name(type_name), wire::clamp_before_save(*defs.value...),
               *defs.value..., wire::refuse_infinity_after_load(*defs.value...));
    },
    x);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, iteration_report& x) {
  return f(caf::meta::type_name("iteration_report"),
           wire::clamp_before_save(x.metrics, x.best_value, x.monitored_value), x.job, x.tool,
           x.iteration, x.target_iterations, x.metrics, x.best_iteration, x.best_value,
           x.patience_counter, x.batch_size, x.monitored_name, x.monitored_value, x.early_stop,
           x.stop_reason,
           wire::refuse_infinity_after_load(x.metrics, x.best_value, x.monitored_value));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, probe_row& x) {
  return f(caf::meta::type_name("probe_row"),
           wire::clamp_before_save(x.train_images_per_s, x.infer_images_per_s), x.batch_size,
           x.train_images_per_s, x.infer_images_per_s, x.peak_bytes, x.fits, x.note,
           wire::refuse_infinity_after_load(x.train_images_per_s, x.infer_images_per_s));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, probe_result& x) {
  return f(caf::meta::type_name("probe_result"), wire::clamp_before_save(x.margin), x.rows,
           x.train_batch_size, x.inference_batch_size, x.budget_bytes, x.margin,
           wire::refuse_infinity_after_load(x.margin));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, training_outcome& x) {
  return f(caf::meta::type_name("training_outcome"), wire::clamp_before_save(x.final_metrics),
           x.state, x.trained_iterations, x.best_iteration, x.final_metrics, x.batch_size,
           x.message, x.error, wire::refuse_infinity_after_load(x.final_metrics));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rank_assignment& x) {
  return f(caf::meta::type_name("rank_assignment"), x.rank, x.world_size, x.group, x.address);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, training_request& x) {
  return f(caf::meta::type_name("training_request"), x.job, x.spec, x.dataset, x.assignment,
           x.workspace, x.parallel, x.workspace_id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_info& x) {
  return f(caf::meta::type_name("job_info"),
           wire::clamp_before_save(x.best_value, x.fraction, x.eta_seconds, x.last_metrics,
                                   x.final_metrics),
           x.id, x.name, x.tool, x.split, x.state, x.queue_position, x.run_order, x.iteration,
           x.target_iterations, x.first_iteration, x.best_iteration, x.best_value, x.fraction,
           x.eta_seconds, x.batch_size, x.last_metrics, x.final_metrics, x.message,
           x.monitored_name, x.inherited_settings,
           wire::refuse_infinity_after_load(x.best_value, x.fraction, x.eta_seconds,
                                            x.last_metrics, x.final_metrics));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_result& x) {
  return f(caf::meta::type_name("job_result"), wire::clamp_before_save(x.final_metrics), x.id,
           x.name, x.state, x.trained_iterations, x.best_iteration, x.final_metrics, x.message,
           x.error, wire::refuse_infinity_after_load(x.final_metrics));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, worker_info& x) {
  return f(caf::meta::type_name("worker_info"), x.name, x.kind, x.memory_bytes,
           x.memory_used_bytes, x.process_bytes, x.threads, x.node, x.address, x.device_name);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, file_entry& x) {
  return f(caf::meta::type_name("file_entry"), x.path, x.size, x.mtime);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, worker_status& x) {
  return f(caf::meta::type_name("worker_status"), x.index, x.info, x.job, x.alive);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, split_grant& x) {
  return f(caf::meta::type_name("split_grant"), x.dataset, x.split, x.assignment, x.locked);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, split_summary& x) {
  return f(caf::meta::type_name("split_summary"), x.name, x.train, x.validation, x.test,
           x.unused, x.locked);
}

}  // namespace trainyard
