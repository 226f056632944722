#include "actors/protocol.hpp"

#include <iostream>

#include <caf/all.hpp>

#include "actors/wire_bounds.hpp"

namespace trainyard {

namespace {

// All trainyard errors travel in this category; the context message holds the user text.
constexpr caf::atom_value error_category = caf::atom("trainyard");

}  // namespace

caf::error make_caf_error(error_code code, std::string message) {
  return caf::error(static_cast<std::uint8_t>(code), error_category,
                    caf::make_message(std::move(message)));
}

caf::error make_caf_error(const failure& f) { return make_caf_error(f.code, f.message); }

error_code code_of(const caf::error& err) {
  if (err && err.category() == error_category)
    return static_cast<error_code>(err.code());
  return error_code::none;
}

std::string describe(const caf::error& err) {
  if (!err)
    return "no error";
  if (err.category() == error_category) {
    const auto& ctx = err.context();
    if (ctx.match_elements<std::string>())
      return ctx.get_as<std::string>(0);
    return to_string(static_cast<error_code>(err.code()));
  }
  if (err == caf::sec::request_timeout)
    return "no answer in time (is the scheduler running?)";
  return caf::to_string(err);
}

void register_protocol(caf::actor_system_config& cfg) {
  // Every actor system of trainyard registers the protocol, so this is where the wire bounds are
  // checked (and wire_bounds.cpp linked in): once per process, said only when they are missing.
  static const bool checked = [] {
    auto missing = wire::bounds_not_in_effect();
    if (!missing.empty())
      std::cerr << "trainyard: warning: " << missing
                << " is not in effect (CAF's library does not call trainyard's); a peer reaching "
                   "this process's port could make it allocate gigabytes: use TLS"
                << std::endl;
    return true;
  }();
  (void)checked;
  cfg.add_message_type<dataset_spec>("dataset_spec")
    .add_message_type<split_spec>("split_spec")
    .add_message_type<tool_spec>("tool_spec")
    .add_message_type<training_settings>("training_settings")
    .add_message_type<job_spec>("job_spec")
    .add_message_type<iteration_report>("iteration_report")
    .add_message_type<probe_result>("probe_result")
    .add_message_type<training_outcome>("training_outcome")
    .add_message_type<training_request>("training_request")
    .add_message_type<job_info>("job_info")
    .add_message_type<std::vector<job_info>>("std::vector<job_info>")
    .add_message_type<job_result>("job_result")
    .add_message_type<worker_info>("worker_info")
    .add_message_type<worker_status>("worker_status")
    .add_message_type<std::vector<worker_status>>("std::vector<worker_status>")
    .add_message_type<rank_assignment>("rank_assignment")
    .add_message_type<file_entry>("file_entry")
    .add_message_type<std::vector<file_entry>>("std::vector<file_entry>")
    .add_message_type<std::vector<std::uint8_t>>("std::vector<uint8_t>")
    .add_message_type<split_grant>("split_grant")
    .add_message_type<split_summary>("split_summary")
    .add_message_type<std::vector<job_id>>("std::vector<job_id>")
    .add_message_type<std::vector<std::int64_t>>("std::vector<int64_t>")
    .add_message_type<worker_actor>("worker_actor")
    .add_message_type<rendezvous_actor>("rendezvous_actor")
    .add_message_type<event_listener>("event_listener")
    .add_message_type<scheduler_actor>("scheduler_actor")
    .add_message_type<dataset_actor>("dataset_actor");
  cfg.add_error_category(error_category,
                         [](std::uint8_t code, caf::atom_value, const caf::message& ctx) {
                           std::string text = to_string(static_cast<error_code>(code));
                           if (ctx.match_elements<std::string>())
                             text += ": " + ctx.get_as<std::string>(0);
                           return text;
                         });
}

}  // namespace trainyard
