// The CUDA devices this machine shows, or the reason it shows none: both are answers the worker
// reports, so either passes as long as it is well formed.
#include <gtest/gtest.h>

#include "gpu/cuda_devices.hpp"

namespace trainyard {
namespace {

TEST(CudaDevices, ListsTheDevicesOrSaysWhyThereAreNone) {
  auto devices = cuda_devices();
  if (!devices) {
    const std::string& why = devices.error().message;
    EXPECT_EQ(devices.error().code, error_code::invalid_config);
    EXPECT_NE(why.find("CUDA"), std::string::npos) << why;
    if (!cuda_runtime_built()) {
      EXPECT_NE(why.find("no CUDA runtime"), std::string::npos) << why;
    }
    std::cout << "[ note     ] no CUDA device: " << why << "\n";
    return;
  }
  ASSERT_FALSE(devices->empty());
  for (std::size_t i = 0; i < devices->size(); ++i) {
    const cuda_device& d = (*devices)[i];
    EXPECT_EQ(d.index, static_cast<int>(i));
    EXPECT_FALSE(d.name.empty());
    EXPECT_GT(d.total_bytes, 0u);
    EXPECT_LE(d.free_bytes, d.total_bytes);
    std::cout << "[ note     ] CUDA device " << d.index << ": " << d.name << ", "
              << d.free_bytes / (1 << 20) << " of " << d.total_bytes / (1 << 20) << " MiB free\n";
  }
}

TEST(CudaDevices, AskingAboutOneDeviceAnswersItOrTheSameReason) {
  auto devices = cuda_devices();
  auto now = cuda_device_now(0);
  auto synced = cuda_synchronize(0);
  if (!devices) {
    ASSERT_FALSE(now);
    ASSERT_FALSE(synced);
    EXPECT_EQ(now.error().message, devices.error().message);
    EXPECT_EQ(synced.error().message, devices.error().message);
    return;
  }
  ASSERT_TRUE(now) << now.error().message;
  EXPECT_EQ(now->name, devices->front().name);
  EXPECT_EQ(now->total_bytes, devices->front().total_bytes);
  EXPECT_TRUE(synced) << synced.error().message;
}

TEST(CudaDevices, ADeviceThatDoesNotExistIsAnError) {
  for (int index : {-1, 1 << 20}) {
    auto now = cuda_device_now(index);
    ASSERT_FALSE(now) << index;
    EXPECT_FALSE(now.error().message.empty());
    EXPECT_FALSE(cuda_synchronize(index)) << index;
  }
}

}  // namespace
}  // namespace trainyard
