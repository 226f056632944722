// Data-parallel groups (data_parallel.hpp): the trainyard rendezvous store seen as a c10d::Store,
// a c10d::ProcessGroupGloo with a TCP device on the rank's address, and the collectives the
// engine uses. Every collective error becomes a failure that names the lost rank when it can.
#define USE_C10D_GLOO 1  // the Debian LibTorch is built with Gloo; its header wants the flag

#include "runtime/train/data_parallel.hpp"

#include <net/if.h>

#include <algorithm>
#include <sstream>
#include <stdexcept>

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#include "gpu/nccl_group.hpp"
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/torch.h>

namespace trainyard {

namespace {

using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

// How often a rank waiting for a key looks for a posted failure of another rank.
constexpr milliseconds failure_poll{1000};

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

std::vector<std::uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }
std::string text(const std::vector<std::uint8_t>& b) { return {b.begin(), b.end()}; }

std::string failed_key(const std::string& group) { return group + "/failed"; }

std::string seconds_text(milliseconds ms) {
  std::ostringstream out;
  out << static_cast<double>(ms.count()) / 1000.0 << " s";
  return out.str();
}

// A value once it is set, looking for a posted failure of another rank every second; throws
// std::runtime_error with the reason otherwise.
std::vector<std::uint8_t> await_key(rendezvous_store& store, const std::string& group,
                                    const std::string& key, milliseconds timeout,
                                    const std::string& waiting_for) {
  const auto deadline = clock_type::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - clock_type::now());
    auto value = store.get(key, std::clamp(left, milliseconds::zero(), failure_poll));
    if (value)
      return std::move(*value);
    if (value.error().code != error_code::timeout)
      throw std::runtime_error("the rendezvous store failed while waiting for " + waiting_for +
                               ": " + value.error().message);
    if (auto posted = posted_rank_failure(store, group, milliseconds::zero()))
      throw std::runtime_error(*posted);
    if (clock_type::now() >= deadline)
      throw std::runtime_error(waiting_for + " did not come within " + seconds_text(timeout));
  }
}

// c10d's view of the rendezvous store, for Gloo's own rendezvous: keys under `prefix`. Gloo
// uses set, get and wait; add and check work; the store has no delete, count or compare-and-set,
// so those throw.
class rendezvous_c10d_store final : public c10d::Store {
 public:
  rendezvous_c10d_store(rendezvous_store& store, std::string group, std::string prefix,
                        milliseconds timeout)
      : c10d::Store(timeout), store_(store), group_(std::move(group)), prefix_(std::move(prefix)) {}

  void set(const std::string& key, const std::vector<uint8_t>& value) override {
    auto done = store_.set(prefix_ + key, value);
    TORCH_CHECK(done, "rendezvous store: cannot set ", key, ": ", done.error().message);
  }
  std::vector<uint8_t> compareSet(const std::string& key, const std::vector<uint8_t>&,
                                  const std::vector<uint8_t>&) override {
    TORCH_CHECK(false, "rendezvous store: compareSet (", key, ") is not supported");
  }
  std::vector<uint8_t> get(const std::string& key) override {
    return await_key(store_, group_, prefix_ + key, timeout_, "rendezvous key " + key);
  }
  int64_t add(const std::string& key, int64_t value) override {
    auto sum = store_.add(prefix_ + key, value);
    TORCH_CHECK(sum, "rendezvous store: cannot add to ", key, ": ", sum.error().message);
    return *sum;
  }
  bool deleteKey(const std::string& key) override {
    TORCH_CHECK(false, "rendezvous store: deleteKey (", key, ") is not supported");
  }
  bool check(const std::vector<std::string>& keys) override {
    for (const std::string& key : keys)
      if (!store_.get(prefix_ + key, milliseconds::zero()))
        return false;
    return true;
  }
  int64_t getNumKeys() override {
    TORCH_CHECK(false, "rendezvous store: getNumKeys is not supported");
  }
  void wait(const std::vector<std::string>& keys) override { wait(keys, timeout_); }
  void wait(const std::vector<std::string>& keys, const milliseconds& timeout) override {
    const auto deadline = clock_type::now() + timeout;
    for (const std::string& key : keys) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - clock_type::now());
      (void)await_key(store_, group_, prefix_ + key, std::max(left, milliseconds::zero()),
                      "rendezvous key " + key);
    }
  }

 private:
  rendezvous_store& store_;
  std::string group_, prefix_;
};

std::shared_ptr<::gloo::transport::Device> make_device(const std::string& address) {
  const std::string where = address.empty() ? "127.0.0.1" : address;
  // A network interface ("eth0") binds to its address; anything else is a host name or address.
  if (where.find_first_of(".:") == std::string::npos && if_nametoindex(where.c_str()) != 0)
    return c10d::ProcessGroupGloo::createDeviceForInterface(where);
  return c10d::ProcessGroupGloo::createDeviceForHostname(where);
}

}  // namespace

struct data_parallel_group::impl {
  rank_assignment assignment;
  rendezvous_store* store = nullptr;
  data_parallel_options options;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
  std::unique_ptr<nccl_communicator> nccl;  ///< ranks on GPUs: the gradients' communicator
  torch::Tensor flat;  ///< gradients + stop + loss, reused by every step
  double all_reduce_ms = 0;
  std::int64_t all_reduce_calls = 0;

  // The failure of a collective: the reason a peer posted, or the lost peer.
  failure lost(const std::string& during, const std::exception& e) const {
    const std::string& g = assignment.group;
    const std::string me = "rank " + std::to_string(assignment.rank);
    // A peer that failed posts its reason before it closes its connections; give the store a
    // moment, since the closed connection may travel faster than the post.
    if (auto posted = posted_rank_failure(*store, g, milliseconds(2000)))
      return make_failure(error_code::training_failed,
                          *posted + "; " + me + " of data-parallel group " + g + " stops too");
    const std::string peer = assignment.world_size == 2
                                 ? "rank " + std::to_string(1 - assignment.rank)
                                 : "a peer rank";
    return make_failure(error_code::training_failed,
                        me + " lost " + peer + " of data-parallel group " + g + " during " +
                            during + " (" + first_line(e.what()) +
                            "); check that rank's worker, then run the job again");
  }

  template <class F>
  expected<void> guarded(const std::string& during, F&& f) {
    try {
      torch::NoGradGuard no_grad;
      f();
      return {};
    } catch (const c10::Error& e) {
      return lost(during, std::runtime_error(e.what_without_backtrace()));
    } catch (const std::exception& e) {
      return lost(during, e);
    }
  }

  // Through Gloo, on the CPU: a GPU tensor crosses to the CPU and back.
  void broadcast_tensor(torch::Tensor t) {
    torch::Tensor c = t.to(torch::kCPU).contiguous();
    std::vector<at::Tensor> v{c};
    group->broadcast(v)->wait();
    if (c.data_ptr() != t.data_ptr())
      t.copy_(c);
  }

  // Sums `flat` (float) over the ranks in place: NCCL for ranks on GPUs, else Gloo.
  void sum_in_place(torch::Tensor& flat) {
    if (!nccl) {
      std::vector<at::Tensor> v{flat};
      group->allreduce(v)->wait();
      return;
    }
    auto done = nccl->all_reduce_sum(flat.data_ptr<float>(), static_cast<std::size_t>(flat.numel()));
    if (!done)
      throw std::runtime_error(done.error().message);
  }
};

data_parallel_group::data_parallel_group(std::unique_ptr<impl> state) : impl_(std::move(state)) {}
data_parallel_group::~data_parallel_group() = default;

int data_parallel_group::rank() const { return impl_->assignment.rank; }
int data_parallel_group::world_size() const { return impl_->assignment.world_size; }

expected<std::unique_ptr<data_parallel_group>> data_parallel_group::join(
    const rank_assignment& a, rendezvous_store& store, const data_parallel_options& options,
    int cuda_device) {
  const std::string& g = a.group;
  const std::string me = "rank " + std::to_string(a.rank);
  if (a.world_size < 1 || a.rank < 0 || a.rank >= a.world_size)
    return make_failure(error_code::invalid_request,
                        me + " does not fit a data-parallel group of " +
                            std::to_string(a.world_size) + " ranks");
  if (g.empty())
    return make_failure(error_code::invalid_request,
                        "a data-parallel rank needs a group name (a key prefix unique to the run)");
  const std::string prefix = g + "/";
  try {
    auto joined = store.add(prefix + "joined/" + std::to_string(a.rank), 1);
    if (!joined)
      return make_failure(error_code::training_failed,
                          me + " cannot reach the rendezvous store of group " + g + ": " +
                              joined.error().message);
    if (*joined > 1)
      return make_failure(error_code::invalid_request,
                          me + " of data-parallel group " + g +
                              " joined twice; each rank needs its own worker");
    const std::string address = a.address.empty() ? "127.0.0.1" : a.address;
    const std::string card = "world=" + std::to_string(a.world_size) + " address=" + address;
    if (auto set = store.set(prefix + "join/" + std::to_string(a.rank), bytes(card)); !set)
      return make_failure(error_code::training_failed,
                          me + " cannot reach the rendezvous store of group " + g + ": " +
                              set.error().message);
    for (int k = 0; k < a.world_size; ++k) {
      if (k == a.rank)
        continue;
      const std::string other = "rank " + std::to_string(k);
      const std::string theirs =
          text(await_key(store, g, prefix + "join/" + std::to_string(k), options.join_timeout,
                         other + " of data-parallel group " + g));
      const std::string world = theirs.substr(0, theirs.find(' '));
      if (world != "world=" + std::to_string(a.world_size))
        return make_failure(error_code::invalid_request,
                            other + " of group " + g + " joined with " + world + " but " + me +
                                " with world=" + std::to_string(a.world_size) +
                                "; every rank must get the same world size");
    }

    auto state = std::make_unique<impl>();
    state->assignment = a;
    state->assignment.address = address;
    state->store = &store;
    state->options = options;
    auto gloo_options = c10d::ProcessGroupGloo::Options::create(options.collective_timeout);
    gloo_options->devices.push_back(make_device(address));
    gloo_options->threads = 1;  // one collective at a time: the engine waits for each
    auto c10d_store =
        c10::make_intrusive<rendezvous_c10d_store>(store, g, prefix + "gloo/", options.join_timeout);
    state->group =
        c10::make_intrusive<c10d::ProcessGroupGloo>(c10d_store, a.rank, a.world_size, gloo_options);
    if (cuda_device >= 0) {
      // Rank 0's NCCL id reaches the others through the same store as Gloo's keys.
      auto id = share_unique_id(store, g, a.rank, make_nccl_unique_id, options.join_timeout);
      if (!id)
        return make_failure(error_code::training_failed,
                            me + " could not form the NCCL communicator of group " + g + ": " +
                                id.error().message);
      auto nccl = nccl_communicator::create(*id, a.rank, a.world_size, cuda_device,
                                            options.collective_timeout);
      if (!nccl)
        return make_failure(error_code::training_failed,
                            me + " could not form the NCCL communicator of group " + g + ": " +
                                nccl.error().message);
      state->nccl = std::move(*nccl);
    }
    return std::unique_ptr<data_parallel_group>(new data_parallel_group(std::move(state)));
  } catch (const c10::Error& e) {
    return make_failure(error_code::training_failed,
                        me + " could not join data-parallel group " + g + ": " +
                            first_line(e.what_without_backtrace()));
  } catch (const std::exception& e) {
    return make_failure(error_code::training_failed, me + " could not join data-parallel group " +
                                                         g + ": " + first_line(e.what()));
  }
}

data_parallel_group::share data_parallel_group::share_of(std::int64_t global_count) const {
  const std::int64_t w = world_size(), r = rank();
  const std::int64_t base = global_count / w, extra = global_count % w;
  return {r * base + std::min(r, extra), base + (r < extra ? 1 : 0)};
}

expected<void> data_parallel_group::broadcast_module(torch::nn::Module& module) {
  return impl_->guarded("the broadcast of rank 0's model", [&] {
    for (const torch::Tensor& p : module.parameters())
      impl_->broadcast_tensor(p.detach());
    for (const torch::Tensor& b : module.buffers())
      impl_->broadcast_tensor(b.detach());
  });
}

expected<std::vector<std::int64_t>> data_parallel_group::broadcast(std::vector<std::int64_t> values) {
  torch::Tensor t = torch::tensor(values, torch::kLong);
  auto done = impl_->guarded("a broadcast from rank 0", [&] { impl_->broadcast_tensor(t); });
  if (!done)
    return done.error();
  return std::vector<std::int64_t>(t.data_ptr<std::int64_t>(),
                                   t.data_ptr<std::int64_t>() + t.numel());
}

expected<std::vector<double>> data_parallel_group::sum(std::vector<double> values) {
  torch::Tensor t = torch::tensor(values, torch::kDouble);
  auto done = impl_->guarded("an all-reduce", [&] {
    std::vector<at::Tensor> v{t};
    impl_->group->allreduce(v)->wait();
  });
  if (!done)
    return done.error();
  return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
}

expected<step_agreement> data_parallel_group::all_reduce_gradients(
    const std::vector<at::Tensor>& parameters, bool stop_requested, double loss_sum) {
  const auto start = clock_type::now();
  step_agreement out;
  auto done = impl_->guarded("the all-reduce of a step's gradients", [&] {
    std::int64_t total = 0;
    for (const torch::Tensor& p : parameters)
      total += p.numel();
    torch::Tensor& flat = impl_->flat;
    const auto where = parameters.empty() ? torch::Device(torch::kCPU) : parameters[0].device();
    if (!flat.defined() || flat.numel() != total + 2)
      flat = torch::empty({total + 2}, torch::TensorOptions(torch::kFloat).device(where));
    std::int64_t offset = 0;
    for (const torch::Tensor& p : parameters) {
      torch::Tensor slot = flat.narrow(0, offset, p.numel());
      if (p.grad().defined())
        slot.copy_(p.grad().reshape({-1}));
      else
        slot.zero_();
      offset += p.numel();
    }
    // The stop request and the loss sum ride in the same message, as the buffer's last two.
    flat.narrow(0, total, 2)
        .copy_(torch::tensor({stop_requested ? 1.0F : 0.0F, static_cast<float>(loss_sum)}));
    impl_->sum_in_place(flat);
    const torch::Tensor tail = flat.narrow(0, total, 2).to(torch::kCPU);
    out.stop = tail[0].item<float>() > 0.5F;
    out.loss_sum = tail[1].item<float>();
    if (out.stop)
      return;  // the step is thrown away with the rest of the iteration
    offset = 0;
    for (const torch::Tensor& p : parameters) {
      torch::Tensor slot = flat.narrow(0, offset, p.numel()).view_as(p);
      if (p.grad().defined())
        p.mutable_grad().copy_(slot);
      else
        p.mutable_grad() = slot.clone();
      offset += p.numel();
    }
  });
  impl_->all_reduce_ms +=
      std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
  ++impl_->all_reduce_calls;
  if (!done)
    return done.error();
  return out;
}

expected<void> data_parallel_group::barrier() {
  return impl_->guarded("a barrier", [&] { impl_->group->barrier()->wait(); });
}

double data_parallel_group::all_reduce_ms() const { return impl_->all_reduce_ms; }
std::int64_t data_parallel_group::all_reduce_calls() const { return impl_->all_reduce_calls; }

void post_rank_failure(rendezvous_store& store, const rank_assignment& assignment,
                       const std::string& message) {
  if (assignment.group.empty() || posted_rank_failure(store, assignment.group, milliseconds::zero()))
    return;
  (void)store.set(failed_key(assignment.group),
                  bytes(std::to_string(assignment.rank) + "\n" + message));
}

std::optional<std::string> posted_rank_failure(rendezvous_store& store, const std::string& group,
                                               std::chrono::milliseconds wait) {
  auto posted = store.get(failed_key(group), wait);
  if (!posted)
    return std::nullopt;
  const std::string value = text(*posted);
  const auto newline = value.find('\n');
  if (newline == std::string::npos)
    return "a rank of data-parallel group " + group + " failed: " + value;
  return "rank " + value.substr(0, newline) + " of data-parallel group " + group +
         " failed: " + value.substr(newline + 1);
}

}  // namespace trainyard
