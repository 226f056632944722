#include "runtime/specs.hpp"

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
  return kind == dataset_kind::fashion_mnist ? "fashion-mnist" : "folder";
}

const char* to_string(tool_kind kind) {
  switch (kind) {
    case tool_kind::classify: return "classify";
  }
  return "unknown";
}

}  // namespace trainyard
