// `trainyard compare` on a real workspace: a campaign with a job and a sweep over its learning
// rate trains two small classifiers on a Fashion-MNIST slice; compare shows exactly the setting
// that differs, each job's metrics as the workspace stored them, the same as JSON, and their
// validation curves in one PNG.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/train/images.hpp"
#include "tests/nodes/process.hpp"
#include "tests/support/temp_folder.hpp"

namespace trainyard::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

const std::string binary = TRAINYARD_BINARY;

std::vector<std::string> words_of(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string w; in >> w;)
    words.push_back(w);
  return words;
}

std::string four_decimals(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4f", v);
  return text;
}

class Compare : public ::testing::Test {
 protected:
  // Two trainings, the job and its sweep variant, in one workspace shared by the tests.
  static void SetUpTestSuite() {
    dir_ = std::make_unique<temp_folder>("compare");
    const std::string campaign = (dir_->path() / "sweep.ini").string();
    std::ofstream(campaign)
        << "[campaign]\nworkspace = " << workspace() << "\n"
        << "[dataset.fashion]\nkind = fashion-mnist\nsubset = train\n"
        << "[split.small]\ndataset = fashion\nmode = count\ntrain = 600\nvalidation = 200\n"
        << "test = 200\nseed = 3\n"
        << "[tool.shirts]\nkind = classify\ndataset = fashion\nmodel_width = 8\n"
        << "[job.first]\ntool = shirts\nsplit = small\niterations = 2\nbatch_size = 64\n"
        << "[sweep.lr]\njob = first\nlearning_rate = 0.002\n";
    auto [code, out] = run_program({binary, "run", campaign, "--plain"}, 600s);
    run_code_ = code;
    run_out_ = out;
  }
  static void TearDownTestSuite() { dir_.reset(); }
  void SetUp() override { ASSERT_EQ(run_code_, 0) << run_out_; }

  static std::string workspace() { return (dir_->path() / "yard").string(); }

  // Each job's stored final metrics, by name, as `queue --json` reports them.
  static std::map<std::string, nlohmann::json> stored_jobs() {
    auto [code, out] = run_program({binary, "queue", "--json", "-w", workspace()}, 60s, false);
    EXPECT_EQ(code, 0) << out;
    std::map<std::string, nlohmann::json> jobs;
    for (const auto& j : nlohmann::json::parse(out))
      jobs[j["name"].get<std::string>()] = j;
    return jobs;
  }

  static inline std::unique_ptr<temp_folder> dir_;
  static inline int run_code_ = -1;
  static inline std::string run_out_;
};

const std::string variant = "first@learning_rate=0.002";

TEST_F(Compare, TheTableShowsOnlyTheDifferingSettingAndEachJobsMetrics) {
  auto [code, out] = run_program({binary, "compare", "first", "first@", "-w", workspace()}, 60s);
  ASSERT_EQ(code, 0) << out;
  std::istringstream lines(out);
  std::string header, first_row, variant_row;
  std::getline(lines, header);
  std::getline(lines, first_row);
  std::getline(lines, variant_row);
  const auto columns = words_of(header);
  // job, the one setting the sweep changed, state, best, then the metrics, monitored first.
  ASSERT_GE(columns.size(), 6u) << out;
  EXPECT_EQ(std::vector<std::string>(columns.begin(), columns.begin() + 6),
            (std::vector<std::string>{"job", "learning_rate", "state", "best", "val_accuracy",
                                      "test_accuracy"}))
      << out;
  auto stored = stored_jobs();
  for (const auto& [name, row] : {std::pair{std::string("first"), first_row},
                                  std::pair{variant, variant_row}}) {
    const auto cells = words_of(row);
    ASSERT_EQ(cells.size(), columns.size()) << out;
    EXPECT_EQ(cells[0], name) << out;
    EXPECT_EQ(cells[1], name == "first" ? "auto" : "0.002") << out;  // auto: the kind's rate
    EXPECT_EQ(cells[2], "completed") << out;
    const auto& job = stored.at(name);
    EXPECT_EQ(cells[3], std::to_string(job["best_iteration"].get<int>())) << out;
    // Every metric column holds the job's stored value, to four decimals.
    for (std::size_t c = 4; c < columns.size(); ++c) {
      ASSERT_TRUE(job["final_metrics"].contains(columns[c])) << columns[c] << "\n" << out;
      EXPECT_EQ(cells[c], four_decimals(job["final_metrics"][columns[c]].get<double>()))
          << columns[c] << "\n" << out;
    }
  }
}

TEST_F(Compare, JsonAndPngCarryTheSameComparison) {
  const std::string png = (dir_->path() / "curves.png").string();
  auto [code, out] = run_program(
      {binary, "compare", "first", variant, "-w", workspace(), "--json", "--png", png}, 60s,
      false);
  ASSERT_EQ(code, 0) << out;
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["settings"], nlohmann::json::array({"learning_rate"})) << out;
  ASSERT_GE(j["metrics"].size(), 2u) << out;
  EXPECT_EQ(j["metrics"][0], "val_accuracy");
  EXPECT_EQ(j["metrics"][1], "test_accuracy");
  ASSERT_EQ(j["jobs"].size(), 2u) << out;
  auto stored = stored_jobs();
  for (const auto& job : j["jobs"]) {
    const auto name = job["job"].get<std::string>();
    EXPECT_EQ(job["state"], "completed");
    EXPECT_EQ(job["settings"]["learning_rate"], name == "first" ? "auto" : "0.002");
    EXPECT_EQ(job["tool"], name == "first" ? "shirts" : "shirts@learning_rate=0.002");
    for (const auto& metric : j["metrics"])
      EXPECT_DOUBLE_EQ(job["metrics"][metric.get<std::string>()].get<double>(),
                       stored.at(name)["final_metrics"][metric.get<std::string>()].get<double>())
          << name << " " << metric;
  }
  EXPECT_EQ(j["png"], png);
  // A real image: the chart above a two-line legend, in several colours.
  auto image = summarize_image(png);
  ASSERT_TRUE(image) << image.error().message;
  EXPECT_EQ(image->width, 1000);
  EXPECT_EQ(image->height, 480 + 50 + 2 * 20);
  EXPECT_GT(image->distinct_colors, 4);
}

TEST_F(Compare, AnUnknownJobIsNamedWithTheClosestName) {
  auto [code, out] = run_program({binary, "compare", "first", "firts", "-w", workspace()}, 60s);
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find("no job 'firts' in workspace '" + workspace() +
                     "' (did you mean 'first'?)"),
            std::string::npos)
      << out;
  auto [none, none_out] = run_program({binary, "compare", "second@", "-w", workspace()}, 60s);
  EXPECT_NE(none, 0) << none_out;
  EXPECT_NE(none_out.find("no job 'second@'"), std::string::npos) << none_out;
}

}  // namespace
}  // namespace trainyard::testing
