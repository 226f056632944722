// The one map from errors and job states to exit codes: the codes the README and
// docs/cluster.md document.
#include "nodes/exit_codes.hpp"

#include <gtest/gtest.h>

namespace trainyard {
namespace {

TEST(ExitCodes, EveryErrorCodeMapsToItsDocumentedExitCode) {
  struct row {
    error_code code;
    int exit;
  };
  const row table[] = {
      {error_code::none, 0},
      {error_code::invalid_config, 2},     // bad input
      {error_code::dataset_unreadable, 1},
      {error_code::image_corrupt, 1},
      {error_code::split_locked, 1},       // a refused request
      {error_code::split_mismatch, 1},
      {error_code::unknown_job, 1},
      {error_code::unknown_tool, 1},
      {error_code::unknown_split, 1},
      {error_code::unknown_dataset, 1},
      {error_code::invalid_request, 1},
      {error_code::out_of_memory, 1},
      {error_code::training_failed, 1},
      {error_code::storage_failed, 1},
      {error_code::timeout, 5},
      {error_code::interrupted, 6},        // the scheduler is unreachable or went away
      {error_code::already_exists, 1},
  };
  for (const auto& r : table)
    EXPECT_EQ(exit_code_of(r.code), r.exit) << to_string(r.code);
  EXPECT_EQ(bad_input_exit_code, 2);
  EXPECT_EQ(interrupted_exit_code, 130);
}

TEST(ExitCodes, AWaitedJobsStateMapsToItsExitCode) {
  EXPECT_EQ(exit_code_of(job_state::completed), 0);
  EXPECT_EQ(exit_code_of(job_state::stopped), 3);
  EXPECT_EQ(exit_code_of(job_state::cancelled), 4);
  EXPECT_EQ(exit_code_of(job_state::failed), 1);
}

}  // namespace
}  // namespace trainyard
