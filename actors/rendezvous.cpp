#include "actors/rendezvous.hpp"

#include <chrono>
#include <map>

#include <caf/all.hpp>

#include "actors/blocking_request.hpp"
#include "runtime/store/rendezvous_table.hpp"

namespace trainyard {

namespace {

/// The actor's own face: the public one plus the deadline of a get it sends itself.
using rendezvous_impl = rendezvous_actor::extend<
  // The deadline of the gets waiting for this key passed.
  caf::reacts_to<timeout_atom, std::string>>;

using bytes = std::vector<std::uint8_t>;

struct rendezvous_state {
  rendezvous_table table;
  std::multimap<std::string, caf::typed_response_promise<bytes>> waiting;  // gets, by key
  static inline const char* name = "rendezvous";
};

using self_ptr = rendezvous_impl::stateful_pointer<rendezvous_state>;

// Answers (with the value or an error) every get still waiting for `key`.
template <class Answer>
void answer_waiting(self_ptr self, const std::string& key, const Answer& answer) {
  auto [first, last] = self->state.waiting.equal_range(key);
  for (auto it = first; it != last; ++it)
    if (it->second.pending())
      it->second.deliver(answer);
  self->state.waiting.erase(first, last);
}

caf::error not_set(const std::string& key) {
  return make_caf_error(error_code::timeout, "rendezvous key '" + key + "' was not set in time");
}

rendezvous_impl::behavior_type rendezvous(self_ptr self) {
  return {
    [=](rdv_set_atom, const std::string& key, bytes& value) {
      answer_waiting(self, key, value);
      self->state.table.set(key, std::move(value));
      return true;
    },
    [=](rdv_get_atom, const std::string& key, std::int64_t timeout_ms) -> caf::result<bytes> {
      if (const auto* value = self->state.table.find(key))
        return *value;
      if (timeout_ms <= 0)
        return not_set(key);
      auto rp = self->make_response_promise<bytes>();
      self->state.waiting.emplace(key, rp);
      self->delayed_send(self, std::chrono::milliseconds(timeout_ms), timeout_atom::value, key);
      return rp;
    },
    [=](rdv_add_atom, const std::string& key, std::int64_t delta) -> caf::result<std::int64_t> {
      auto value = self->state.table.add(key, delta);
      if (!value)
        return make_caf_error(value.error());
      if (const auto* text = self->state.table.find(key))
        answer_waiting(self, key, *text);
      return *value;
    },
    [=](rdv_drop_atom, const std::string& prefix) { self->state.table.erase_prefix(prefix); },
    [=](timeout_atom, const std::string& key) {
      answer_waiting(self, key, not_set(key));
    },
  };
}

// Called on the training thread: each call is one blocking request to the rendezvous actor.
class client final : public rendezvous_store {
 public:
  client(caf::actor_system& system, rendezvous_actor rendezvous)
    : system_(system), rendezvous_(std::move(rendezvous)) {}

  expected<void> set(const std::string& key, const bytes& value) override {
    auto ok = ask<bool>(system_, rendezvous_, std::chrono::seconds(30), rdv_set_atom::value, key,
                        value);
    if (!ok)
      return ok.error();
    return {};
  }
  expected<bytes> get(const std::string& key, std::chrono::milliseconds timeout) override {
    // The actor answers with an error at the deadline; the request's own timeout is a little
    // longer so that error, not a lost answer, is what arrives.
    return ask<bytes>(system_, rendezvous_, timeout + std::chrono::seconds(5),
                      rdv_get_atom::value, key, static_cast<std::int64_t>(timeout.count()));
  }
  expected<std::int64_t> add(const std::string& key, std::int64_t delta) override {
    return ask<std::int64_t>(system_, rendezvous_, std::chrono::seconds(30), rdv_add_atom::value,
                             key, delta);
  }

 private:
  caf::actor_system& system_;
  rendezvous_actor rendezvous_;
};

}  // namespace

rendezvous_actor spawn_rendezvous(caf::actor_system& system) {
  return caf::actor_cast<rendezvous_actor>(system.spawn(rendezvous));
}

std::unique_ptr<rendezvous_store> rendezvous_client(caf::actor_system& system,
                                                    rendezvous_actor rendezvous) {
  return std::make_unique<client>(system, std::move(rendezvous));
}

}  // namespace trainyard
