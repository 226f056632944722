// The exit codes of every trainyard command, in one place: scripts branch on them, and the
// README and docs/cluster.md list them. 0 success, 1 a job failed or a request was refused,
// 2 bad input, 3 a job was stopped, 4 cancelled, 5 a wait timed out, 6 the scheduler is
// unreachable or went away, 130 interrupted by Ctrl-C (returned by `run` itself).
#pragma once

#include "runtime/core/error.hpp"
#include "runtime/core/specs.hpp"

namespace trainyard {

/// Exit code of a command given bad input: options, a campaign file, a terminal it needs.
constexpr int bad_input_exit_code = 2;

/// Exit code of a command interrupted by SIGINT or SIGTERM.
constexpr int interrupted_exit_code = 130;

/// The exit code of a command that failed with `code`.
inline int exit_code_of(error_code code) {
  switch (code) {
    case error_code::none: return 0;
    case error_code::invalid_config: return bad_input_exit_code;
    case error_code::timeout: return 5;
    case error_code::interrupted: return 6;  // the scheduler is unreachable or went away
    default: return 1;
  }
}

/// The exit code of a command that waited for a job to reach `state`.
inline int exit_code_of(job_state state) {
  switch (state) {
    case job_state::completed: return 0;
    case job_state::stopped: return 3;
    case job_state::cancelled: return 4;
    default: return 1;
  }
}

}  // namespace trainyard
