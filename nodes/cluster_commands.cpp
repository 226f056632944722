// The cluster's commands: `scheduler` (the queue, published on a port behind the gate), `node`
// (one worker per device, joined to a scheduler, rejoining by itself when the scheduler comes
// back), and the clients `submit`, `wait` and `queue --scheduler`. Thin: parse, connect, ask,
// print. The roles themselves live in actors/.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <thread>
#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/blocking_request.hpp"
#include "actors/embedded_yard.hpp"
#include "actors/remote.hpp"
#include "actors/worker.hpp"
#include "config/campaign.hpp"
#include "nodes/commands.hpp"
#include "nodes/job_json.hpp"
#include "runtime/policy/devices.hpp"
#include "runtime/train/engine.hpp"

namespace trainyard {

namespace {

std::atomic<bool> stopping{false};

extern "C" void on_stop_signal(int) { stopping.store(true); }

void catch_stop_signals() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

int fail(const std::string& command, const failure& f) {
  std::cerr << "trainyard " << command << ": " << f.message << std::endl;
  return exit_code_of(f.code);
}

expected<cluster_credentials> credentials_of(const cluster_options& c) {
  return load_credentials(c.secret_file, c.tls_certificate, c.tls_key, c.tls_ca);
}

// A client's actor system and its connection to the scheduler.
struct client {
  cluster_credentials creds;
  cluster_endpoint endpoint;
  std::unique_ptr<caf::actor_system_config> cfg;
  std::unique_ptr<caf::actor_system> system;
  cluster_handles handles;
};

// How long a client keeps trying a scheduler it cannot reach before it gives up (exit code 6).
constexpr std::chrono::seconds unreachable_patience{10};

expected<std::unique_ptr<client>> connect_client(const cluster_options& options) {
  auto c = std::make_unique<client>();
  auto creds = credentials_of(options);
  if (!creds)
    return creds.error();
  auto endpoint = parse_endpoint(options.scheduler);
  if (!endpoint)
    return endpoint.error();
  c->creds = std::move(*creds);
  c->endpoint = *endpoint;
  c->cfg = std::make_unique<caf::actor_system_config>();
  configure_remote_system(*c->cfg, c->creds);
  c->system = std::make_unique<caf::actor_system>(*c->cfg);
  // A scheduler that is restarting (or a cable) gets a few seconds, counted down on stderr; a
  // refusal (secret, version) is final at once.
  const auto deadline = std::chrono::steady_clock::now() + unreachable_patience;
  auto handles = connect_scheduler(*c->system, c->endpoint, c->creds);
  for (bool first = true; !handles && handles.error().code == error_code::interrupted;
       first = false) {
    const auto left_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           deadline - std::chrono::steady_clock::now())
                           .count();
    if (left_ms <= 0)
      break;
    const long long left_s = (left_ms + 999) / 1000;
    if (first)
      std::cerr << "trainyard: " << handles.error().message << "; retrying, " << left_s
                << " s left" << std::endl;
    else
      std::cerr << "trainyard: still no scheduler at " << to_string(c->endpoint) << "; "
                << left_s << " s left" << std::endl;
    std::this_thread::sleep_for(std::chrono::seconds(1));
    handles = connect_scheduler(*c->system, c->endpoint, c->creds);
  }
  if (!handles)
    return handles.error();
  c->handles = std::move(*handles);
  return c;
}

// A job given by id or by name.
expected<job_id> resolve_job(client& c, const std::string& text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos)
    return static_cast<job_id>(std::stoull(text));
  auto jobs = ask<std::vector<job_info>>(*c.system, c.handles.scheduler, std::chrono::seconds(30),
                                         list_atom::value);
  if (!jobs)
    return jobs.error();
  for (const auto& j : *jobs)
    if (j.name == text)
      return j.id;
  return make_failure(error_code::unknown_job,
                      "no job named '" + text + "' (trainyard queue --scheduler " +
                        to_string(c.endpoint) + " lists them)");
}

// Asks through `c`; when the scheduler goes away while answering (killed, restarted), reconnects
// as connect_client does (counting down, then exit 6) and asks again, so that a wait outlives a
// scheduler's restart.
template <class AskOnce>
auto asking_again(const char* command, expected<std::unique_ptr<client>>& c,
                  const cluster_options& options, AskOnce&& ask_once)
  -> decltype(ask_once(**c)) {
  for (;;) {
    auto answer = ask_once(**c);
    if (answer || answer.error().code != error_code::interrupted)
      return answer;
    std::cerr << "trainyard " << command << ": lost the scheduler at "
              << to_string((*c)->endpoint) << " (" << answer.error().message
              << "); reconnecting" << std::endl;
    auto again = connect_client(options);
    if (!again)
      return again.error();
    c = std::move(again);
  }
}

nlohmann::json to_json(const job_info& j) {
  return {{"id", j.id},
          {"name", j.name},
          {"tool", j.tool},
          {"split", j.split},
          {"state", to_string(j.state)},
          {"queue_position", j.queue_position},
          {"run_order", j.run_order},
          {"iteration", j.iteration},
          {"target_iterations", j.target_iterations},
          {"best_iteration", j.best_iteration},
          {"fraction", j.fraction},
          {"eta_seconds", j.eta_seconds},
          {"batch_size", j.batch_size},
          {"last_metrics", j.last_metrics},
          {"final_metrics", j.final_metrics},
          {"monitored_name", j.monitored_name},
          {"message", j.message}};
}

void print_jobs(std::vector<job_info> jobs, bool json) {
  // Queued jobs in queue order, then running and finished ones in the order they started.
  std::stable_sort(jobs.begin(), jobs.end(), [](const job_info& a, const job_info& b) {
    auto key = [](const job_info& j) {
      return j.state == job_state::queued ? std::make_pair(0, j.queue_position)
                                          : std::make_pair(j.run_order > 0 ? 1 : 2, j.run_order);
    };
    return key(a) < key(b);
  });
  if (json) {
    auto out = nlohmann::json::array();
    for (const auto& j : jobs)
      out.push_back(to_json(j));
    std::cout << out.dump() << std::endl;
    return;
  }
  const int name_width = column_width(jobs, 18, [](const job_info& j) { return j.name; });
  const int tool_width = column_width(jobs, 14, [](const job_info& j) { return j.tool; });
  std::printf("%4s  %-*s %-*s %-10s %5s %4s %9s %6s  %-20s  %s\n", "id", name_width, "job",
              tool_width, "tool", "state", "queue", "ran", "iteration", "done", "monitored",
              "message");
  for (const auto& j : jobs) {
    // The latest value of the metric the tool's kind monitors, once an iteration reported it.
    auto value = j.last_metrics.find(j.monitored_name);
    std::printf("%4llu  %-*s %-*s %-10s %5s %4s %4d/%-4d %5.0f%%  %-20s  %s\n",
                static_cast<unsigned long long>(j.id), name_width, j.name.c_str(), tool_width,
                j.tool.c_str(),
                to_string(j.state),
                j.queue_position >= 0 ? std::to_string(j.queue_position + 1).c_str() : "-",
                j.run_order > 0 ? std::to_string(j.run_order).c_str() : "-", j.iteration,
                j.target_iterations, 100 * j.fraction,
                value != j.last_metrics.end() ? metric_text(value->first, value->second).c_str()
                                              : "-",
                j.message.c_str());
  }
}

// The node's --threads for jobs that leave `threads` at 0 (all cores): several nodes sharing a
// machine can split its cores.
class node_engine final : public training_engine {
 public:
  node_engine(std::shared_ptr<training_engine> inner, int threads)
    : inner_(std::move(inner)), threads_(threads) {}
  training_outcome train(const training_request& request, training_observer& observer) override {
    if (threads_ <= 0 || request.spec.settings.threads > 0)
      return inner_->train(request, observer);
    auto copy = request;
    copy.spec.settings.threads = threads_;
    return inner_->train(copy, observer);
  }

 private:
  std::shared_ptr<training_engine> inner_;
  int threads_;
};

// The node's workers, one per device of --devices, as they register: a GPU's name and memory,
// and the CPU threads each decodes and augments with.
expected<std::vector<worker_info>> node_workers(const node_options& options,
                                                const std::string& name) {
  std::string note;
  auto devices = devices_to_train_on(options.devices, torch_device_support(), note);
  if (!devices)
    return devices.error();
  if (!note.empty())
    std::cerr << "trainyard node " << name << ": " << note << std::endl;
  // A GPU's worker decodes and augments with its share of the cores; the CPU's trains with all.
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int per_gpu = options.threads > 0 ? options.threads
                                          : std::max(1, cores / static_cast<int>(devices->size()));
  std::vector<worker_info> infos;
  for (const std::string& device : *devices) {
    auto info = device_worker_info(device, device == "cpu" ? options.threads : per_gpu);
    if (!info)
      return info.error();
    info->node = name;
    info->address = options.address;
    infos.push_back(std::move(*info));
  }
  return infos;
}

std::string host_name() {
  char buf[256] = {0};
  gethostname(buf, sizeof(buf) - 1);
  return buf;
}

}  // namespace

int node_command(const node_options& options) {
  auto creds = credentials_of(options.cluster);
  if (!creds)
    return fail("node", creds.error());
  auto endpoint = parse_endpoint(options.cluster.scheduler);
  if (!endpoint)
    return fail("node", endpoint.error());
  auto name = options.name.empty() ? host_name() + ":" + std::to_string(getpid()) : options.name;
  const auto infos = node_workers(options, name);
  if (!infos)
    return fail("node", infos.error());
  caf::actor_system_config cfg;
  configure_remote_system(cfg, *creds);
  caf::actor_system system{cfg};
  catch_stop_signals();
  tune_malloc_for_training();
  bool said_waiting = false;
  auto backoff = std::chrono::milliseconds(200);
  while (!stopping.load()) {
    auto handles = connect_scheduler(system, *endpoint, *creds);
    if (!handles) {
      if (handles.error().code == error_code::invalid_request)
        return fail("node", handles.error());  // refused (secret, version): retrying won't help
      if (!said_waiting)
        std::cerr << "trainyard node " << name << ": " << handles.error().message
                  << "; retrying" << std::endl;
      said_waiting = true;
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
      continue;
    }
    said_waiting = false;
    backoff = std::chrono::milliseconds(200);
    // One worker per device, each with its own engine (an engine trains one job at a time).
    file_mirror_options files;
    files.datasets = handles->datasets;
    files.cache = options.cache;
    files.always_fetch = options.fetch_files;
    std::vector<worker_actor> workers;
    std::string refused;
    for (const worker_info& info : *infos) {
      auto engine = std::make_shared<node_engine>(make_torch_engine(), options.threads);
      auto worker = spawn_worker(system, engine, info, files);
      workers.push_back(worker);
      auto index = ask<std::uint32_t>(system, handles->scheduler, std::chrono::seconds(10),
                                       register_atom::value, worker, info);
      if (!index) {
        refused = index.error().message;
        break;
      }
      std::cout << "trainyard node " << name << ": joined the scheduler at "
                << to_string(*endpoint) << " with worker " << info.name
                << (info.device_name.empty() ? "" : " (" + info.device_name + ")") << " (slot "
                << *index << ")" << std::endl;
    }
    if (!refused.empty()) {
      for (auto& worker : workers)
        caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
      std::cerr << "trainyard node " << name << ": cannot register: " << refused << std::endl;
      std::this_thread::sleep_for(backoff);
      continue;
    }
    bool lost = false;
    {
      caf::scoped_actor self{system};
      self->monitor(handles->scheduler);
      while (!stopping.load() && !lost)
        self->receive([&](caf::down_msg&) { lost = true; },
                      caf::after(std::chrono::milliseconds(200)) >> [] {});
    }
    // Either way the worker goes: it stops its job at a step boundary (the checkpoint of the last
    // iteration stays), and a restarted scheduler requeues the job to resume from it.
    for (auto& worker : workers)
      caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
    if (lost)
      std::cerr << "trainyard node " << name << ": the scheduler went away; reconnecting"
                << std::endl;
  }
  return 0;
}

int submit_command(const submit_options& options) {
  auto campaign = load_campaign(options.campaign);
  if (!campaign)
    return fail("submit", campaign.error());
  auto c = connect_client(options.cluster);
  if (!c)
    return fail("submit", c.error());
  auto& system = *(*c)->system;
  auto& handles = (*c)->handles;
  if (auto ok = declare_data(system, handles.datasets, campaign->datasets, campaign->splits); !ok)
    return fail("submit", ok.error());
  int exit_code = 0;
  auto out = nlohmann::json::array();
  for (const auto& job : campaign->jobs) {
    auto id = ask<job_id>(system, handles.scheduler, std::chrono::seconds(30), submit_atom::value,
                          job);
    if (!id && id.error().code == error_code::interrupted) {
      // The scheduler went away: what it acknowledged is saved; the rest was never queued.
      const auto queued = std::count_if(out.begin(), out.end(),
                                        [](const nlohmann::json& j) { return j.contains("id"); });
      std::cerr << "trainyard submit: lost the scheduler at " << to_string((*c)->endpoint)
                << " while submitting job '" << job.name << "' (" << id.error().message
                << "); " << queued << " of " << campaign->jobs.size()
                << " jobs were queued before it. Submit the campaign again once the scheduler "
                   "is back: jobs already queued keep their place"
                << std::endl;
      if (options.json)
        std::cout << out.dump() << std::endl;
      return exit_code_of(error_code::interrupted);
    }
    if (!id) {
      std::cerr << "trainyard submit: job '" << job.name << "' refused: " << id.error().message
                << std::endl;
      out.push_back({{"job", job.name}, {"error", id.error().message}});
      exit_code = 1;
      continue;
    }
    out.push_back({{"job", job.name}, {"id", *id}});
    if (!options.json)
      std::cout << "job " << job.name << " queued as " << *id << std::endl;
    if (job.continue_training)
      if (auto info = ask<job_info>(system, handles.scheduler, std::chrono::seconds(30),
                                    progress_atom::value, *id))
        if (auto note = inheritance_note(*info); !note.empty()) {
          (options.json ? std::cerr : std::cout) << note << std::endl;
          out.back()["inherited"] = info->inherited_settings;
        }
  }
  if (options.json)
    std::cout << out.dump() << std::endl;
  return exit_code;
}

int wait_command(const wait_options& options) {
  auto c = connect_client(options.cluster);
  if (!c)
    return fail("wait", c.error());
  auto id = resolve_job(**c, options.job);
  if (!id)
    return fail("wait", id.error());
  // --timeout counts from the start, across reconnections: each ask gets what is left (at least
  // 1 ms, which the scheduler answers as timed out).
  const auto timeout_ms = static_cast<std::int64_t>(options.timeout_s * 1000);
  const auto started = std::chrono::steady_clock::now();
  const auto left_ms = [&]() -> std::int64_t {
    if (timeout_ms == 0)
      return 0;
    const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - started)
                         .count();
    return std::max<std::int64_t>(1, timeout_ms - spent);
  };
  if (options.iteration) {
    auto report = asking_again("wait", c, options.cluster, [&](client& now) {
      return ask<iteration_report>(*now.system, now.handles.scheduler, caf::infinite,
                                   wait_iter_atom::value, *id, left_ms());
    });
    if (!report)
      return fail("wait", report.error());
    if (options.json)
      std::cout << nlohmann::json{{"id", report->job},
                                  {"tool", report->tool},
                                  {"iteration", report->iteration},
                                  {"target_iterations", report->target_iterations},
                                  {"metrics", report->metrics},
                                  {"best_iteration", report->best_iteration},
                                  {"best_value", report->best_value},
                                  {"monitored_name", report->monitored_name},
                                  {"monitored_value", report->monitored_value},
                                  {"early_stop", report->early_stop},
                                  {"stop_reason", report->stop_reason}}
                     .dump()
                << std::endl;
    else
      std::cout << "job " << *id << " iteration " << report->iteration << " of at most "
                << report->target_iterations << " (best " << report->best_iteration << ")"
                << std::endl;
    return 0;
  }
  auto result = asking_again("wait", c, options.cluster, [&](client& now) {
    return ask<job_result>(*now.system, now.handles.scheduler, caf::infinite, wait_atom::value,
                           *id, left_ms());
  });
  if (!result)
    return fail("wait", result.error());
  if (options.json)
    std::cout << to_json(*result).dump() << std::endl;
  else
    std::cout << "job " << result->name << " " << to_string(result->state) << " after "
              << result->trained_iterations << " iterations (best " << result->best_iteration
              << ")" << (result->message.empty() ? "" : ": " + result->message) << std::endl;
  return exit_code_of(result->state);
}

int online_queue_command(const queue_options& options) {
  auto c = connect_client(options.cluster);
  if (!c)
    return fail("queue", c.error());
  auto& system = *(*c)->system;
  auto& scheduler = (*c)->handles.scheduler;
  auto timeout = std::chrono::seconds(30);
  if (options.action == "list") {
    auto jobs = ask<std::vector<job_info>>(system, scheduler, timeout, list_atom::value);
    if (!jobs)
      return fail("queue", jobs.error());
    print_jobs(std::move(*jobs), options.json);
    return 0;
  }
  auto id = resolve_job(**c, options.job);
  if (!id)
    return fail("queue", id.error());
  if (options.action == "move" || options.action == "top") {
    auto moved = options.action == "top"
                   ? ask<job_info>(system, scheduler, timeout, top_atom::value, *id)
                   : ask<job_info>(system, scheduler, timeout, move_atom::value, *id,
                                   static_cast<std::uint32_t>(options.position - 1));
    if (!moved)
      return fail("queue", moved.error());
    if (options.json)
      std::cout << to_json(*moved).dump() << std::endl;
    else
      std::cout << "job " << moved->name << " is now at position " << moved->queue_position + 1
                << " of the queue" << std::endl;
    return 0;
  }
  auto info = options.action == "cancel"
                ? ask<job_info>(system, scheduler, timeout, cancel_atom::value, *id)
                : ask<job_info>(system, scheduler, timeout, stop_atom::value, *id,
                                options.reason.empty() ? std::string("stopped by request")
                                                       : options.reason);
  if (!info)
    return fail("queue", info.error());
  if (options.json)
    std::cout << to_json(*info).dump() << std::endl;
  else
    std::cout << "job " << info->name << ": " << to_string(info->state)
              << (options.action == "stop" && info->state == job_state::running
                    ? " (stops at the next step)"
                    : "")
              << std::endl;
  return 0;
}

}  // namespace trainyard
