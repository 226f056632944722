// Campaign sweeps: a [sweep.NAME] section expands into named variants of its base job, each with
// its own tool, in grid order and file order; every bad sweep is refused with its file, line and
// key, and variants go through the same checks as written jobs.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "config/campaign.hpp"
#include "config/sweep_grid.hpp"

namespace trainyard {
namespace {

expected<campaign> parse(const std::string& text) {
  std::istringstream in(text);
  return parse_campaign(in, "sweep.ini");
}

// Lines 1-9: a dataset, a split, a tool and job `first`; the sweep text starts at line 10.
std::string with_sweep(const std::string& sweep) {
  return "[dataset.d]\n"
         "[split.s]\n"
         "dataset = d\n"
         "[tool.shirts]\n"
         "dataset = d\n"
         "[job.first]\n"
         "tool = shirts\n"
         "split = s\n"
         "learning_rate = 0.003\n" +
         sweep;
}

std::vector<std::string> names_of_jobs(const campaign& c) {
  std::vector<std::string> names;
  for (const auto& j : c.jobs) names.push_back(j.name);
  return names;
}

std::string error_of(const std::string& text) {
  auto c = parse(text);
  return c ? std::string("(parsed)") : c.error().message;
}

TEST(SweepGrid, SplitsListsAndRefusesEmptyOrRepeatedValues) {
  auto values = split_sweep_values(" 0.001, 0.002 ,0.004 ");
  ASSERT_TRUE(values);
  EXPECT_EQ(*values, (std::vector<std::string>{"0.001", "0.002", "0.004"}));
  EXPECT_FALSE(split_sweep_values(""));
  EXPECT_FALSE(split_sweep_values("1,,2"));
  EXPECT_FALSE(split_sweep_values("1, 2,"));
  EXPECT_FALSE(split_sweep_values("1, 2, 1"));
}

TEST(SweepGrid, ExpandsEveryCombinationWithTheFirstKeySlowest) {
  std::vector<sweep_axis> axes = {{"a", {"1", "2"}}, {"b", {"x", "y", "z"}}};
  EXPECT_EQ(sweep_grid_size(axes), 6u);
  auto points = expand_sweep_grid(axes);
  std::vector<std::string> suffixes;
  for (const auto& p : points) suffixes.push_back(p.suffix);
  EXPECT_EQ(suffixes, (std::vector<std::string>{"a=1,b=x", "a=1,b=y", "a=1,b=z", "a=2,b=x",
                                                "a=2,b=y", "a=2,b=z"}));
  EXPECT_EQ(points[4].values, (std::vector<std::string>{"2", "y"}));
  EXPECT_EQ(sweep_variant_name("first", points[4]), "first@a=2,b=y");
  // The size saturates instead of overflowing.
  std::vector<sweep_axis> huge(40, sweep_axis{"k", {"1", "2", "3"}});
  EXPECT_EQ(sweep_grid_size(huge), max_sweep_jobs + 1);
  EXPECT_TRUE(expand_sweep_grid(huge).empty());
}

TEST(CampaignSweep, ExpandsIntoNamedVariantsOfTheBaseJobEachWithItsOwnTool) {
  auto c = parse(with_sweep("[sweep.lr]\n"
                            "job = first\n"
                            "learning_rate = 0.001, 0.002\n"
                            "flip_horizontal = 0, yes\n"
                            "[job.later]\n"
                            "tool = shirts\n"
                            "split = s\n"));
  ASSERT_TRUE(c) << c.error().message;
  // The base job stays; the variants come where the sweep is written, before `later`.
  EXPECT_EQ(names_of_jobs(*c),
            (std::vector<std::string>{"first", "first@learning_rate=0.001,flip_horizontal=0",
                                      "first@learning_rate=0.001,flip_horizontal=yes",
                                      "first@learning_rate=0.002,flip_horizontal=0",
                                      "first@learning_rate=0.002,flip_horizontal=yes", "later"}));
  const job_spec& v = c->jobs[4];
  EXPECT_DOUBLE_EQ(v.settings.learning_rate, 0.002);
  EXPECT_TRUE(v.settings.augmentation.flip_horizontal);
  EXPECT_FALSE(c->jobs[3].settings.augmentation.flip_horizontal);
  EXPECT_EQ(v.tool.name, "shirts@learning_rate=0.002,flip_horizontal=yes");
  EXPECT_EQ(v.tool.dataset, "d");
  EXPECT_EQ(v.split, "s");
  // Everything the sweep does not set is the base job's.
  EXPECT_EQ(v.settings.iterations, c->jobs[0].settings.iterations);
  EXPECT_DOUBLE_EQ(c->jobs[0].settings.learning_rate, 0.003);
  // The variants' tools are declared tools too.
  ASSERT_EQ(c->tools.size(), 5u);
  EXPECT_EQ(c->tools[1].name, "shirts@learning_rate=0.001,flip_horizontal=0");
}

TEST(CampaignSweep, AutoAndNumbersAreReadThroughTheFieldTable) {
  auto c = parse(with_sweep("[sweep.long]\njob = first\niterations = auto, 3\n"));
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->jobs.size(), 3u);
  EXPECT_EQ(c->jobs[1].name, "first@iterations=auto");
  EXPECT_EQ(c->jobs[1].settings.iterations, 0);
  EXPECT_EQ(c->jobs[2].settings.iterations, 3);
}

TEST(CampaignSweep, EveryBadSweepNamesTheFileLineAndKey) {
  struct bad_case {
    std::string sweep;
    std::string message;
  };
  const std::vector<bad_case> cases = {
      {"[sweep.a]\njob = first\nlearning_rte = 0.1, 0.2\n",
       "sweep.ini:12: [sweep.a] unknown key 'learning_rte' (did you mean 'learning_rate'?)"},
      {"[sweep.a]\njob = first\nlearning_rate = 0.1, -0.2\n",
       "sweep.ini:12: [sweep.a] key 'learning_rate': expected 'auto' or a number > 0, got '-0.2'"},
      {"[sweep.a]\njob = first\nrotation = 10, 200\n",
       "sweep.ini:12: [sweep.a] key 'rotation': expected a number of degrees from 0 to 180, "
       "got '200'"},
      {"[sweep.a]\njob = firts\nseed = 1, 2\n",
       "sweep.ini:11: [sweep.a] key 'job': no [job.firts] section is declared (did you mean "
       "'first'?); declared: first"},
      {"[sweep.a]\njob = first\nseed =\n",
       "sweep.ini:12: [sweep.a] key 'seed': expected a list of values, got ''"},
      {"[sweep.a]\njob = first\nseed = 1,,2\n",
       "sweep.ini:12: [sweep.a] key 'seed': value 2 of '1,,2' is empty"},
      {"[sweep.a]\njob = first\nseed = 1, 1\n",
       "sweep.ini:12: [sweep.a] key 'seed': value '1' is listed twice"},
      {"[sweep.a]\njob = first\n",
       "sweep.ini:10: [sweep.a] lists no job setting to vary"},
      {"[sweep.a]\nseed = 1, 2\n", "sweep.ini:10: [sweep.a] missing key 'job'"},
      {"[sweep.a]\njob = first\ntool = shirts\n",
       "sweep.ini:12: [sweep.a] unknown key 'tool'"},
      {"[sweep.a]\njob = first\nseed = 1,2,3,4,5,6,7,8,9,10,11\n"
       "patience = 1,2,3,4,5,6,7,8,9,10\nmin_delta = 0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9\n",
       "sweep.ini:10: [sweep.a] makes 11 x 10 x 10 jobs, more than 1000; shorten its lists"},
      {"[sweep.a]\njob = first\nseed = 1, 2\n[sweep.b]\njob = first\nseed = 2, 3\n",
       "sweep.ini:13: [sweep.b] makes job 'first@seed=2', which [sweep.a] (line 10) makes too"},
      // Two jobs on one tool: their variants would train one tool.
      {"[job.second]\ntool = shirts\nsplit = s\n[sweep.a]\njob = first\nseed = 1, 2\n"
       "[sweep.b]\njob = second\nseed = 2, 3\n",
       "sweep.ini:16: [sweep.b] makes tool 'shirts@seed=2', which [sweep.a] (line 13) makes too"},
      {"[job.more]\ntool = shirts\nsplit = s\ncontinue = true\niterations = 2\n"
       "[sweep.a]\njob = more\nseed = 1, 2\n",
       "sweep.ini:16: [sweep.a] key 'job': job 'more' continues its tool's training"},
  };
  for (const auto& c : cases) {
    auto message = error_of(with_sweep(c.sweep));
    EXPECT_NE(message.find(c.message), std::string::npos)
        << "sweep:\n" << c.sweep << "expected: " << c.message << "\ngot: " << message;
  }
}

TEST(CampaignSweep, VariantsGoThroughTheChecksOfWrittenJobs) {
  // rotation 10 is within its field's bounds, but a locate tool cannot rotate its boxes: only
  // the variant that sets it is refused, at the sweep's line, naming the variant.
  auto message = error_of(
      "[dataset.d]\nkind = coco\npath = images\nannotations = boxes.json\n"
      "[split.s]\ndataset = d\n"
      "[tool.boxes]\nkind = locate\ndataset = d\n"
      "[job.first]\ntool = boxes\nsplit = s\n"
      "[sweep.turn]\njob = first\nrotation = 0, 10\n");
  EXPECT_EQ(message, "sweep.ini:15: [sweep.turn] key 'rotation': job 'first@rotation=10': "
                     "augmentation rotation and shear cannot keep boxes exact; set them to 0 "
                     "for locate tools");
}

}  // namespace
}  // namespace trainyard
