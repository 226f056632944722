// `trainyard run` in the test's own process: a finished job's test set is evaluated once (by the
// job), and `run` prints the metrics the job reported.
#include <fstream>

#include <gtest/gtest.h>

#include "nodes/commands.hpp"
#include "runtime/train/evaluation_count.hpp"
#include "tests/support/temp_folder.hpp"

namespace trainyard::testing {
namespace {

TEST(RunCommand, EvaluatesEachFinishedJobsTestSetOnceAndPrintsWhatTheJobReported) {
  temp_folder dir{"run-command"};
  const std::string workspace = (dir.path() / "yard").string();
  const std::string campaign = (dir.path() / "two.ini").string();
  std::ofstream(campaign) << "[campaign]\nworkspace = " << workspace
                          << "\n[dataset.fashion]\nkind = fashion-mnist\nsubset = train\n"
                             "[split.small]\ndataset = fashion\nmode = count\ntrain = 600\n"
                             "validation = 200\ntest = 200\nseed = 3\n"
                             "[tool.shirts]\nkind = classify\ndataset = fashion\nmodel_width = 8\n"
                             "[tool.coats]\nkind = classify\ndataset = fashion\nmodel_width = 8\n"
                             "[job.first]\ntool = shirts\nsplit = small\niterations = 1\n"
                             "batch_size = 64\n"
                             "[job.second]\ntool = coats\nsplit = small\niterations = 1\n"
                             "batch_size = 64\n";
  run_options options;
  options.campaign = campaign;
  options.plain = true;
  const std::int64_t before = test_evaluations();
  ::testing::internal::CaptureStdout();
  const int code = run_command(options);
  const std::string out = ::testing::internal::GetCapturedStdout();
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(test_evaluations() - before, 2) << "two jobs, one test-set evaluation each";
  EXPECT_NE(out.find("shirts on the test set: accuracy"), std::string::npos) << out;
  EXPECT_NE(out.find("coats on the test set: accuracy"), std::string::npos) << out;
  EXPECT_NE(out.find("(200 images)"), std::string::npos) << out;
}

}  // namespace
}  // namespace trainyard::testing
