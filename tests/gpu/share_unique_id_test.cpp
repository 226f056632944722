// share_unique_id: rank 0's NCCL id reaching every rank of a group, through the real rendezvous
// actor (ranks as threads, each with its own client) and through the in-memory store. The ids
// are fake (128 known bytes), so no NCCL and no GPU is needed.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <caf/all.hpp>

#include "actors/embedded_yard.hpp"
#include "actors/rendezvous.hpp"
#include "gpu/nccl_group.hpp"
#include "runtime/store/memory_rendezvous.hpp"

namespace trainyard {
namespace {

using namespace std::chrono_literals;
using id_bytes = std::vector<std::uint8_t>;

id_bytes known_id() {
  id_bytes id(nccl_id_bytes);
  for (std::size_t i = 0; i < id.size(); ++i)
    id[i] = static_cast<std::uint8_t>(255 - i);
  return id;
}

expected<id_bytes> fake_id() { return known_id(); }

// What every rank's share_unique_id answered, by rank.
struct outcomes {
  std::vector<expected<id_bytes>> by_rank;
};

class ShareUniqueId : public ::testing::Test {
 protected:
  ShareUniqueId() : system_((configure_actor_system(cfg_), cfg_)) {}
  ~ShareUniqueId() override { caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown); }

  // Runs `world` ranks as threads, each through its own client of the rendezvous actor.
  outcomes run_ranks(int world, const std::string& group,
                     const std::function<expected<id_bytes>()>& make_id,
                     std::chrono::milliseconds timeout) {
    outcomes out;
    out.by_rank.assign(world, make_failure(error_code::none, "not run"));
    std::vector<std::thread> ranks;
    for (int r = 0; r < world; ++r)
      ranks.emplace_back([this, r, group, make_id, timeout, &out] {
        auto client = rendezvous_client(system_, actor_);
        out.by_rank[r] = share_unique_id(*client, group, r, make_id, timeout);
      });
    for (auto& t : ranks)
      t.join();
    return out;
  }

  caf::actor_system_config cfg_;
  caf::actor_system system_;
  rendezvous_actor actor_ = spawn_rendezvous(system_);
};

TEST_F(ShareUniqueId, EveryRankGetsRankZerosBytesThroughTheRendezvousActor) {
  const outcomes out = run_ranks(4, "job3.run1", fake_id, 30s);
  for (int r = 0; r < 4; ++r) {
    ASSERT_TRUE(out.by_rank[r]) << "rank " << r << ": " << out.by_rank[r].error().message;
    EXPECT_EQ(*out.by_rank[r], known_id()) << "rank " << r;
  }
  // Another group (another run of the job) does not see this one's id.
  auto client = rendezvous_client(system_, actor_);
  auto other = share_unique_id(*client, "job3.run2", 1, fake_id, 50ms);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, error_code::training_failed);
  EXPECT_NE(other.error().message.find("rank 1 of group job3.run2"), std::string::npos)
      << other.error().message;
  EXPECT_NE(other.error().message.find("did not come within 0.05 s"), std::string::npos)
      << other.error().message;
}

TEST_F(ShareUniqueId, RankZerosFailureReachesTheOthersInsteadOfTheirTimeout) {
  const auto broken = [] {
    return expected<id_bytes>(
        make_failure(error_code::training_failed, "NCCL could not make a unique id: no socket"));
  };
  // The generous timeout would fail the test run if the others waited it out.
  const outcomes out = run_ranks(4, "job4.run1", broken, 30s);
  const std::string expected_message =
      "rank 0 of group job4.run1 could not make the NCCL unique id: "
      "NCCL could not make a unique id: no socket";
  for (int r = 0; r < 4; ++r) {
    ASSERT_FALSE(out.by_rank[r]) << "rank " << r;
    EXPECT_EQ(out.by_rank[r].error().code, error_code::training_failed) << "rank " << r;
    EXPECT_EQ(out.by_rank[r].error().message, expected_message) << "rank " << r;
  }
}

TEST(ShareUniqueIdInMemory, AFailureTextOfAnIdsLengthIsStillAFailure) {
  const std::string prefix = "failed: ";
  for (std::size_t length : {std::size_t{1}, nccl_id_bytes - prefix.size() - 1,
                             nccl_id_bytes - prefix.size(), nccl_id_bytes}) {
    memory_rendezvous store;
    const std::string why(length, 'x');
    auto make = [&why] { return expected<id_bytes>(make_failure(error_code::training_failed, why)); };
    auto zero = share_unique_id(store, "g", 0, make, 0ms);
    auto one = share_unique_id(store, "g", 1, make, 0ms);
    ASSERT_FALSE(zero);
    ASSERT_FALSE(one) << "length " << length;
    EXPECT_EQ(one.error().message, zero.error().message) << "length " << length;
    EXPECT_EQ(one.error().message, "rank 0 of group g could not make the NCCL unique id: " + why);
  }
}

TEST(ShareUniqueIdInMemory, RankZeroRefusesAnIdOfTheWrongLengthAndTellsTheOthers) {
  memory_rendezvous store;
  auto short_id = [] { return expected<id_bytes>(id_bytes(16, 7)); };
  auto zero = share_unique_id(store, "g", 0, short_id, 0ms);
  ASSERT_FALSE(zero);
  EXPECT_NE(zero.error().message.find("the id has 16 bytes instead of 128"), std::string::npos)
      << zero.error().message;
  auto one = share_unique_id(store, "g", 1, short_id, 0ms);
  ASSERT_FALSE(one);
  EXPECT_EQ(one.error().message, zero.error().message);
}

TEST(ShareUniqueIdInMemory, OnlyRankZeroMakesTheId) {
  memory_rendezvous store;
  int made = 0;
  auto counting = [&made] {
    ++made;
    return fake_id();
  };
  ASSERT_TRUE(share_unique_id(store, "g", 0, counting, 0ms));
  for (int r = 1; r < 3; ++r) {
    auto got = share_unique_id(store, "g", r, counting, 0ms);
    ASSERT_TRUE(got) << got.error().message;
    EXPECT_EQ(*got, known_id());
  }
  EXPECT_EQ(made, 1);
}

TEST(ShareUniqueIdInMemory, ABadGroupOrRankIsRefused) {
  memory_rendezvous store;
  auto no_group = share_unique_id(store, "", 0, fake_id, 0ms);
  ASSERT_FALSE(no_group);
  EXPECT_EQ(no_group.error().code, error_code::invalid_request);
  auto negative = share_unique_id(store, "g", -1, fake_id, 0ms);
  ASSERT_FALSE(negative);
  EXPECT_EQ(negative.error().code, error_code::invalid_request);
  EXPECT_EQ(store.size(), 0u);
}

TEST(ShareUniqueIdInMemory, ANonIdValueUnderTheKeyIsReported) {
  memory_rendezvous store;
  ASSERT_TRUE(store.set("g/nccl/id", id_bytes{1, 2, 3}));
  auto got = share_unique_id(store, "g", 2, fake_id, 0ms);
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().message.find("holds 3 bytes, not an NCCL unique id of 128"),
            std::string::npos)
      << got.error().message;
}

}  // namespace
}  // namespace trainyard
