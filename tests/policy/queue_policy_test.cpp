// Tests of the queue order policy: the order jobs will run in after the commands a user gives
// (submit, move, top, cancel) and after a worker died (requeue at the head).
#include "runtime/policy/queue_policy.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

namespace trainyard {
namespace {

enum class op { push_back, push_front, move, top, remove, pop };

struct step {
  op what;
  job_id job = 0;
  std::size_t position = 0;
};

struct order_case {
  std::string name;
  std::vector<step> steps;
  std::vector<job_id> expected_order;  // head first: the order the jobs will run in
};

// Failure messages name the table row instead of dumping its bytes.
void PrintTo(const order_case& c, std::ostream* os) { *os << c.name; }

// Applies steps that must all succeed.
queue_policy apply(const std::vector<step>& steps) {
  queue_policy queue;
  for (const step& s : steps) {
    switch (s.what) {
      case op::push_back: EXPECT_TRUE(queue.push_back(s.job)) << "push_back " << s.job; break;
      case op::push_front: EXPECT_TRUE(queue.push_front(s.job)) << "push_front " << s.job; break;
      case op::move: EXPECT_TRUE(queue.move(s.job, s.position)) << "move " << s.job; break;
      case op::top: EXPECT_TRUE(queue.top(s.job)) << "top " << s.job; break;
      case op::remove: EXPECT_TRUE(queue.remove(s.job)) << "remove " << s.job; break;
      case op::pop: EXPECT_TRUE(queue.pop_front().has_value()); break;
    }
  }
  return queue;
}

std::vector<step> submit(std::vector<job_id> jobs) {
  std::vector<step> steps;
  for (job_id job : jobs)
    steps.push_back({op::push_back, job});
  return steps;
}

std::vector<step> operator+(std::vector<step> a, const std::vector<step>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

class QueuePolicyOrder : public testing::TestWithParam<order_case> {};

TEST_P(QueuePolicyOrder, RunsJobsInTheExpectedOrder) {
  queue_policy queue = apply(GetParam().steps);
  EXPECT_EQ(queue.order(), GetParam().expected_order);
  EXPECT_EQ(queue.size(), GetParam().expected_order.size());
  // The order the jobs are dispatched in is the order shown to the user.
  std::vector<job_id> dispatched;
  while (auto head = queue.pop_front())
    dispatched.push_back(*head);
  EXPECT_EQ(dispatched, GetParam().expected_order);
  EXPECT_TRUE(queue.empty());
}

INSTANTIATE_TEST_SUITE_P(
    QueuePolicy, QueuePolicyOrder,
    testing::Values(
        order_case{"submission_order", submit({1, 2, 3}), {1, 2, 3}},
        order_case{"move_last_to_head", submit({1, 2, 3, 4}) + std::vector<step>{{op::move, 4, 0}},
                   {4, 1, 2, 3}},
        order_case{"move_head_to_middle",
                   submit({1, 2, 3, 4}) + std::vector<step>{{op::move, 1, 2}}, {2, 3, 1, 4}},
        order_case{"move_forward_one", submit({1, 2, 3, 4}) + std::vector<step>{{op::move, 3, 1}},
                   {1, 3, 2, 4}},
        order_case{"move_back_one", submit({1, 2, 3, 4}) + std::vector<step>{{op::move, 2, 2}},
                   {1, 3, 2, 4}},
        order_case{"move_to_own_position", submit({1, 2, 3}) + std::vector<step>{{op::move, 2, 1}},
                   {1, 2, 3}},
        order_case{"move_to_tail", submit({1, 2, 3}) + std::vector<step>{{op::move, 1, 2}},
                   {2, 3, 1}},
        order_case{"move_past_tail_means_tail",
                   submit({1, 2, 3}) + std::vector<step>{{op::move, 1, 999}}, {2, 3, 1}},
        order_case{"top", submit({1, 2, 3}) + std::vector<step>{{op::top, 3}}, {3, 1, 2}},
        order_case{"top_of_head_keeps_order", submit({1, 2, 3}) + std::vector<step>{{op::top, 1}},
                   {1, 2, 3}},
        order_case{"cancel_middle", submit({1, 2, 3}) + std::vector<step>{{op::remove, 2}}, {1, 3}},
        order_case{"cancel_then_top",
                   submit({1, 2, 3, 4}) + std::vector<step>{{op::remove, 1}, {op::top, 4}},
                   {4, 2, 3}},
        order_case{"requeued_job_runs_first",
                   submit({1, 2, 3}) + std::vector<step>{{op::pop}, {op::push_front, 1}},
                   {1, 2, 3}},
        order_case{"requeue_then_submit",
                   submit({1, 2}) + std::vector<step>{{op::pop}, {op::push_back, 3},
                                                      {op::push_front, 1}},
                   {1, 2, 3}},
        order_case{"dispatched_job_can_be_resubmitted",
                   submit({1, 2}) + std::vector<step>{{op::pop}, {op::push_back, 1}}, {2, 1}},
        order_case{"moves_compose",
                   submit({1, 2, 3, 4, 5}) +
                       std::vector<step>{{op::move, 5, 1}, {op::top, 3}, {op::move, 1, 4}},
                   {3, 5, 2, 4, 1}}),
    [](const testing::TestParamInfo<order_case>& info) { return info.param.name; });

TEST(QueuePolicy, RefusesDuplicatesAndKeepsTheOrder) {
  queue_policy queue = apply(submit({7, 8}));
  auto again = queue.push_back(7);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, error_code::already_exists);
  EXPECT_NE(again.error().message.find("job 7"), std::string::npos) << again.error().message;

  auto again_front = queue.push_front(8);
  ASSERT_FALSE(again_front);
  EXPECT_EQ(again_front.error().code, error_code::already_exists);

  EXPECT_EQ(queue.order(), (std::vector<job_id>{7, 8}));
}

TEST(QueuePolicy, RefusesToMoveAJobThatIsNotQueued) {
  queue_policy queue = apply(submit({1, 2}));
  ASSERT_TRUE(queue.pop_front());  // job 1 is running now
  for (job_id job : {job_id{1}, job_id{42}}) {
    auto moved = queue.move(job, 0);
    ASSERT_FALSE(moved) << job;
    EXPECT_EQ(moved.error().code, error_code::unknown_job);
    EXPECT_NE(moved.error().message.find("job " + std::to_string(job) + " is not queued"),
              std::string::npos)
        << moved.error().message;
    auto topped = queue.top(job);
    ASSERT_FALSE(topped);
    EXPECT_EQ(topped.error().code, error_code::unknown_job);
  }
  EXPECT_EQ(queue.order(), (std::vector<job_id>{2}));
}

TEST(QueuePolicy, CancelOfAJobNotQueuedChangesNothing) {
  queue_policy queue = apply(submit({1, 2}));
  EXPECT_FALSE(queue.remove(3));
  EXPECT_TRUE(queue.remove(2));
  EXPECT_FALSE(queue.remove(2));
  EXPECT_EQ(queue.order(), (std::vector<job_id>{1}));
}

TEST(QueuePolicy, ReportsPositions) {
  queue_policy queue = apply(submit({10, 20, 30}));
  EXPECT_EQ(queue.position_of(10), std::optional<std::size_t>{0});
  EXPECT_EQ(queue.position_of(30), std::optional<std::size_t>{2});
  EXPECT_FALSE(queue.position_of(40).has_value());
  EXPECT_TRUE(queue.contains(20));
  ASSERT_TRUE(queue.move(30, 0));
  EXPECT_EQ(queue.position_of(10), std::optional<std::size_t>{1});
  EXPECT_FALSE(queue.contains(40));
}

TEST(QueuePolicy, EmptyQueueHasNoHead) {
  queue_policy queue;
  EXPECT_TRUE(queue.empty());
  EXPECT_FALSE(queue.pop_front().has_value());
  EXPECT_FALSE(queue.move(1, 0));
  EXPECT_FALSE(queue.remove(1));
}

}  // namespace
}  // namespace trainyard

namespace trainyard {
namespace {

// Keys ascend from head to tail after any sequence of operations.
void expect_keys_follow_order(const queue_policy& q) {
  std::optional<std::int64_t> previous;
  for (auto id : q.order()) {
    auto key = q.key_of(id);
    ASSERT_TRUE(key);
    if (previous) EXPECT_LT(*previous, *key) << "job " << id;
    previous = key;
  }
}

TEST(QueueKeys, APushOrAMoveChangesOneStoredKey) {
  queue_policy q;
  for (job_id id = 1; id <= 1000; ++id) {
    ASSERT_TRUE(q.push_back(id));
    ASSERT_EQ(q.changed_keys().size(), 1u);
    EXPECT_EQ(q.changed_keys()[0].first, id);
  }
  ASSERT_TRUE(q.move(1000, 0));
  EXPECT_EQ(q.changed_keys().size(), 1u);
  ASSERT_TRUE(q.move(1, 500));
  EXPECT_EQ(q.changed_keys().size(), 1u);
  ASSERT_TRUE(q.push_front(1001));
  EXPECT_EQ(q.changed_keys().size(), 1u);
  EXPECT_EQ(q.order().front(), 1001u);
  q.pop_front();
  EXPECT_TRUE(q.changed_keys().empty());
  expect_keys_follow_order(q);
}

TEST(QueueKeys, CrowdedNeighboursRenumberEveryKeyOnce) {
  queue_policy q;
  for (job_id id = 1; id <= 3; ++id) ASSERT_TRUE(q.push_back(id));
  // Halving the gap between the first two jobs runs out of room after about 20 moves.
  bool renumbered = false;
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(q.move(3, 1));
    ASSERT_TRUE(q.move(2, 1));
    if (q.changed_keys().size() == 3) renumbered = true;
    expect_keys_follow_order(q);
  }
  EXPECT_TRUE(renumbered);
}

TEST(QueueKeys, RestoreOrdersByKeyAndSpacesOutOldPositions) {
  queue_policy q;
  q.restore({{queue_policy::first_key + 5, 7}, {queue_policy::first_key, 9}});
  EXPECT_EQ(q.order(), (std::vector<job_id>{9, 7}));
  EXPECT_TRUE(q.changed_keys().empty());  // valid keys are kept as stored
  // A store written with positions 0, 1, 2 gets spaced keys, all of them to be saved.
  q.restore({{1, 4}, {0, 3}, {2, 5}});
  EXPECT_EQ(q.order(), (std::vector<job_id>{3, 4, 5}));
  EXPECT_EQ(q.changed_keys().size(), 3u);
  expect_keys_follow_order(q);
}

}  // namespace
}  // namespace trainyard
