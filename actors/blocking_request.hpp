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
/// `timeout` (no answer in time) or `interrupted` (the receiver is gone, also while it was
/// answering: a remote receiver whose node goes away, a scheduler killed mid-request, ends the
/// wait at once instead of never).
template <class T, class Handle, class Timeout, class... Ts>
expected<T> ask(caf::actor_system& system, const Handle& dest, Timeout timeout, Ts&&... xs) {
  caf::scoped_actor self{system};
  expected<T> result = make_failure(error_code::interrupted, "no answer");
  auto pending = self->request(dest, timeout, std::forward<Ts>(xs)...);
  // CAF fails a request whose receiver is already gone, but not one whose remote receiver goes
  // away before answering: its proxy dies and the answer never comes. A watcher monitors a
  // remote receiver and answers the request with an error when it goes down.
  caf::actor watcher;
  if (dest && dest.node() != system.node()) {
    auto requester = caf::actor_cast<caf::strong_actor_ptr>(self.ptr());
    const auto response_id = pending.id();  // already the id the answer carries
    watcher = system.spawn([=](caf::event_based_actor* w) -> caf::behavior {
      w->monitor(dest);
      w->set_down_handler([=](caf::down_msg& down) {
        requester->enqueue(caf::make_mailbox_element(
                             nullptr, response_id, {},
                             make_caf_error(error_code::interrupted,
                                            "it went away before answering (" +
                                              caf::to_string(down.reason) + ")")),
                           w->context());
        w->quit();
      });
      return {[](caf::unit_t) {}};
    });
  }
  pending.receive([&](T& value) { result = std::move(value); },
                  [&](caf::error& err) {
                    auto code = code_of(err);
                    if (code == error_code::none)
                      code = err == caf::sec::request_timeout ? error_code::timeout
                                                              : error_code::interrupted;
                    result = make_failure(code, describe(err));
                  });
  if (watcher)
    caf::anon_send_exit(watcher, caf::exit_reason::user_shutdown);
  return result;
}

}  // namespace trainyard
