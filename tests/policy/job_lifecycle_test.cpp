// Tests of a job's phases in the scheduler: every event in every phase, as a table. The scheduler
// acts on what advance() answers (start, cancel, requeue, finish), so this table is its lifecycle.
#include "runtime/policy/job_lifecycle.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace trainyard {
namespace {

using p = job_phase;
using ev = job_event;
constexpr auto none = std::nullopt;

struct lifecycle_case {
  job_phase from;
  job_event event;
  std::optional<job_state> rank0;
  std::optional<job_phase> expected;
};

std::string name_of(const lifecycle_case& c) {
  std::string name = std::string(to_string(c.from)) + "_" + to_string(c.event);
  if (c.rank0)
    name += std::string("_rank0_") + to_string(*c.rank0);
  return name;
}

void PrintTo(const lifecycle_case& c, std::ostream* os) { *os << name_of(c); }

class JobLifecycle : public testing::TestWithParam<lifecycle_case> {};

TEST_P(JobLifecycle, AdvancesToTheExpectedPhase) {
  const auto& c = GetParam();
  EXPECT_EQ(advance(c.from, c.event, c.rank0), c.expected);
}

constexpr auto completed = job_state::completed;
constexpr auto stopped = job_state::stopped;
constexpr auto failed = job_state::failed;

INSTANTIATE_TEST_SUITE_P(
    Phases, JobLifecycle,
    testing::Values(
        // The plain life: queued, granting, running, done.
        lifecycle_case{p::queued, ev::dispatched, none, p::granting},
        lifecycle_case{p::granting, ev::granted, none, p::running},
        lifecycle_case{p::running, ev::ranks_ended, completed, p::done},
        lifecycle_case{p::running, ev::ranks_ended, failed, p::done},
        lifecycle_case{p::running, ev::ranks_ended, none, p::queued},  // rank 0 never reported
        lifecycle_case{p::granting, ev::grant_failed, none, p::done},
        // Dispatch and grants only where they belong; a late grant is dropped.
        lifecycle_case{p::running, ev::dispatched, none, none},
        lifecycle_case{p::queued, ev::granted, none, none},
        lifecycle_case{p::running, ev::granted, none, none},
        lifecycle_case{p::done, ev::granted, none, none},
        lifecycle_case{p::running, ev::grant_failed, none, none},
        lifecycle_case{p::queued, ev::ranks_ended, completed, none},
        lifecycle_case{p::granting, ev::ranks_ended, completed, none},
        // A retry: only a job that is done (the scheduler retries only failed or cancelled ones).
        lifecycle_case{p::done, ev::retried, none, p::queued},
        lifecycle_case{p::queued, ev::retried, none, none},
        lifecycle_case{p::running, ev::retried, none, none},
        lifecycle_case{p::granting, ev::retried, none, none},
        // Cancel: queued jobs only.
        lifecycle_case{p::queued, ev::cancel_asked, none, p::done},
        lifecycle_case{p::granting, ev::cancel_asked, none, none},
        lifecycle_case{p::running, ev::cancel_asked, none, none},
        lifecycle_case{p::done, ev::cancel_asked, none, none},
        // Stop: a queued job is cancelled, a granting one cancelled at its grant, a running one
        // ends stopped; a finished one has nothing to stop.
        lifecycle_case{p::queued, ev::stop_asked, none, p::done},
        lifecycle_case{p::granting, ev::stop_asked, none, p::cancelling},
        lifecycle_case{p::cancelling, ev::granted, none, p::done},
        lifecycle_case{p::cancelling, ev::grant_failed, none, p::done},
        lifecycle_case{p::running, ev::stop_asked, none, p::stopping},
        lifecycle_case{p::stopping, ev::stop_asked, none, p::stopping},
        lifecycle_case{p::stopping, ev::ranks_ended, stopped, p::done},
        lifecycle_case{p::stopping, ev::ranks_ended, completed, p::done},
        lifecycle_case{p::done, ev::stop_asked, none, none},
        // Shutdown: granting jobs are requeued at their grant, running ones interrupted; an
        // interrupted job that stopped resumes later, one that ended anyway is done.
        lifecycle_case{p::queued, ev::shutdown, none, p::queued},
        lifecycle_case{p::granting, ev::shutdown, none, p::requeuing},
        lifecycle_case{p::cancelling, ev::shutdown, none, p::requeuing},
        lifecycle_case{p::requeuing, ev::granted, none, p::queued},
        lifecycle_case{p::requeuing, ev::grant_failed, none, p::done},
        lifecycle_case{p::running, ev::shutdown, none, p::interrupting},
        lifecycle_case{p::stopping, ev::shutdown, none, p::interrupting},
        lifecycle_case{p::interrupting, ev::ranks_ended, stopped, p::queued},
        lifecycle_case{p::interrupting, ev::ranks_ended, completed, p::done},
        lifecycle_case{p::interrupting, ev::ranks_ended, failed, p::done},
        lifecycle_case{p::interrupting, ev::ranks_ended, none, p::queued},
        lifecycle_case{p::interrupting, ev::stop_asked, none, p::interrupting},
        lifecycle_case{p::done, ev::shutdown, none, p::done},
        // A lost rank: a granting job is requeued at its grant (a cancelled one stays
        // cancelled); a running one resumes unless rank 0 completed.
        lifecycle_case{p::granting, ev::rank_lost, none, p::requeuing},
        lifecycle_case{p::cancelling, ev::rank_lost, none, p::cancelling},
        lifecycle_case{p::requeuing, ev::stop_asked, none, p::cancelling},
        lifecycle_case{p::running, ev::rank_lost, none, p::rank_lost},
        lifecycle_case{p::stopping, ev::rank_lost, none, p::rank_lost},
        lifecycle_case{p::interrupting, ev::rank_lost, none, p::rank_lost},
        lifecycle_case{p::rank_lost, ev::shutdown, none, p::rank_lost},
        lifecycle_case{p::rank_lost, ev::stop_asked, none, p::rank_lost},
        lifecycle_case{p::rank_lost, ev::ranks_ended, completed, p::done},
        lifecycle_case{p::rank_lost, ev::ranks_ended, stopped, p::queued},
        lifecycle_case{p::rank_lost, ev::ranks_ended, failed, p::queued},
        lifecycle_case{p::queued, ev::rank_lost, none, none},
        lifecycle_case{p::done, ev::rank_lost, none, none}),
    [](const testing::TestParamInfo<lifecycle_case>& info) { return name_of(info.param); });

}  // namespace
}  // namespace trainyard
