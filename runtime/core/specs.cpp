#include "runtime/core/specs.hpp"

#include "runtime/core/fields.hpp"

namespace trainyard {

const char* to_string(job_state state) {
  switch (state) {
    case job_state::queued: return "queued";
    case job_state::running: return "running";
    case job_state::completed: return "completed";
    case job_state::stopped: return "stopped";
    case job_state::failed: return "failed";
    case job_state::cancelled: return "cancelled";
  }
  return "unknown";
}

const char* to_string(dataset_kind kind) {
  const char* name = name_of(dataset_kind_choices(), kind);
  return *name ? name : "unknown";
}

}  // namespace trainyard
