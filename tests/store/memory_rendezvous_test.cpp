// The in-memory rendezvous store: values, counters, blocking gets and their timeouts.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "runtime/store/memory_rendezvous.hpp"

namespace trainyard {
namespace {

using namespace std::chrono_literals;

std::vector<std::uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

TEST(MemoryRendezvous, SetThenGetAnswersAtOnceAndOverwrites) {
  memory_rendezvous store;
  ASSERT_TRUE(store.set("g/a", bytes("one")));
  auto a = store.get("g/a", 0ms);
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, bytes("one"));
  ASSERT_TRUE(store.set("g/a", bytes("two")));
  EXPECT_EQ(*store.get("g/a", 0ms), bytes("two"));
  EXPECT_EQ(store.size(), 1u);
}

TEST(MemoryRendezvous, GetOfAMissingKeyTimesOut) {
  memory_rendezvous store;
  const auto start = std::chrono::steady_clock::now();
  auto missing = store.get("g/none", 50ms);
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, error_code::timeout);
  EXPECT_NE(missing.error().message.find("g/none"), std::string::npos);
  EXPECT_GE(waited, 45ms);
  EXPECT_FALSE(store.get("g/none", 0ms));  // zero: a check, no wait
}

TEST(MemoryRendezvous, GetWakesWhenAnotherThreadSets) {
  memory_rendezvous store;
  std::thread setter([&] {
    std::this_thread::sleep_for(30ms);
    (void)store.set("g/late", bytes("here"));
  });
  const auto start = std::chrono::steady_clock::now();
  auto late = store.get("g/late", 10s);
  setter.join();
  ASSERT_TRUE(late);
  EXPECT_EQ(*late, bytes("here"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(MemoryRendezvous, AddCountsFromZeroAndIsReadableAsText) {
  memory_rendezvous store;
  EXPECT_EQ(*store.add("g/n", 1), 1);
  EXPECT_EQ(*store.add("g/n", 5), 6);
  EXPECT_EQ(*store.add("g/n", -2), 4);
  EXPECT_EQ(*store.get("g/n", 0ms), bytes("4"));
  ASSERT_TRUE(store.set("g/text", bytes("abc")));
  auto refused = store.add("g/text", 1);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, error_code::invalid_request);
}

TEST(MemoryRendezvous, ConcurrentAddsAllCount) {
  memory_rendezvous store;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 250; ++i)
        (void)store.add("g/count", 1);
    });
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(*store.add("g/count", 0), 1000);
}

}  // namespace
}  // namespace trainyard
