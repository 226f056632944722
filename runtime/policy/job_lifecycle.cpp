#include "runtime/policy/job_lifecycle.hpp"

namespace trainyard {

namespace {

using phase = job_phase;

// The end of a running job's ranks: done, or back to the queue to resume from the checkpoint.
phase after_ranks_ended(phase now, std::optional<job_state> rank0) {
  if (!rank0)  // rank 0 never reported: resume
    return phase::queued;
  switch (now) {
    case phase::rank_lost:  // a lost rank spoils everything but a completed rank 0
      return *rank0 == job_state::completed ? phase::done : phase::queued;
    case phase::interrupting:  // stopped by the shutdown: resume on the next start
      return *rank0 == job_state::stopped ? phase::queued : phase::done;
    default:
      return phase::done;
  }
}

}  // namespace

std::optional<job_phase> advance(job_phase now, job_event event, std::optional<job_state> rank0) {
  switch (event) {
    case job_event::dispatched:
      if (now == phase::queued)
        return phase::granting;
      return std::nullopt;
    case job_event::granted:
      switch (now) {
        case phase::granting: return phase::running;
        case phase::cancelling: return phase::done;
        case phase::requeuing: return phase::queued;
        default: return std::nullopt;  // a late grant of an earlier dispatch
      }
    case job_event::grant_failed:
      if (awaits_grant(now))
        return phase::done;
      return std::nullopt;
    case job_event::stop_asked:
      switch (now) {
        case phase::queued: return phase::done;  // cancelled before it ran
        case phase::granting:
        case phase::requeuing: return phase::cancelling;
        case phase::running: return phase::stopping;
        case phase::done: return std::nullopt;  // nothing to stop
        default: return now;  // already ending; the first reason stays
      }
    case job_event::cancel_asked:
      if (now == phase::queued)
        return phase::done;
      return std::nullopt;
    case job_event::shutdown:
      switch (now) {
        case phase::granting:
        case phase::cancelling: return phase::requeuing;
        case phase::running:
        case phase::stopping: return phase::interrupting;
        default: return now;
      }
    case job_event::rank_lost:
      switch (now) {
        case phase::granting: return phase::requeuing;
        case phase::running:
        case phase::stopping:
        case phase::interrupting: return phase::rank_lost;
        case phase::cancelling:
        case phase::requeuing:
        case phase::rank_lost: return now;
        default: return std::nullopt;  // no rank placed
      }
    case job_event::ranks_ended:
      switch (now) {
        case phase::running:
        case phase::stopping:
        case phase::interrupting:
        case phase::rank_lost: return after_ranks_ended(now, rank0);
        default: return std::nullopt;
      }
    case job_event::retried:
      if (now == phase::done)
        return phase::queued;
      return std::nullopt;
  }
  return std::nullopt;
}

const char* to_string(job_phase p) {
  switch (p) {
    case phase::queued: return "queued";
    case phase::granting: return "granting";
    case phase::cancelling: return "cancelling";
    case phase::requeuing: return "requeuing";
    case phase::running: return "running";
    case phase::stopping: return "stopping";
    case phase::interrupting: return "interrupting";
    case phase::rank_lost: return "rank_lost";
    case phase::done: return "done";
  }
  return "?";
}

const char* to_string(job_event e) {
  switch (e) {
    case job_event::dispatched: return "dispatched";
    case job_event::granted: return "granted";
    case job_event::grant_failed: return "grant_failed";
    case job_event::stop_asked: return "stop_asked";
    case job_event::cancel_asked: return "cancel_asked";
    case job_event::shutdown: return "shutdown";
    case job_event::rank_lost: return "rank_lost";
    case job_event::ranks_ended: return "ranks_ended";
    case job_event::retried: return "retried";
  }
  return "?";
}

}  // namespace trainyard
