// A finished job's result as the commands print it with --json (`run`, `wait`): one spelling of
// its keys for every command.
#pragma once

#include <nlohmann/json.hpp>

#include "runtime/core/jobs.hpp"

namespace trainyard {

inline nlohmann::json to_json(const job_result& r) {
  return {{"id", r.id},
          {"job", r.name},
          {"state", to_string(r.state)},
          {"trained_iterations", r.trained_iterations},
          {"best_iteration", r.best_iteration},
          {"final_metrics", r.final_metrics},
          {"message", r.message},
          {"error", to_string(r.error)}};
}

}  // namespace trainyard
