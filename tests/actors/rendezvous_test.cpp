// The rendezvous actor through the client the training thread uses: values, counters in the
// encoding memory_rendezvous keeps (decimal text), gets that wait for their key or time out,
// and the keys of a finished run forgotten.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <caf/all.hpp>

#include "actors/embedded_yard.hpp"
#include "actors/rendezvous.hpp"
#include "runtime/store/memory_rendezvous.hpp"

namespace trainyard {
namespace {

using namespace std::chrono_literals;

std::vector<std::uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

class Rendezvous : public ::testing::Test {
 protected:
  Rendezvous() : system_((configure_actor_system(cfg_), cfg_)) {}
  // Pending deadlines keep the actor alive; end it as the scheduler it is linked to would.
  ~Rendezvous() override { caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown); }
  caf::actor_system_config cfg_;
  caf::actor_system system_;
  rendezvous_actor actor_ = spawn_rendezvous(system_);
  std::unique_ptr<rendezvous_store> store_ = rendezvous_client(system_, actor_);
};

TEST_F(Rendezvous, SetGetAndCountersAsMemoryRendezvousKeepsThem) {
  memory_rendezvous memory;
  for (rendezvous_store* s : {store_.get(), static_cast<rendezvous_store*>(&memory)}) {
    ASSERT_TRUE(s->set("g/a", bytes("one")));
    EXPECT_EQ(*s->get("g/a", 0ms), bytes("one"));
    EXPECT_EQ(*s->add("g/n", 3), 3);
    EXPECT_EQ(*s->add("g/n", 1), 4);
    EXPECT_EQ(*s->get("g/n", 0ms), bytes("4"));  // one encoding: decimal text
    auto refused = s->add("g/a", 1);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, error_code::invalid_request);
  }
}

TEST_F(Rendezvous, AGetWaitsForItsKeyOrTimesOut) {
  auto missing = store_->get("g/none", 50ms);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, error_code::timeout);
  EXPECT_NE(missing.error().message.find("g/none"), std::string::npos);
  EXPECT_FALSE(store_->get("g/none", 0ms));  // zero: a check, no wait
  std::thread setter([&] { (void)rendezvous_client(system_, actor_)->set("g/late", bytes("x")); });
  auto late = store_->get("g/late", 30s);
  setter.join();
  ASSERT_TRUE(late) << late.error().message;
  EXPECT_EQ(*late, bytes("x"));
}

TEST_F(Rendezvous, DropForgetsTheKeysOfOneGroupOnly) {
  ASSERT_TRUE(store_->set("job1.run1/a", bytes("1")));
  ASSERT_TRUE(store_->set("job1.run2/a", bytes("2")));
  caf::anon_send(actor_, rdv_drop_atom::value, std::string("job1.run1/"));
  EXPECT_FALSE(store_->get("job1.run1/a", 0ms));
  EXPECT_EQ(*store_->get("job1.run2/a", 0ms), bytes("2"));
}

}  // namespace
}  // namespace trainyard
