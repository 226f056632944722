// `trainyard run CAMPAIGN.ini`: the whole system in this process. Declares the campaign's datasets
// and splits, submits its jobs (a job already known to the workspace by name is found again, so a
// rerun resumes unfinished jobs and skips finished ones), shows live progress, waits for every
// job, and prints each trained tool's test-set metrics. Ctrl-C interrupts running jobs at a step
// boundary; their last checkpoints stay, and the next run resumes them.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>
#include <unistd.h>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/blocking_request.hpp"
#include "actors/console_progress.hpp"
#include "actors/embedded_yard.hpp"
#include "config/campaign.hpp"
#include "nodes/commands.hpp"
#include "runtime/policy/placement.hpp"
#include "runtime/train/engine.hpp"

namespace trainyard {

namespace {

std::atomic<bool> interrupted{false};

extern "C" void on_sigint(int) { interrupted.store(true); }

int report_failure(const std::string& what, const failure& f) {
  std::cerr << "trainyard run: " << what << ": " << f.message << std::endl;
  return exit_code_of(f.code);
}

}  // namespace

int run_command(const run_options& options) {
  auto campaign = load_campaign(options.campaign);
  if (!campaign) {
    std::cerr << "trainyard run: " << campaign.error().message << std::endl;
    return exit_code_of(campaign.error().code);
  }
  scheduler_options sched;
  sched.workspace = options.workspace.empty() ? campaign->workspace : options.workspace;

  caf::actor_system_config cfg;
  configure_actor_system(cfg);
  caf::actor_system system{cfg};
  auto yard = embedded_yard::start(system, sched);
  if (!yard)
    return report_failure("cannot open the workspace", yard.error());
  if (auto ok = (*yard)->declare(campaign->datasets, campaign->splits); !ok)
    return report_failure("cannot declare the campaign's data", ok.error());

  int exit_code = 0;
  std::vector<job_id> ids;
  std::map<job_id, const job_spec*> spec_of;
  // The yard this command trains on: one slot, this machine's CPU worker.
  const std::vector<slot_view> slots(1);
  for (const auto& job : campaign->jobs) {
    if (!placeable(placement_need{job.settings.devices}, slots)) {
      std::cerr << "trainyard run: job '" << job.name << "' refused: devices = "
                << job.settings.devices << " but 'trainyard run' trains on this machine's one "
                << "CPU worker; set devices = 1, or submit the campaign to a cluster "
                   "(trainyard scheduler / node / submit)"
                << std::endl;
      exit_code = 1;
      continue;
    }
    auto id = (*yard)->submit(job);
    if (!id) {
      std::cerr << "trainyard run: job '" << job.name << "' refused: " << id.error().message
                << std::endl;
      exit_code = 1;
      continue;
    }
    ids.push_back(*id);
    spec_of[*id] = &job;
  }
  if (ids.empty())
    return exit_code;

  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint);
  // With --json, stdout carries only the results; progress goes to stderr.
  auto& progress_out = options.json ? std::cerr : std::cout;
  bool redraw = !options.plain && isatty(options.json ? STDERR_FILENO : STDOUT_FILENO);
  auto progress = spawn_console_progress(system, (*yard)->scheduler(), ids, redraw, progress_out);
  if (auto worker = (*yard)->add_worker(make_torch_engine()); !worker)
    return report_failure("cannot start the CPU worker", worker.error());

  // Wait for every job: the answers arrive as messages when the jobs finish (no polling); the
  // receive timeout only lets this thread notice Ctrl-C.
  std::map<job_id, job_result> results;
  {
    caf::scoped_actor self{system};
    for (auto id : ids)
      self->send((*yard)->scheduler(), wait_atom::value, id, std::int64_t{0});
    while (results.size() < ids.size() && !interrupted.load()) {
      self->receive([&](job_result& r) { results[r.id] = std::move(r); },
                    [&](caf::error& err) {
                      std::cerr << "trainyard run: " << describe(err) << std::endl;
                      exit_code = 1;
                      interrupted.store(true);
                    },
                    caf::after(std::chrono::milliseconds(200)) >> [] {});
    }
  }
  if (results.size() < ids.size()) {
    std::cerr << "\ntrainyard run: interrupted; saving running jobs at a step boundary..."
              << std::endl;
    (*yard)->shutdown();
    caf::anon_send_exit(progress, caf::exit_reason::user_shutdown);
    std::cerr << "trainyard run: stopped. Unfinished jobs stay queued in " << sched.workspace
              << "; run the same command again to resume them." << std::endl;
    return interrupted_exit_code;
  }
  caf::anon_send_exit(progress, caf::exit_reason::user_shutdown);

  // Test-set metrics of every tool this campaign trained.
  nlohmann::json out = nlohmann::json::array();
  std::set<std::string> evaluated;
  if (!options.json)
    std::cout << "\n";
  for (auto id : ids) {
    const auto& r = results[id];
    const job_spec* spec = spec_of[id];
    if (r.state == job_state::failed)
      exit_code = 1;
    if (!options.json)
      std::printf("job %-18s %-9s iterations %d (best %d)%s%s\n", r.name.c_str(),
                  to_string(r.state), r.trained_iterations, r.best_iteration,
                  r.message.empty() ? "" : ": ", r.message.c_str());
    nlohmann::json jr = {{"id", r.id},       {"job", r.name},
                         {"state", to_string(r.state)},
                         {"trained_iterations", r.trained_iterations},
                         {"best_iteration", r.best_iteration},
                         {"final_metrics", r.final_metrics},
                         {"message", r.message},
                         {"error", to_string(r.error)}};
    if (r.trained_iterations > 0 && !evaluated.count(spec->tool.name)) {
      evaluated.insert(spec->tool.name);
      auto grant = ask<split_grant>(system, (*yard)->datasets(), caf::infinite, split_atom::value,
                                    spec->split, false);
      auto e = grant ? evaluate_tool(sched.workspace, spec->tool.name, grant->dataset,
                                     grant->assignment, test_set)
                     : expected<evaluation>(grant.error());
      if (!e) {
        std::cerr << "trainyard run: cannot evaluate " << spec->tool.name << ": "
                  << e.error().message << std::endl;
      } else {
        // Every kind's test metrics; classify's accuracy fields as before (other kinds have
        // none, and a 0 there would read as a result).
        jr["test"] = {{"images", e->images}, {"metrics", e->metrics}};
        if (e->kind == tool_kind::classify) {
          jr["test"]["accuracy"] = e->accuracy;
          jr["test"]["per_class_accuracy"] = e->per_class_accuracy;
        }
        if (!options.json)
          print_evaluation(spec->tool.name, "test", *e, false);
      }
    }
    out.push_back(jr);
  }
  if (options.json)
    std::cout << out.dump() << std::endl;
  else
    std::cout << "workspace: " << sched.workspace << " (trainyard queue -w " << sched.workspace
              << " lists the jobs)" << std::endl;
  return exit_code;
}

}  // namespace trainyard
