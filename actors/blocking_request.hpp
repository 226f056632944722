// Blocking request/response for code outside actors (the CLI, tests, benchmarks): sends one
// request from a scoped actor, waits for the answer, and turns a caf::error into a trainyard
// failure. Actors never call this: they use request(...).then(...).
#pragma once

#include <utility>

#include <caf/all.hpp>

#include "actors/protocol.hpp"
#include "runtime/core/error.hpp"

namespace trainyard {

/// The answer of type T, or the failure: a trainyard error keeps its code; CAF's own errors become
/// `timeout` (no answer in time) or `interrupted` (the receiver is gone).
template <class T, class Handle, class Timeout, class... Ts>
expected<T> ask(caf::actor_system& system, const Handle& dest, Timeout timeout, Ts&&... xs) {
  caf::scoped_actor self{system};
  expected<T> result = make_failure(error_code::interrupted, "no answer");
  self->request(dest, timeout, std::forward<Ts>(xs)...)
    .receive([&](T& value) { result = std::move(value); },
             [&](caf::error& err) {
               auto code = code_of(err);
               if (code == error_code::none)
                 code = err == caf::sec::request_timeout ? error_code::timeout
                                                         : error_code::interrupted;
               result = make_failure(code, describe(err));
             });
  return result;
}

}  // namespace trainyard
