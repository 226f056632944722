// NCCL communicators of data-parallel ranks (nccl_group.hpp). share_unique_id is plain store
// traffic and builds everywhere; the communicator uses NCCL's non-blocking mode (config.blocking
// = 0) so that no call waits inside NCCL: each one returns at once and this file polls NCCL's and
// CUDA's state until done, failed, or past the deadline, where the communicator is aborted. A
// build without NCCL answers errors.
#include "gpu/nccl_group.hpp"

#include <algorithm>
#include <sstream>

#if TRAINYARD_WITH_NCCL
#include <cstring>
#include <thread>

#include <cuda_runtime_api.h>
#include <nccl.h>
#endif

namespace trainyard {

namespace {

using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

// What rank 0 stores instead of the id when it could not make one.
constexpr const char* failed_prefix = "failed: ";

std::string seconds_text(milliseconds ms) {
  std::ostringstream out;
  out << static_cast<double>(ms.count()) / 1000.0 << " s";
  return out.str();
}

std::vector<std::uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

// Rank 0's failure as the other ranks read it. A value of exactly nccl_id_bytes is always an id,
// so a failure text of that length gets a newline, which the readers drop.
std::vector<std::uint8_t> failure_value(const std::string& why) {
  std::string value = failed_prefix + why;
  if (value.size() == nccl_id_bytes)
    value += '\n';
  return bytes(value);
}

// A rank other than 0: rank 0's id, or the failure it posted, or the reason nothing came.
expected<std::vector<std::uint8_t>> await_id(rendezvous_store& store, const std::string& group,
                                             int rank, milliseconds timeout) {
  const std::string key = group + "/nccl/id";
  const std::string me = "rank " + std::to_string(rank) + " of group " + group;
  auto value = store.get(key, timeout);
  if (!value && value.error().code == error_code::timeout)
    return make_failure(error_code::training_failed,
                        me + ": rank 0's NCCL unique id did not come within " +
                            seconds_text(timeout) +
                            " (rank 0 was lost or never started); the job fails on this rank and "
                            "resumes later");
  if (!value)
    return make_failure(error_code::training_failed,
                        me + " cannot read the NCCL unique id from the rendezvous store: " +
                            value.error().message);
  if (value->size() == nccl_id_bytes)
    return value;
  std::string text(value->begin(), value->end());
  const std::string prefix = failed_prefix;
  if (text.compare(0, prefix.size(), prefix) == 0) {
    if (!text.empty() && text.back() == '\n')
      text.pop_back();
    return make_failure(error_code::training_failed, "rank 0 of group " + group +
                                                         " could not make the NCCL unique id: " +
                                                         text.substr(prefix.size()));
  }
  return make_failure(error_code::training_failed,
                      me + ": rendezvous key " + key + " holds " + std::to_string(value->size()) +
                          " bytes, not an NCCL unique id of " + std::to_string(nccl_id_bytes));
}

}  // namespace

expected<std::vector<std::uint8_t>> share_unique_id(
    rendezvous_store& store, const std::string& group, int rank,
    const std::function<expected<std::vector<std::uint8_t>>()>& make_id,
    std::chrono::milliseconds timeout) {
  if (group.empty())
    return make_failure(error_code::invalid_request,
                        "an NCCL group needs a group name (a key prefix unique to the run)");
  if (rank < 0)
    return make_failure(error_code::invalid_request,
                        "rank " + std::to_string(rank) + " of group " + group + " is negative");
  if (rank != 0)
    return await_id(store, group, rank, timeout);

  auto id = make_id();
  std::string why;
  if (!id)
    why = id.error().message;
  else if (id->size() != nccl_id_bytes)
    why = "the id has " + std::to_string(id->size()) + " bytes instead of " +
          std::to_string(nccl_id_bytes);
  if (why.empty()) {
    if (auto stored = store.set(group + "/nccl/id", *id); !stored)
      return make_failure(error_code::training_failed,
                          "rank 0 of group " + group +
                              " cannot store the NCCL unique id in the rendezvous store: " +
                              stored.error().message);
    return id;
  }
  // Tell the others at once; if even that fails they time out, with the same outcome.
  (void)store.set(group + "/nccl/id", failure_value(why));
  return make_failure(id ? error_code::training_failed : id.error().code,
                      "rank 0 of group " + group + " could not make the NCCL unique id: " + why);
}

#if TRAINYARD_WITH_NCCL

static_assert(sizeof(ncclUniqueId) == nccl_id_bytes, "nccl_id_bytes must match nccl.h");

namespace {

// "unhandled system error (NCCL's last error text)"
std::string nccl_text(ncclResult_t r, ncclComm_t comm) {
  std::string text = ncclGetErrorString(r);
  const char* last = ncclGetLastError(comm);
  if (last && *last)
    text += std::string(" (") + last + ")";
  return text;
}

std::string cuda_text(cudaError_t e) {
  return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
}

// Calls `state` until it answers other than `pending`, sleeping 10 us at first and up to 1 ms
// between calls (a collective usually takes micro- to milliseconds); `pending` when the deadline
// passed first.
template <class State, class Result>
Result poll(State state, Result pending, clock_type::time_point deadline) {
  auto pause = std::chrono::microseconds(10);
  for (;;) {
    const Result now = state();
    if (now != pending || clock_type::now() >= deadline)
      return now;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(1000));
  }
}

// The communicator's state once no operation is in progress, or ncclInProgress at the deadline.
ncclResult_t settle(ncclComm_t comm, clock_type::time_point deadline) {
  return poll(
      [comm] {
        ncclResult_t state = ncclSuccess;
        const ncclResult_t r = ncclCommGetAsyncError(comm, &state);
        return r != ncclSuccess ? r : state;
      },
      ncclInProgress, deadline);
}

}  // namespace

struct nccl_communicator::impl {
  int rank = 0;
  int world_size = 1;
  int device = 0;
  milliseconds timeout{0};
  ncclComm_t comm = nullptr;
  std::string broken;  ///< why the communicator was aborted; empty while usable

  std::string me() const {
    return "NCCL: rank " + std::to_string(rank) + " of " + std::to_string(world_size);
  }

  // Aborts the communicator (ending whatever it has in flight) and says why from now on.
  failure abort(std::string why) {
    if (comm)
      (void)ncclCommAbort(comm);
    comm = nullptr;
    broken = std::move(why);
    return make_failure(error_code::training_failed, broken);
  }

  failure lost() {
    return abort(me() + ": no answer from the other ranks within " + seconds_text(timeout) +
                 " (a rank was lost); the job fails on this rank and resumes later");
  }

  failure failed(const std::string& during, ncclResult_t r) {
    return abort(me() + ": " + during + " failed: " + nccl_text(r, comm));
  }

  template <class T>
  expected<void> all_reduce_sum(T* data, std::size_t count, ncclDataType_t type);
};

template <class T>
expected<void> nccl_communicator::impl::all_reduce_sum(T* data, std::size_t count,
                                                       ncclDataType_t type) {
  if (!broken.empty())
    return make_failure(error_code::training_failed, "the communicator was aborted: " + broken);
  if (count == 0)
    return {};
  const auto deadline = clock_type::now() + timeout;
  if (cudaError_t e = cudaSetDevice(device); e != cudaSuccess)
    return abort(me() + ": cudaSetDevice(" + std::to_string(device) + ") failed (" + cuda_text(e) +
                 ")");
  // Stream 0: after the gradients LibTorch computed on its default stream.
  ncclResult_t r = ncclAllReduce(data, data, count, type, ncclSum, comm, nullptr);
  if (r == ncclInProgress)
    r = settle(comm, deadline);  // enqueueing itself may wait for the peers
  if (r == ncclInProgress)
    return lost();
  if (r != ncclSuccess)
    return failed("all-reduce", r);
  // Until the stream ran the sum: a rank that is lost stalls it, and NCCL reports broken links.
  ncclResult_t nccl_state = ncclSuccess;
  const cudaError_t e = poll(
      [&] {
        const cudaError_t q = cudaStreamQuery(nullptr);
        if (q == cudaErrorNotReady) {
          nccl_state = settle(comm, clock_type::now());
          if (nccl_state != ncclSuccess && nccl_state != ncclInProgress)
            return cudaErrorUnknown;  // NCCL failed; said below
        }
        return q;
      },
      cudaErrorNotReady, deadline);
  if (e == cudaErrorNotReady)
    return lost();
  if (nccl_state != ncclSuccess && nccl_state != ncclInProgress)
    return failed("all-reduce", nccl_state);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    return abort(me() + ": the all-reduce's stream failed (" + cuda_text(e) + ")");
  }
  return {};
}

bool nccl_built() { return true; }

expected<std::vector<std::uint8_t>> make_nccl_unique_id() {
  ncclUniqueId id;
  if (ncclResult_t r = ncclGetUniqueId(&id); r != ncclSuccess)
    return make_failure(error_code::training_failed,
                        "NCCL could not make a unique id: " + nccl_text(r, nullptr));
  const auto* first = reinterpret_cast<const std::uint8_t*>(id.internal);
  return std::vector<std::uint8_t>(first, first + sizeof(id.internal));
}

expected<std::unique_ptr<nccl_communicator>> nccl_communicator::create(
    const std::vector<std::uint8_t>& id, int rank, int world_size, int device,
    std::chrono::milliseconds timeout) {
  const std::string me = "NCCL: rank " + std::to_string(rank) + " of " + std::to_string(world_size);
  if (id.size() != nccl_id_bytes)
    return make_failure(error_code::invalid_request,
                        me + ": the unique id has " + std::to_string(id.size()) +
                            " bytes instead of " + std::to_string(nccl_id_bytes));
  if (world_size < 1 || rank < 0 || rank >= world_size || device < 0)
    return make_failure(error_code::invalid_request,
                        me + " on CUDA device " + std::to_string(device) + " does not exist");
  if (cudaError_t e = cudaSetDevice(device); e != cudaSuccess) {
    (void)cudaGetLastError();
    return make_failure(error_code::invalid_config, me + ": cudaSetDevice(" +
                                                        std::to_string(device) + ") failed (" +
                                                        cuda_text(e) + ")");
  }
  auto state = std::make_unique<impl>();
  state->rank = rank;
  state->world_size = world_size;
  state->device = device;
  state->timeout = timeout;
  const auto deadline = clock_type::now() + timeout;
  ncclUniqueId unique;
  std::memcpy(unique.internal, id.data(), nccl_id_bytes);
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;  // every wait below has a deadline
  ncclResult_t r = ncclCommInitRankConfig(&state->comm, world_size, unique, rank, &config);
  if (r == ncclInProgress || (r == ncclSuccess && state->comm))
    r = settle(state->comm, deadline);
  if (r == ncclInProgress)
    return state->lost();
  if (r != ncclSuccess)
    return state->failed("joining the communicator on CUDA device " + std::to_string(device), r);
  return std::unique_ptr<nccl_communicator>(new nccl_communicator(std::move(state)));
}

nccl_communicator::~nccl_communicator() {
  if (!impl_->comm)
    return;
  // Finalize flushes this rank's operations (there are none left: every call waited) and frees
  // what the ranks share; a peer that never answers gets the abort instead of a hang.
  ncclResult_t r = ncclCommFinalize(impl_->comm);
  if (r == ncclSuccess || r == ncclInProgress)
    r = settle(impl_->comm, clock_type::now() + impl_->timeout);
  if (r == ncclSuccess)
    (void)ncclCommDestroy(impl_->comm);
  else
    (void)ncclCommAbort(impl_->comm);
}

expected<void> nccl_communicator::all_reduce_sum(float* device_data, std::size_t count) {
  return impl_->all_reduce_sum(device_data, count, ncclFloat32);
}

expected<void> nccl_communicator::all_reduce_sum(double* device_data, std::size_t count) {
  return impl_->all_reduce_sum(device_data, count, ncclFloat64);
}

#else  // no NCCL in this build

namespace {

failure not_built(const std::string& what) {
  return make_failure(error_code::invalid_config,
                      "this build of trainyard has no NCCL: CMake found no CUDA toolkit with NCCL "
                      "(nccl.h, libnccl), so " + what +
                          " is not possible; rebuild with them (CUDAToolkit_ROOT, NCCL_ROOT) to "
                          "train on several GPUs");
}

}  // namespace

struct nccl_communicator::impl {
  int rank = 0;
  int world_size = 1;
};

bool nccl_built() { return false; }

expected<std::vector<std::uint8_t>> make_nccl_unique_id() {
  return not_built("an NCCL unique id");
}

expected<std::unique_ptr<nccl_communicator>> nccl_communicator::create(
    const std::vector<std::uint8_t>&, int, int, int, std::chrono::milliseconds) {
  return not_built("an NCCL communicator");
}

nccl_communicator::~nccl_communicator() = default;

expected<void> nccl_communicator::all_reduce_sum(float*, std::size_t) {
  return not_built("an NCCL all-reduce");
}

expected<void> nccl_communicator::all_reduce_sum(double*, std::size_t) {
  return not_built("an NCCL all-reduce");
}

#endif

nccl_communicator::nccl_communicator(std::unique_ptr<impl> state) : impl_(std::move(state)) {}

int nccl_communicator::rank() const { return impl_->rank; }
int nccl_communicator::world_size() const { return impl_->world_size; }

}  // namespace trainyard
