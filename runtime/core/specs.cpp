#include "runtime/core/specs.hpp"

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
  switch (kind) {
    case dataset_kind::fashion_mnist: return "fashion-mnist";
    case dataset_kind::image_folder: return "folder";
    case dataset_kind::coco: return "coco";
    case dataset_kind::masks: return "masks";
    case dataset_kind::anomaly: return "anomaly";
  }
  return "unknown";
}

const char* to_string(tool_kind kind) {
  switch (kind) {
    case tool_kind::classify: return "classify";
    case tool_kind::locate: return "locate";
    case tool_kind::segment: return "segment";
    case tool_kind::anomaly: return "anomaly";
  }
  return "unknown";
}

}  // namespace trainyard
