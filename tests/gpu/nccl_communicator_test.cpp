// NCCL: the unique id, and communicators summing device buffers over ranks that run as threads
// of this process. The communicator tests need a CUDA device; without one they skip and say why.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "gpu/nccl_group.hpp"
#include "runtime/store/memory_rendezvous.hpp"
#include "tests/gpu/gpu_available.hpp"

#if TRAINYARD_WITH_CUDA_RUNTIME
#include <cuda_runtime_api.h>
#endif

namespace trainyard {
namespace {

using namespace std::chrono_literals;

TEST(NcclUniqueId, IsOneIdsWorthOfBytesOrAnErrorNamingNccl) {
  auto id = make_nccl_unique_id();
  if (!id) {
    EXPECT_NE(id.error().message.find("NCCL"), std::string::npos) << id.error().message;
    if (!nccl_built()) {
      EXPECT_NE(id.error().message.find("no NCCL"), std::string::npos) << id.error().message;
    }
    std::cout << "[ note     ] no NCCL unique id here: " << id.error().message << "\n";
    return;
  }
  ASSERT_TRUE(nccl_built());
  EXPECT_EQ(id->size(), nccl_id_bytes);
}

TEST(NcclCommunicator, WithoutNcclCreatingOneSaysSo) {
  if (nccl_built())
    GTEST_SKIP() << "this build has NCCL";
  auto comm = nccl_communicator::create(std::vector<std::uint8_t>(nccl_id_bytes), 0, 1, 0, 1s);
  ASSERT_FALSE(comm);
  EXPECT_EQ(comm.error().message.rfind("this build of trainyard has no NCCL", 0), 0u)
      << comm.error().message;
}

#if TRAINYARD_WITH_CUDA_RUNTIME

// `count` values in device memory of the current device, freed at the end of the scope.
template <class T>
class device_buffer {
 public:
  explicit device_buffer(const std::vector<T>& values) : count_(values.size()) {
    EXPECT_EQ(cudaMalloc(reinterpret_cast<void**>(&data_), count_ * sizeof(T)), cudaSuccess);
    EXPECT_EQ(cudaMemcpy(data_, values.data(), count_ * sizeof(T), cudaMemcpyHostToDevice),
              cudaSuccess);
  }
  ~device_buffer() { cudaFree(data_); }
  device_buffer(const device_buffer&) = delete;
  device_buffer& operator=(const device_buffer&) = delete;
  T* data() { return data_; }
  std::vector<T> read() const {
    std::vector<T> values(count_);
    EXPECT_EQ(cudaMemcpy(values.data(), data_, count_ * sizeof(T), cudaMemcpyDeviceToHost),
              cudaSuccess);
    return values;
  }

 private:
  std::size_t count_;
  T* data_ = nullptr;
};

std::vector<float> ramp(std::size_t n, float scale) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i)
    v[i] = scale * static_cast<float>(i % 1000);
  return v;
}

TEST(NcclCommunicator, OneRankSumsToItself) {
  if (const std::string why = why_no_gpu(); !why.empty())
    GTEST_SKIP() << why;
  auto id = make_nccl_unique_id();
  ASSERT_TRUE(id) << id.error().message;
  auto comm = nccl_communicator::create(*id, 0, 1, 0, 30s);
  ASSERT_TRUE(comm) << comm.error().message;
  EXPECT_EQ((*comm)->rank(), 0);
  EXPECT_EQ((*comm)->world_size(), 1);
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  const std::vector<float> values = ramp(1 << 20, 0.5f);
  device_buffer<float> floats(values);
  auto summed = (*comm)->all_reduce_sum(floats.data(), values.size());
  ASSERT_TRUE(summed) << summed.error().message;
  EXPECT_EQ(floats.read(), values);
  device_buffer<double> doubles({1.5, -2.25, 1e300});
  ASSERT_TRUE((*comm)->all_reduce_sum(doubles.data(), 3));
  EXPECT_EQ(doubles.read(), (std::vector<double>{1.5, -2.25, 1e300}));
  EXPECT_TRUE((*comm)->all_reduce_sum(floats.data(), 0));  // nothing to sum
}

TEST(NcclCommunicator, TwoRanksSumTheirBuffers) {
  if (const std::string why = why_no_gpu(); !why.empty())
    GTEST_SKIP() << why;
  const int device_count = static_cast<int>(cuda_devices()->size());
  memory_rendezvous store;
  const std::size_t n = 4096;
  std::vector<expected<void>> outcome(2, make_failure(error_code::none, "not run"));
  std::vector<std::vector<float>> result(2);
  std::vector<std::thread> ranks;
  for (int r = 0; r < 2; ++r)
    ranks.emplace_back([&, r] {
      // One device per rank where there are two; else both on device 0, which NCCL may refuse.
      const int device = device_count >= 2 ? r : 0;
      auto id = share_unique_id(store, "two", r, make_nccl_unique_id, 30s);
      if (!id) {
        outcome[r] = id.error();
        return;
      }
      auto comm = nccl_communicator::create(*id, r, 2, device, 20s);
      if (!comm) {
        outcome[r] = comm.error();
        return;
      }
      cudaSetDevice(device);
      device_buffer<float> buffer(ramp(n, static_cast<float>(r + 1)));
      outcome[r] = (*comm)->all_reduce_sum(buffer.data(), n);
      result[r] = buffer.read();
    });
  for (auto& t : ranks)
    t.join();
  if (device_count < 2 && (!outcome[0] || !outcome[1]))
    GTEST_SKIP() << "NCCL refused two ranks on the one CUDA device: "
                 << (outcome[0] ? outcome[1] : outcome[0]).error().message;
  for (int r = 0; r < 2; ++r) {
    ASSERT_TRUE(outcome[r]) << "rank " << r << ": " << outcome[r].error().message;
    EXPECT_EQ(result[r], ramp(n, 3.0f)) << "rank " << r;  // 1x + 2x
  }
}

TEST(NcclCommunicator, ALostPeerFailsTheJoinAtTheTimeoutInsteadOfHanging) {
  if (const std::string why = why_no_gpu(); !why.empty())
    GTEST_SKIP() << why;
  auto id = make_nccl_unique_id();
  ASSERT_TRUE(id) << id.error().message;
  // Rank 1 of 2 never comes.
  auto comm = nccl_communicator::create(*id, 0, 2, 0, 3s);
  ASSERT_FALSE(comm);
  EXPECT_EQ(comm.error().code, error_code::training_failed);
  EXPECT_EQ(comm.error().message,
            "NCCL: rank 0 of 2: no answer from the other ranks within 3 s (a rank was lost); the "
            "job fails on this rank and resumes later");
}

#else

TEST(NcclCommunicator, DeviceBufferTestsNeedCudart) {
  GTEST_SKIP() << "GPU-only tests skip here: " << why_no_gpu();
}

#endif

}  // namespace
}  // namespace trainyard
