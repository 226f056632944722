// Tests of the node's device list: `--devices` parsed and resolved against what a build and a
// machine have, with the words a user reads when a device cannot be used.
#include "runtime/policy/devices.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace trainyard {
namespace {

const device_support cpu_only_build{0, false,
                                    "this build of trainyard has CPU-only LibTorch; rebuild with a "
                                    "CUDA LibTorch: see README, GPU workers"};
const device_support two_gpus{2, true, ""};

std::vector<std::string> resolved(const std::string& text, const device_support& support,
                                  std::string* note = nullptr) {
  std::string said;
  auto request = parse_devices(text);
  EXPECT_TRUE(request) << text << ": " << request.error().message;
  auto names = resolve_devices(*request, support, said);
  EXPECT_TRUE(names) << text << ": " << names.error().message;
  if (note)
    *note = said;
  return names ? *names : std::vector<std::string>{};
}

std::string refusal(const std::string& text, const device_support& support) {
  auto request = parse_devices(text);
  if (!request)
    return request.error().message;
  std::string note;
  auto names = resolve_devices(*request, support, note);
  EXPECT_FALSE(names) << text << " was accepted";
  return names ? "" : names.error().message;
}

TEST(Devices, AllIsEveryCudaDeviceOrTheCpuWithTheReasonWhenThereIsNone) {
  EXPECT_EQ(resolved("all", two_gpus), (std::vector<std::string>{"cuda:0", "cuda:1"}));
  std::string note;
  EXPECT_EQ(resolved("all", cpu_only_build, &note), std::vector<std::string>{"cpu"});
  EXPECT_NE(note.find("CPU-only LibTorch"), std::string::npos) << note;
  // A CUDA LibTorch on a machine without a visible device.
  EXPECT_EQ(resolved("all", device_support{0, true, "no CUDA device visible"}, &note),
            std::vector<std::string>{"cpu"});
  EXPECT_NE(note.find("no CUDA device visible"), std::string::npos) << note;
}

TEST(Devices, ListsKeepTheirOrderAndMayMixTheCpuWithGpus) {
  EXPECT_EQ(resolved("cpu", two_gpus), std::vector<std::string>{"cpu"});
  EXPECT_EQ(resolved("cuda:1, cuda:0", two_gpus), (std::vector<std::string>{"cuda:1", "cuda:0"}));
  EXPECT_EQ(resolved("cpu,cuda:1", two_gpus), (std::vector<std::string>{"cpu", "cuda:1"}));
  EXPECT_EQ(cuda_index("cuda:1"), 1);
  EXPECT_EQ(cuda_index("cpu"), -1);
}

TEST(Devices, ACudaDeviceOnACpuOnlyBuildIsRefusedSayingHowToRebuild) {
  const std::string m = refusal("cuda:0", cpu_only_build);
  EXPECT_NE(m.find("cuda:0"), std::string::npos) << m;
  EXPECT_NE(m.find("CPU-only LibTorch; rebuild with a CUDA LibTorch: see README"),
            std::string::npos) << m;
  EXPECT_NE(m.find("--devices cpu"), std::string::npos) << m;
}

TEST(Devices, ADeviceTheMachineDoesNotShowIsRefusedListingThoseItHas) {
  const std::string m = refusal("cuda:0,cuda:2", two_gpus);
  EXPECT_NE(m.find("cuda:2: this machine shows 2 CUDA devices (cuda:0, cuda:1)"),
            std::string::npos) << m;
  const std::string none = refusal("cuda:0", device_support{0, true, "no CUDA driver"});
  EXPECT_NE(none.find("no CUDA device (no CUDA driver)"), std::string::npos) << none;
}

TEST(Devices, MalformedListsNameTheItemAndWhatIsAccepted) {
  for (const std::string text : {"gpu0", "cuda:", "cuda:x", "cuda:-1", "cuda:0,,cuda:1", "", " "}) {
    auto r = parse_devices(text);
    ASSERT_FALSE(r) << "'" << text << "' was accepted";
    EXPECT_NE(r.error().message.find("--devices"), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().code, error_code::invalid_config);
  }
  EXPECT_NE(parse_devices("gpu0").error().message.find("'gpu0' is not a device; write cpu, all, "
                                                      "or cuda:N"), std::string::npos);
  EXPECT_NE(parse_devices("cuda:0,cuda:0").error().message.find("cuda:0 is listed twice"),
            std::string::npos);
  EXPECT_NE(parse_devices("cpu,all").error().message.find("'all' stands alone"),
            std::string::npos);
}

}  // namespace
}  // namespace trainyard
