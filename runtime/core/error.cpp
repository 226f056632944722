#include "runtime/core/error.hpp"

namespace trainyard {

const char* to_string(error_code code) {
  switch (code) {
    case error_code::none: return "none";
    case error_code::invalid_config: return "invalid_config";
    case error_code::dataset_unreadable: return "dataset_unreadable";
    case error_code::image_corrupt: return "image_corrupt";
    case error_code::split_locked: return "split_locked";
    case error_code::split_mismatch: return "split_mismatch";
    case error_code::unknown_job: return "unknown_job";
    case error_code::unknown_tool: return "unknown_tool";
    case error_code::unknown_split: return "unknown_split";
    case error_code::unknown_dataset: return "unknown_dataset";
    case error_code::invalid_request: return "invalid_request";
    case error_code::out_of_memory: return "out_of_memory";
    case error_code::training_failed: return "training_failed";
    case error_code::storage_failed: return "storage_failed";
    case error_code::timeout: return "timeout";
    case error_code::interrupted: return "interrupted";
    case error_code::already_exists: return "already_exists";
  }
  return "unknown";
}

}  // namespace trainyard
