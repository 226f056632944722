// `trainyard scheduler`: the queue, the datasets and the workspace, published on a port behind
// the gate. Built into its own small program, trainyard-control, without LibTorch or OpenCV, so
// a scheduler holds only what the control plane needs (`trainyard scheduler` runs it; see
// nodes/main.cpp). Thin: parse, spawn, publish, wait for a signal, shut down.
#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/blocking_request.hpp"
#include "actors/embedded_yard.hpp"
#include "actors/remote.hpp"
#include "nodes/control/scheduler_command.hpp"
#include "nodes/exit_codes.hpp"

namespace trainyard {

namespace {

std::atomic<bool> stopping{false};

extern "C" void on_scheduler_signal(int) { stopping.store(true); }

int fail(const failure& f) {
  std::cerr << "trainyard scheduler: " << f.message << std::endl;
  return exit_code_of(f.code);
}

}  // namespace

int scheduler_command(const scheduler_command_options& options) {
  const auto& c = options.cluster;
  auto creds = load_credentials(c.secret_file, c.tls_certificate, c.tls_key, c.tls_ca);
  if (!creds)
    return fail(creds.error());
  auto endpoint = parse_endpoint(options.listen);
  if (!endpoint)
    return fail(endpoint.error());
  if (options.max_connections < 1 || options.max_per_address < 1 ||
      options.max_per_address > options.max_connections)
    return fail(make_failure(error_code::invalid_config,
                             "--max-connections and --max-per-address must be at least 1, and "
                             "--max-per-address at most --max-connections; e.g. 256 and 32"));
  door_limits limits;
  limits.max_connections = options.max_connections;
  limits.max_per_address = options.max_per_address;
  caf::actor_system_config cfg;
  configure_remote_system(cfg, *creds);
  caf::actor_system system{cfg};
  scheduler_options sched;
  sched.workspace = options.workspace;
  auto yard = embedded_yard::start(system, sched, "scheduler");
  if (!yard)
    return fail(yard.error());
  auto gate = spawn_gate(system, creds->secret, (*yard)->scheduler(), (*yard)->datasets());
  auto published = publish_gate(system, gate, *endpoint, *creds, limits);
  if (!published) {
    caf::anon_send_exit(gate, caf::exit_reason::user_shutdown);
    return fail(published.error());
  }
  std::signal(SIGINT, on_scheduler_signal);
  std::signal(SIGTERM, on_scheduler_signal);
  std::cout << "trainyard scheduler: listening on " << endpoint->host << ":" << published->port
            << (creds->tls() ? " (TLS)" : "") << ", workspace " << options.workspace
            << std::endl;
  while (!stopping.load())
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::cout << "trainyard scheduler: stopping; running jobs are interrupted at a step boundary "
               "and resume when a scheduler runs on this workspace again"
            << std::endl;
  auto done =
    ask<bool>(system, (*yard)->scheduler(), std::chrono::seconds(60), shutdown_atom::value);
  if (!done)
    std::cerr << "trainyard scheduler: " << done.error().message
              << " (jobs still running resume from their last checkpoint)" << std::endl;
  caf::anon_send_exit(published->door, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(gate, caf::exit_reason::user_shutdown);
  return 0;
}

}  // namespace trainyard
