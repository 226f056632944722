// A job's life inside the scheduler: its phase, the events that move it, and the one transition
// function every scheduler handler goes through. A pure policy: no actors, no clock, no store.
//
//   queued --dispatched--> granting --granted--> running --ranks ended--> done
//                                                        \--ranks ended--> queued (resume later)
//   done (failed or cancelled) --retried--> queued (at the tail)
// A stop, a shutdown or a lost rank on the way changes what the next grant or the end of the
// ranks leads to; the phases below name those cases.
#pragma once

#include <optional>

#include "runtime/core/specs.hpp"

namespace trainyard {

enum class job_phase {
  queued,        ///< in the queue
  granting,      ///< placed on workers; the dataset actor is granting (and locking) its split
  cancelling,    ///< granting, and a stop was asked: the grant cancels it
  requeuing,     ///< granting, and a rank's worker went away or a shutdown began: the grant
                 ///< requeues it
  running,       ///< its ranks train
  stopping,      ///< running, and a stop was asked: it ends stopped, with the stop's reason
  interrupting,  ///< running, and a shutdown began: a stopped end requeues it to resume later
  rank_lost,     ///< running, and a rank's worker went away: unless rank 0 completed, it resumes
  done,          ///< final (completed, stopped, failed or cancelled)
};

const char* to_string(job_phase phase);

/// What happened to a job.
enum class job_event {
  dispatched,    ///< workers were reserved for it and its split requested
  granted,       ///< its split arrived
  grant_failed,  ///< its split was refused
  stop_asked,    ///< a person or early stopping asked it to stop
  cancel_asked,  ///< a person asked to cancel it
  shutdown,      ///< the scheduler stops dispatching and interrupts running jobs
  rank_lost,     ///< the worker of one of its ranks went away
  ranks_ended,   ///< none of its ranks trains any more (see `rank0` of advance)
  retried,       ///< resubmitted after it failed or was cancelled: it queues again
};

const char* to_string(job_event event);

/// The phase after `event`, or none when the event does not apply in `phase` (the caller refuses
/// the request, or drops a late message). `rank0` is the state rank 0's outcome reported, if it
/// did; only ranks_ended reads it.
std::optional<job_phase> advance(job_phase phase, job_event event,
                                 std::optional<job_state> rank0 = std::nullopt);

/// Whether the job holds workers or waits for its split: a shutdown waits for none to be left.
inline bool is_active(job_phase phase) {
  return phase != job_phase::queued && phase != job_phase::done;
}

/// Whether the job waits for its split grant.
inline bool awaits_grant(job_phase phase) {
  return phase == job_phase::granting || phase == job_phase::cancelling ||
         phase == job_phase::requeuing;
}

}  // namespace trainyard
