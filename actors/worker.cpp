#include "actors/worker.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include <caf/all.hpp>

#include "actors/rendezvous.hpp"
#include "gpu/cuda_devices.hpp"
#include "runtime/policy/devices.hpp"

namespace trainyard {

namespace {

/// The worker's own face: the public one plus what its training thread sends it.
using worker_impl = worker_actor::extend<
  // From the training thread: an iteration finished.
  caf::reacts_to<iterated_atom, iteration_report>,
  // From the training thread: the batch size is chosen.
  caf::reacts_to<probed_atom, job_id, probe_result>,
  // From the training thread: training ended.
  caf::reacts_to<finished_atom, job_id, training_outcome>>;

// Called on the training thread: turns engine callbacks into messages to the worker actor.
class forwarding_observer : public training_observer {
 public:
  forwarding_observer(worker_impl worker, job_id job, std::shared_ptr<std::atomic<bool>> stop,
                      caf::actor_system& system, rendezvous_actor rendezvous)
    : worker_(std::move(worker)), job_(job), stop_(std::move(stop)),
      rendezvous_(rendezvous_client(system, std::move(rendezvous))) {}

  /// Tool files go back to the scheduler before each iteration is reported, so the report
  /// never announces a checkpoint the scheduler's workspace lacks.
  void mirror_to(file_mirror* mirror, std::string local_workspace, std::string tool) {
    mirror_ = mirror;
    local_workspace_ = std::move(local_workspace);
    tool_ = std::move(tool);
  }

  rendezvous_store* rendezvous() override { return rendezvous_.get(); }

  void batch_size_chosen(const probe_result& probe) override {
    caf::anon_send(worker_, probed_atom::value, job_, probe);
  }
  void iteration_completed(const iteration_report& report) override {
    if (mirror_)
      if (auto ok = mirror_->push_tool(local_workspace_, tool_); !ok)
        std::fprintf(stderr, "trainyard worker: cannot send tool %s's files: %s\n", tool_.c_str(),
                     ok.error().message.c_str());
    caf::anon_send(worker_, iterated_atom::value, report);
  }
  bool stop_requested() const override { return stop_->load(std::memory_order_relaxed); }

 private:
  worker_impl worker_;
  job_id job_;
  std::shared_ptr<std::atomic<bool>> stop_;
  std::unique_ptr<rendezvous_store> rendezvous_;
  file_mirror* mirror_ = nullptr;
  std::string local_workspace_, tool_;
};

struct worker_state {
  std::shared_ptr<training_engine> engine;
  std::shared_ptr<file_mirror> mirror;
  worker_info info;
  std::optional<job_id> job;                 // the job on the device, if any
  scheduler_actor report_to;                 // who sent the job
  std::shared_ptr<std::atomic<bool>> stop = std::make_shared<std::atomic<bool>>(false);
  std::thread thread;
  static inline const char* name = "worker";

  ~worker_state() {
    // The actor is going away (shutdown): end the training between two steps and wait for it.
    stop->store(true);
    if (thread.joinable())
      thread.join();
  }
};

worker_impl::behavior_type worker(worker_impl::stateful_pointer<worker_state> self,
                                   std::shared_ptr<training_engine> engine, worker_info info,
                                   file_mirror_options files) {
  self->state.engine = std::move(engine);
  self->state.mirror = std::make_shared<file_mirror>(self->system(), std::move(files));
  self->state.info = std::move(info);
  return {
    [=](train_atom, training_request& request, rendezvous_actor& rendezvous) {
      auto& st = self->state;
      auto sender = caf::actor_cast<scheduler_actor>(self->current_sender());
      if (st.job) {
        // The scheduler never does this; answer so the job is not lost if it ever happens.
        training_outcome busy;
        busy.state = job_state::failed;
        busy.message = "worker " + st.info.name + " is busy with job " + std::to_string(*st.job);
        self->send(sender, finished_atom::value, request.job, busy);
        return;
      }
      if (st.thread.joinable())
        st.thread.join();  // the previous job's thread has already returned
      st.job = request.job;
      st.report_to = sender;
      request.device = st.info.name;  // the engine trains on this worker's device
      st.stop = std::make_shared<std::atomic<bool>>(false);
      auto me = caf::actor_cast<worker_impl>(self);
      st.thread = std::thread([engine = st.engine, mirror = st.mirror, stop = st.stop, me,
                               rendezvous = std::move(rendezvous), &system = self->system(),
                               request = std::move(request)]() {
        forwarding_observer observer(me, request.job, stop, system, rendezvous);
        auto local = request;
        bool mirrored = mirror->needed(request);
        if (mirrored) {
          auto fetched = mirror->localize(request);
          if (!fetched) {
            training_outcome failed;
            failed.state = job_state::failed;
            failed.error = fetched.error().code;
            failed.message = "cannot fetch the job's files from the scheduler: " +
                             fetched.error().message;
            caf::anon_send(me, finished_atom::value, request.job, std::move(failed));
            return;
          }
          local = std::move(*fetched);
          if (local.parallel.rank == 0)
            observer.mirror_to(mirror.get(), local.workspace, local.spec.tool.name);
        }
        auto outcome = engine->train(local, observer);
        if (mirrored && local.parallel.rank == 0)
          if (auto ok = mirror->push_tool(local.workspace, local.spec.tool.name); !ok) {
            outcome.state = job_state::failed;
            outcome.error = ok.error().code;
            outcome.message = "trained, but the tool's files could not be sent to the "
                              "scheduler: " + ok.error().message;
          }
        caf::anon_send(me, finished_atom::value, request.job, std::move(outcome));
      });
    },
    [=](stop_atom, job_id job) {
      if (self->state.job == job)
        self->state.stop->store(true);
    },
    [=](info_atom) {
      auto& info = self->state.info;
      read_device_usage(info);
      return info;
    },
    [=](iterated_atom, iteration_report& report) {
      self->send(self->state.report_to, iterated_atom::value, std::move(report));
    },
    [=](probed_atom, job_id job, probe_result& probe) {
      self->send(self->state.report_to, probed_atom::value, job, std::move(probe));
    },
    [=](finished_atom, job_id job, training_outcome& outcome) {
      auto& st = self->state;
      if (st.thread.joinable())
        st.thread.join();
      st.job.reset();
      self->send(st.report_to, finished_atom::value, job, std::move(outcome));
    },
  };
}

}  // namespace

worker_info cpu_worker_info() {
  worker_info info;
  info.name = "cpu";
  info.kind = "cpu";
  info.threads = static_cast<int>(std::thread::hardware_concurrency());
  read_cpu_usage(info);
  return info;
}

void read_cpu_usage(worker_info& info) {
  // The "Key:   value kB" lines of a /proc file, in bytes, read once.
  const auto bytes_in = [](const char* file) {
    std::map<std::string, std::uint64_t> out;
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream words(line);
      std::string key;
      std::uint64_t kib = 0;
      if (words >> key >> kib)
        out[key] = kib * 1024;
    }
    return out;
  };
  auto memory = bytes_in("/proc/meminfo");
  info.memory_bytes = memory["MemTotal:"];
  const std::uint64_t available = memory["MemAvailable:"];
  info.memory_used_bytes = available > 0 && available < info.memory_bytes
                             ? info.memory_bytes - available
                             : 0;
  info.process_bytes = bytes_in("/proc/self/status")["VmRSS:"];
}

namespace {

// A GPU worker's figures: its device's memory as CUDA just reported it, and this process's
// resident memory (read_cpu_usage's other figures are the machine's RAM, replaced here).
void put_gpu_usage(worker_info& info, const cuda_device& device) {
  read_cpu_usage(info);
  info.memory_bytes = device.total_bytes;
  info.memory_used_bytes = device.total_bytes - std::min(device.free_bytes, device.total_bytes);
}

}  // namespace

expected<worker_info> cuda_worker_info(int index, int threads) {
  auto device = cuda_device_now(index);
  if (!device)
    return device.error();
  worker_info info;
  info.name = "cuda:" + std::to_string(index);
  info.kind = "cuda";
  info.device_name = device->name;
  info.threads = std::max(1, threads);
  put_gpu_usage(info, *device);
  return info;
}

expected<worker_info> device_worker_info(const std::string& device, int threads) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (cuda_index(device) < 0) {
    worker_info info = cpu_worker_info();
    if (threads > 0)
      info.threads = threads;
    return info;
  }
  setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", /*overwrite=*/0);
  return cuda_worker_info(cuda_index(device), threads > 0 ? threads : cores);
}

void read_device_usage(worker_info& info) {
  if (info.kind != "cuda") {
    read_cpu_usage(info);
    return;
  }
  if (auto device = cuda_device_now(cuda_index(info.name))) {
    put_gpu_usage(info, *device);
    return;
  }
  // The device did not answer: the process's memory still, the GPU's total, its use unknown.
  const std::uint64_t total = info.memory_bytes;
  read_cpu_usage(info);
  info.memory_bytes = total;
  info.memory_used_bytes = 0;
}

worker_actor spawn_worker(caf::actor_system& system, std::shared_ptr<training_engine> engine,
                          worker_info info, file_mirror_options files) {
  return caf::actor_cast<worker_actor>(
    system.spawn(worker, std::move(engine), std::move(info), std::move(files)));
}

}  // namespace trainyard
