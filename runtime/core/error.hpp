// Errors as values for the whole project: a code from one enum plus a message that tells the user
// what to do. Runtime code returns expected<T>; the actor layer turns a failure into a caf::error
// (actors/protocol.hpp registers the category). No CAF, no torch here.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace trainyard {

/// Every trainyard error. Stable numbers: they cross processes inside caf::error.
enum class error_code : std::uint8_t {
  none = 0,
  invalid_config = 1,      ///< a campaign file or option is malformed
  dataset_unreadable = 2,  ///< a dataset's files are missing or unreadable
  image_corrupt = 3,       ///< one image could not be decoded
  split_locked = 4,        ///< the change would shrink a locked split's training/validation sets
  split_mismatch = 5,      ///< continue-training on another split than the tool was trained on
  unknown_job = 6,
  unknown_tool = 7,
  unknown_split = 8,
  unknown_dataset = 9,
  invalid_request = 10,    ///< a request that cannot apply to the job's state (move a running job)
  out_of_memory = 11,      ///< no batch size fits the memory budget
  training_failed = 12,    ///< LibTorch raised during training
  storage_failed = 13,     ///< SQLite or a tool file could not be written or read
  timeout = 14,            ///< a wait ran past its deadline
  interrupted = 15,        ///< the process is shutting down
  already_exists = 16,
};

/// Short, stable name of a code, e.g. "split_locked".
const char* to_string(error_code code);

/// A failed outcome: what went wrong and what to do about it.
struct failure {
  error_code code = error_code::none;
  std::string message;
};

inline failure make_failure(error_code code, std::string message) {
  return failure{code, std::move(message)};
}

/// A value or a failure (C++17 stand-in for std::expected).
template <class T>
class expected {
 public:
  expected(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design, like std::expected
  expected(failure f) : v_(std::move(f)) {}    // NOLINT

  explicit operator bool() const { return v_.index() == 0; }
  bool has_value() const { return v_.index() == 0; }
  T& operator*() { return std::get<0>(v_); }
  const T& operator*() const { return std::get<0>(v_); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  const failure& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, failure> v_;
};

/// Success or a failure.
template <>
class expected<void> {
 public:
  expected() = default;
  expected(failure f) : f_(std::move(f)) {}  // NOLINT

  explicit operator bool() const { return f_.code == error_code::none; }
  bool has_value() const { return f_.code == error_code::none; }
  const failure& error() const { return f_; }

 private:
  failure f_;
};

}  // namespace trainyard
