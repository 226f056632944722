// How a job fails inside the training runtime: helpers deep inside a job throw job_failure (through
// need() and fail()), and the engine's edge turns it, or a LibTorch error, into a failed outcome
// with a message the user can act on. Internal to the training runtime (runtime/train/).
#pragma once

#include <string>
#include <utility>

#include "runtime/core/error.hpp"
#include "runtime/core/training_engine.hpp"

namespace trainyard {

/// The first line of an error text (LibTorch's carry a backtrace below).
inline std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

/// Whether a LibTorch error text says an allocation failed.
inline bool is_allocation_failure(const std::string& what) {
  return what.find("can't allocate") != std::string::npos ||
         what.find("std::bad_alloc") != std::string::npos ||
         what.find("out of memory") != std::string::npos;
}

/// Outcome of a job that failed; what the user should do is in the message.
inline training_outcome failed(std::string message, error_code code = error_code::training_failed) {
  training_outcome outcome;
  outcome.state = job_state::failed;
  outcome.message = std::move(message);
  outcome.error = code;
  return outcome;
}
inline training_outcome failed(const failure& f) { return failed(f.message, f.code); }

/// Used where a helper returns expected<> deep inside a job: thrown and caught at train()'s edge.
struct job_failure {
  failure f;
};
template <class T>
T need(expected<T> value) {
  if (!value)
    throw job_failure{value.error()};
  return std::move(*value);
}
inline void need(expected<void> value) {
  if (!value)
    throw job_failure{value.error()};
}

/// Ends the job with a failure the user can act on (caught at train()'s edge).
[[noreturn]] inline void fail(std::string message, error_code code = error_code::training_failed) {
  throw job_failure{make_failure(code, std::move(message))};
}

}  // namespace trainyard
