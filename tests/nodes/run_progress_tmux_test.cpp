// `trainyard run`'s progress as a user sees it: a small real campaign (two jobs on a slice of
// Fashion-MNIST, the second continuing the first's tool by one iteration) run in a tmux terminal
// of 60, 80 and 200 columns, the screen and its history read once the run ended. Each job has
// one line, never wider than the terminal, and its last state is right. Skipped, with the
// reason, without tmux. Every wait is bounded.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "runtime/ui/monitor_view.hpp"
#include "tests/nodes/tmux_session.hpp"
#include "tests/support/temp_folder.hpp"

namespace trainyard::testing {
namespace {

using namespace std::chrono_literals;

const std::string binary = TRAINYARD_BINARY;

// The rows of `screen` that begin with `name` and a space: a job's progress lines (the report
// after the run starts its rows with "job ").
std::vector<std::string> rows_of(const std::string& screen, const std::string& name) {
  std::vector<std::string> rows;
  std::istringstream in(screen);
  for (std::string row; std::getline(in, row);)
    if (row.compare(0, name.size() + 1, name + " ") == 0)
      rows.push_back(row);
  return rows;
}

class RunProgressTmux : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    if (!tmux_session::available())
      GTEST_SKIP() << "tmux is not installed at " << tmux_session::program;
  }
  std::string campaign(const std::string& workspace) {
    auto path = (dir_ / "two.ini").string();
    std::ofstream(path)
      << "[campaign]\nworkspace = " << workspace
      << "\n[dataset.fashion]\nkind = fashion-mnist\nsubset = train\n"
         "[split.small]\ndataset = fashion\nmode = count\ntrain = 600\nvalidation = 200\n"
         "test = 200\nseed = 3\n"
         "[tool.shirts]\nkind = classify\ndataset = fashion\nmodel_width = 8\n"
         "[job.first]\ntool = shirts\nsplit = small\niterations = 2\nbatch_size = 64\n"
         "[job.more]\ntool = shirts\nsplit = small\ncontinue = true\niterations = 1\n"
         "batch_size = 64\n";
    return path;
  }

  temp_folder dir_{"run-tmux"};
};

TEST_P(RunProgressTmux, EachJobHasOneLineThatFitsTheWidthAndEndsRight) {
  const int columns = GetParam();
  const auto workspace = (dir_ / "yard").string();
  tmux_session terminal("trainyard-run-" + std::to_string(columns));
  // The shell stays after the run so that its screen can be read; the session ends with the test.
  auto [started, why] = terminal.start(
    binary + " run " + campaign(workspace) + "; echo \"run exited $?\"; sleep 600", columns, 40);
  ASSERT_EQ(started, 0) << why;
  ASSERT_TRUE(eventually(
    [&] { return terminal.screen().find("run exited") != std::string::npos; }, 300s))
    << terminal.screen();
  const auto screen = terminal.screen(true);
  EXPECT_NE(screen.find("run exited 0"), std::string::npos) << screen;

  const auto first = rows_of(screen, "first");
  const auto more = rows_of(screen, "more");
  // One row each, over the whole history: no stale copy above, no wrapped remainder.
  ASSERT_EQ(first.size(), 1u) << screen;
  ASSERT_EQ(more.size(), 1u) << screen;
  for (const auto& row : {first[0], more[0]})
    EXPECT_LT(display_width(row), columns) << "a progress line fills the row and may wrap:\n"
                                           << row;
  EXPECT_EQ(first[0].find('%'), more[0].find('%')) << "the block's columns align:\n" << screen;
  EXPECT_NE(first[0].find("100% completed  it 2/2"), std::string::npos) << screen;
  // The continue job counts its own iteration, not its tool's three.
  EXPECT_NE(more[0].find("100% completed  it 1/1"), std::string::npos) << screen;
  if (columns >= 200) {
    EXPECT_NE(first[0].find("[########################]"), std::string::npos) << screen;
  }
}

INSTANTIATE_TEST_SUITE_P(Widths, RunProgressTmux, ::testing::Values(60, 80, 200),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return "Columns" + std::to_string(info.param);
                         });

}  // namespace
}  // namespace trainyard::testing
