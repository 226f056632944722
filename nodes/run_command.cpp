// `trainyard run CAMPAIGN.ini`: the whole system in this process. Declares the campaign's datasets
// and splits, submits its jobs (a job already known to the workspace by name is found again, so a
// rerun resumes unfinished jobs and skips finished ones), shows live progress, waits for every
// job, and prints what each job reported, its test-set metrics included. Ctrl-C interrupts running
// jobs at a step boundary; their last checkpoints stay, and the next run resumes them.
#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <thread>
#include <unistd.h>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/blocking_request.hpp"
#include "actors/console_progress.hpp"
#include "actors/embedded_yard.hpp"
#include "actors/worker.hpp"
#include "config/campaign.hpp"
#include "nodes/commands.hpp"
#include "nodes/job_json.hpp"
#include "runtime/data/splits.hpp"
#include "runtime/policy/devices.hpp"
#include "runtime/policy/placement.hpp"
#include "runtime/tasks/kinds.hpp"
#include "runtime/train/data_check.hpp"
#include "runtime/train/engine.hpp"

namespace trainyard {

namespace {

std::atomic<bool> interrupted{false};

extern "C" void on_sigint(int) { interrupted.store(true); }

int report_failure(const std::string& what, const failure& f) {
  std::cerr << "trainyard run: " << what << ": " << f.message << std::endl;
  return exit_code_of(f.code);
}

// Submits the campaign's jobs in file order. A job the yard refuses is reported and sets the exit
// code to 1; the others run.
std::vector<job_id> submit_jobs(embedded_yard& yard, const campaign& c,
                                std::map<job_id, const job_spec*>& spec_of, int& exit_code) {
  std::vector<job_id> ids;
  // The yard this command trains on: one slot, this machine's CPU worker.
  const std::vector<slot_view> slots(1);
  for (const auto& job : c.jobs) {
    if (!placeable(placement_need{job.settings.devices}, slots)) {
      std::cerr << "trainyard run: job '" << job.name << "' refused: devices = "
                << job.settings.devices << " but 'trainyard run' trains on this machine's one "
                << "CPU worker; set devices = 1, or submit the campaign to a cluster "
                   "(trainyard scheduler / node / submit)"
                << std::endl;
      exit_code = 1;
      continue;
    }
    auto id = yard.submit(job);
    if (!id) {
      std::cerr << "trainyard run: job '" << job.name << "' refused: " << id.error().message
                << std::endl;
      exit_code = 1;
      continue;
    }
    ids.push_back(*id);
    spec_of[*id] = &job;
  }
  return ids;
}

// Waits for every job: the answers arrive as messages when the jobs finish (no polling); the
// receive timeout only lets this thread notice Ctrl-C. Fewer results than jobs: interrupted.
std::map<job_id, job_result> wait_for_jobs(caf::actor_system& system,
                                           const scheduler_actor& scheduler,
                                           const std::vector<job_id>& ids, int& exit_code) {
  std::map<job_id, job_result> results;
  caf::scoped_actor self{system};
  for (auto id : ids)
    self->send(scheduler, wait_atom::value, id, std::int64_t{0});
  while (results.size() < ids.size() && !interrupted.load()) {
    self->receive([&](job_result& r) { results[r.id] = std::move(r); },
                  [&](caf::error& err) {
                    std::cerr << "trainyard run: " << describe(err) << std::endl;
                    exit_code = 1;
                    interrupted.store(true);
                  },
                  caf::after(std::chrono::milliseconds(200)) >> [] {});
  }
  return results;
}

// The test-set evaluation a finished job reported: its final metrics named test_*, without the
// prefix; none when the job evaluated no test set.
std::optional<evaluation> reported_test(const job_result& r, const std::string& kind,
                                        std::int64_t images) {
  const std::string prefix = "test_";
  evaluation e;
  e.kind = kind;
  e.images = images;
  for (const auto& [name, value] : r.final_metrics)
    if (name.compare(0, prefix.size(), prefix) == 0)
      e.metrics[name.substr(prefix.size())] = value;
  if (e.metrics.empty())
    return std::nullopt;
  if (auto accuracy = e.metrics.find("accuracy"); accuracy != e.metrics.end())
    e.accuracy = accuracy->second;
  return e;
}

// The number of test images of a split (0 when the split cannot be read).
std::int64_t test_images(caf::actor_system& system, const dataset_actor& datasets,
                         const std::string& split) {
  auto grant = ask<split_grant>(system, datasets, caf::infinite, split_atom::value, split, false);
  return grant ? static_cast<std::int64_t>(images_in(grant->assignment, test_set).size()) : 0;
}

// One job's result as `run --json` prints it, with the test metrics the job reported.
nlohmann::json result_json(const job_result& r, const std::optional<evaluation>& test) {
  nlohmann::json jr = to_json(r);
  if (test) {
    // Every kind's test metrics; classify's accuracy as before (other kinds have none, and a 0
    // there would read as a result).
    jr["test"] = {{"images", test->images}, {"metrics", test->metrics}};
    if (reports_confusion_matrix(test->kind))
      jr["test"]["accuracy"] = test->accuracy;
  }
  return jr;
}

// Prints every job's outcome and the test-set metrics it reported (the engine evaluated the test
// set once when the job finished; nothing is evaluated here). Returns 1 when a job failed.
int report_results(caf::actor_system& system, const embedded_yard& yard,
                   const std::vector<job_id>& ids, std::map<job_id, job_result>& results,
                   const std::map<job_id, const job_spec*>& spec_of, const run_options& options,
                   const std::string& workspace) {
  int exit_code = 0;
  nlohmann::json out = nlohmann::json::array();
  if (!options.json)
    std::cout << "\n";
  for (auto id : ids) {
    const job_result& r = results[id];
    const job_spec& spec = *spec_of.at(id);
    if (r.state == job_state::failed)
      exit_code = 1;
    if (!options.json)
      std::printf("job %-18s %-9s iterations %d (best %d)%s%s\n", r.name.c_str(),
                  to_string(r.state), r.trained_iterations, r.best_iteration,
                  r.message.empty() ? "" : ": ", r.message.c_str());
    std::optional<evaluation> test;
    const std::int64_t tested = r.trained_iterations > 0
                                  ? test_images(system, yard.datasets(), spec.split)
                                  : 0;
    if (r.trained_iterations > 0)
      test = reported_test(r, spec.tool.kind, tested);
    if (r.trained_iterations > 0 && tested == 0 && !options.json)
      std::printf("  split '%s' has no test images: the tool was not tested\n",
                  spec.split.c_str());
    if (test && !options.json) {
      print_evaluation(spec.tool.name, "test", *test, false);
      if (reports_confusion_matrix(test->kind))
        std::printf("  per class and confusion matrix: trainyard evaluate %s -w %s\n",
                    spec.tool.name.c_str(), workspace.c_str());
    }
    out.push_back(result_json(r, test));
  }
  if (options.json)
    std::cout << out.dump() << std::endl;
  else
    std::cout << "workspace: " << workspace << " (trainyard queue -w " << workspace
              << " lists the jobs)" << std::endl;
  return exit_code;
}

}  // namespace

std::string inheritance_note(const job_info& job) {
  if (job.inherited_settings.empty())
    return {};
  return "job '" + job.name + "' continues tool '" + job.tool + "' with its previous job's " +
         job.inherited_settings + " (the settings its campaign section does not set)";
}

int check_campaign_files(const campaign& c, bool json, bool report, const std::string& who) {
  const std::vector<dataset_spec> used = datasets_in_use(c.datasets, c.jobs);
  const bool terminal = ::isatty(STDERR_FILENO) == 1;
  const data_check found = check_dataset_files(
      used, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())),
      [terminal, &who](std::int64_t done, std::int64_t total) {
        if (terminal)
          std::fprintf(stderr, "\r%s: checking the datasets' files: %lld/%lld", who.c_str(),
                       static_cast<long long>(done), static_cast<long long>(total));
      });
  if (terminal && found.checked > 1)
    std::fprintf(stderr, "\r\033[K");
  if (json) {
    auto unreadable = nlohmann::json::array();
    for (const failure& f : found.unreadable)
      unreadable.push_back({{"error", to_string(f.code)}, {"message", f.message}});
    std::cout << nlohmann::json{{"datasets", used.size()}, {"checked", found.checked},
                                {"unreadable", unreadable}}
                     .dump()
              << std::endl;
  } else if (!found.unreadable.empty()) {
    std::cerr << who << ": " << found.unreadable.size() << " file"
              << (found.unreadable.size() == 1 ? "" : "s")
              << " of the campaign's datasets cannot be used; fix or remove "
              << (found.unreadable.size() == 1 ? "it" : "them") << " (nothing was queued):\n";
    for (const failure& f : found.unreadable)
      std::cerr << "  " << f.message << "\n";
    std::cerr << std::flush;
  } else if (report) {
    std::printf("%lld files of %zu dataset%s decode; nothing to fix\n",
                static_cast<long long>(found.checked), used.size(), used.size() == 1 ? "" : "s");
  }
  return found.unreadable.empty() ? 0 : 1;
}

int check_command(const check_options& options) {
  auto campaign = load_campaign(options.campaign);
  if (!campaign) {
    std::cerr << "trainyard check: " << campaign.error().message << std::endl;
    return exit_code_of(campaign.error().code);
  }
  return check_campaign_files(*campaign, options.json, true, "trainyard check");
}

namespace {

// The one worker `run` trains on: the CPU, or the CUDA device --devices names.
expected<worker_info> run_worker(const std::string& devices) {
  std::string note;
  auto names = devices_to_train_on(devices, torch_device_support(), note);
  if (!names)
    return names.error();
  if (names->size() != 1)
    return make_failure(error_code::invalid_config,
                        "--devices " + devices + ": run trains on one device; name one (cpu or "
                        "cuda:N), or start a scheduler and a node with --devices for several");
  if (!note.empty())
    std::cerr << "trainyard run: " << note << std::endl;
  return device_worker_info(names->front(), 0);
}

}  // namespace

int run_command(const run_options& options) {
  // A device this build or machine cannot train on is refused before anything is read.
  const auto device = run_worker(options.devices);
  if (!device) {
    std::cerr << "trainyard run: " << device.error().message << std::endl;
    return exit_code_of(device.error().code);
  }
  auto campaign = load_campaign(options.campaign);
  if (!campaign) {
    std::cerr << "trainyard run: " << campaign.error().message << std::endl;
    return exit_code_of(campaign.error().code);
  }
  // Every file is decoded once before anything is declared: a corrupt image is found now, with
  // every other one, not when its job has locked its split and started training.
  if (int unusable = check_campaign_files(*campaign, false, false, "trainyard run"); unusable)
    return unusable;
  scheduler_options sched;
  sched.workspace = options.workspace.empty() ? campaign->workspace : options.workspace;

  caf::actor_system_config cfg;
  configure_actor_system(cfg);
  caf::actor_system system{cfg};
  auto yard = embedded_yard::start(system, sched, "run");
  if (!yard)
    return report_failure("cannot open the workspace", yard.error());
  if (auto ok = (*yard)->declare(campaign->datasets, campaign->splits); !ok)
    return report_failure("cannot declare the campaign's data", ok.error());

  int exit_code = 0;
  std::map<job_id, const job_spec*> spec_of;
  const std::vector<job_id> ids = submit_jobs(**yard, *campaign, spec_of, exit_code);
  if (ids.empty())
    return exit_code;
  if (auto jobs = (*yard)->list())
    for (const auto& j : *jobs)
      if (auto note = inheritance_note(j);
          !note.empty() && std::find(ids.begin(), ids.end(), j.id) != ids.end())
        (options.json ? std::cerr : std::cout) << note << std::endl;

  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint);
  // With --json, stdout carries only the results; progress goes to stderr.
  const int progress_fd = options.json ? STDERR_FILENO : STDOUT_FILENO;
  progress_output output;
  output.out = options.json ? &std::cerr : &std::cout;
  output.redraw = !options.plain && isatty(progress_fd);
  output.columns = [progress_fd] { return terminal_columns(progress_fd); };
  const bool redraw = output.redraw;
  auto progress = spawn_console_progress(system, (*yard)->scheduler(), ids, std::move(output));
  // Draws the last frame and waits until the display writes nothing more, so that what is
  // printed next is not drawn over.
  auto close_progress = [&] {
    ask<bool>(system, progress, std::chrono::seconds(10), close_atom::value);
  };
  if (auto worker = (*yard)->add_worker(make_torch_engine(), *device); !worker) {
    close_progress();
    return report_failure("cannot start the " + device->name + " worker", worker.error());
  }

  auto results = wait_for_jobs(system, (*yard)->scheduler(), ids, exit_code);
  if (results.size() < ids.size()) {
    // On a terminal the display shows the note under its lines (printed past them, it would be
    // drawn over); the jobs it shows go back to the queue as they are saved.
    const std::string saving = "trainyard run: interrupted; saving running jobs at a step "
                               "boundary...";
    if (redraw)
      caf::anon_send(progress, note_atom::value, saving);
    else
      std::cerr << "\n" << saving << std::endl;
    (*yard)->shutdown();
    close_progress();
    std::cerr << "trainyard run: stopped. Unfinished jobs stay queued in " << sched.workspace
              << "; run the same command again to resume them." << std::endl;
    return interrupted_exit_code;
  }
  close_progress();
  const int reported =
      report_results(system, **yard, ids, results, spec_of, options, sched.workspace);
  return std::max(exit_code, reported);
}

}  // namespace trainyard
