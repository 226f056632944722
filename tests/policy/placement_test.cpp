// Tests of gang placement: which worker slots the head of the queue runs on, and whether a job
// could ever be placed on a set of slots (the rule `trainyard run` refuses multi-device jobs by).
#include "runtime/policy/placement.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace trainyard {
namespace {

constexpr slot_view idle{true, true};
constexpr slot_view busy{true, false};
constexpr slot_view dead{false, true};
constexpr slot_view dead_busy{false, false};
constexpr slot_view gpu_idle{true, true, true};
constexpr slot_view gpu_busy{true, false, true};

struct placement_case {
  std::string name;
  int devices;
  std::vector<slot_view> slots;
  std::optional<std::vector<std::size_t>> expected;  // rank 0 first; none: the job waits
  bool ever_placeable;
};

void PrintTo(const placement_case& c, std::ostream* os) { *os << c.name; }

using slots = std::vector<std::size_t>;

class Placement : public testing::TestWithParam<placement_case> {};

TEST_P(Placement, ChoosesTheFirstIdleLiveSlotsOrWaits) {
  const auto& c = GetParam();
  EXPECT_EQ(place(placement_need{c.devices}, c.slots), c.expected);
  EXPECT_EQ(placeable(placement_need{c.devices}, c.slots), c.ever_placeable);
}

INSTANTIATE_TEST_SUITE_P(
    Gang, Placement,
    testing::Values(
        placement_case{"no_slots", 1, {}, std::nullopt, false},
        placement_case{"one_idle", 1, {idle}, slots{0}, true},
        placement_case{"zero_devices_means_one", 0, {idle}, slots{0}, true},
        placement_case{"negative_devices_means_one", -3, {busy, idle}, slots{1}, true},
        placement_case{"skips_busy", 1, {busy, busy, idle}, slots{2}, true},
        placement_case{"skips_dead", 1, {dead, idle}, slots{1}, true},
        placement_case{"all_busy_waits", 1, {busy, busy}, std::nullopt, true},
        placement_case{"only_dead_never", 1, {dead, dead_busy}, std::nullopt, false},
        placement_case{"gang_of_two_in_slot_order", 2, {idle, busy, idle, idle}, slots{0, 2},
                       true},
        placement_case{"gang_waits_for_enough_idle", 2, {idle, busy}, std::nullopt, true},
        placement_case{"gang_larger_than_the_yard_never", 2, {idle}, std::nullopt, false},
        placement_case{"gang_counts_live_slots_only", 3, {idle, dead, idle}, std::nullopt, false},
        placement_case{"gang_of_all", 3, {idle, idle, idle}, slots{0, 1, 2}, true}),
    [](const testing::TestParamInfo<placement_case>& info) { return info.param.name; });

// Mixed nodes (`--devices cpu,cuda:0`): a job's ranks share one kind of device, GPUs first; a
// kind that trains on the CPU only never gets a GPU.
TEST(PlacementOnDevices, RanksShareOneKindOfDeviceAndGpusComeFirst) {
  const std::vector<slot_view> mixed{idle, gpu_idle, idle, gpu_idle};
  EXPECT_EQ(place(placement_need{1}, mixed), slots{1});
  EXPECT_EQ(place(placement_need{2}, mixed), (slots{1, 3}));
  // One GPU busy: a two-rank job does not mix a GPU with a CPU; it takes the two CPUs.
  EXPECT_EQ(place(placement_need{2}, {idle, gpu_busy, idle, gpu_idle}), (slots{0, 2}));
  EXPECT_EQ(place(placement_need{2}, {idle, gpu_busy, busy, gpu_idle}), std::nullopt);
  // Three ranks: two of each kind is never enough.
  EXPECT_FALSE(placeable(placement_need{3}, mixed));
}

TEST(PlacementOnDevices, ACpuOnlyKindWaitsForACpuAndNeverTakesAGpu) {
  EXPECT_EQ(place(placement_need{1, true}, {gpu_idle, busy, idle}), slots{2});
  EXPECT_EQ(place(placement_need{1, true}, {gpu_idle, busy}), std::nullopt);
  EXPECT_TRUE(placeable(placement_need{1, true}, {gpu_idle, busy}));
  EXPECT_FALSE(placeable(placement_need{1, true}, {gpu_idle, gpu_idle}));
  EXPECT_TRUE(placeable(placement_need{1, false}, {gpu_idle, gpu_idle}));
}

}  // namespace
}  // namespace trainyard
