// Campaign files: the example files parse to the values they say, defaults apply, and every
// malformed file is refused with invalid_config and a message naming the line and the key.
#include "config/campaign.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/temp_folder.hpp"

namespace trainyard {
namespace {

namespace fs = std::filesystem;

expected<campaign> parse(const std::string& text) {
  std::istringstream in(text);
  return parse_campaign(in, "test.ini");
}

std::string example(const char* name) {
  return std::string(TRAINYARD_SOURCE_DIR) + "/config/examples/" + name;
}

// A valid campaign with one section of each kind, and room for extra lines in each.
std::string campaign_text(const std::string& dataset_extra, const std::string& split_extra,
                          const std::string& tool_extra, const std::string& job_extra) {
  return "[dataset.d]\n" + dataset_extra +
         "[split.s]\n"
         "dataset = d\n" + split_extra +
         "[tool.t]\n"
         "dataset = d\n" + tool_extra +
         "[job.j]\n"
         "tool = t\n"
         "split = s\n" + job_extra;
}
std::string with_job(const std::string& extra) { return campaign_text("", "", "", extra); }
std::string with_split(const std::string& extra) { return campaign_text("", extra, "", ""); }
std::string with_tool(const std::string& extra) { return campaign_text("", "", extra, ""); }
std::string with_dataset(const std::string& extra) { return campaign_text(extra, "", "", ""); }

// 1-based number of the last line of `text` that contains `snippet` (the last, because a
// repeated key or section is reported where it is repeated).
int last_line_containing(const std::string& text, const std::string& snippet) {
  std::istringstream in(text);
  std::string line;
  int found = 0;
  for (int n = 1; std::getline(in, line); ++n)
    if (line.find(snippet) != std::string::npos) found = n;
  return found;
}

// --- the example files ---------------------------------------------------------------------------

TEST(CampaignExamples, QuickstartParsesToItsDocumentedValues) {
  auto c = load_campaign(example("quickstart.ini"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->path, example("quickstart.ini"));
  EXPECT_EQ(c->workspace, "yard");  // no workspace key: ./yard where the command runs

  ASSERT_EQ(c->datasets.size(), 1u);
  const auto& d = c->datasets[0];
  EXPECT_EQ(d.name, "fashion");
  EXPECT_EQ(d.kind, dataset_kind::fashion_mnist);
  EXPECT_EQ(d.path, "/usr/share/datasets/fashion-mnist");
  EXPECT_EQ(d.subset, "all");

  ASSERT_EQ(c->splits.size(), 1u);
  const auto& s = c->splits[0];
  EXPECT_EQ(s.name, "main");
  EXPECT_EQ(s.dataset, "fashion");
  EXPECT_EQ(s.mode, split_mode::official);
  EXPECT_DOUBLE_EQ(s.train, 1);
  EXPECT_DOUBLE_EQ(s.validation, 5000);
  EXPECT_EQ(s.seed, 42u);
  EXPECT_TRUE(s.stratified);

  ASSERT_EQ(c->tools.size(), 1u);
  EXPECT_EQ(c->tools[0].kind, "classify");
  EXPECT_EQ(c->tools[0].dataset, "fashion");

  ASSERT_EQ(c->jobs.size(), 1u);
  const auto& j = c->jobs[0];
  EXPECT_EQ(j.tool.name, c->tools[0].name);
  EXPECT_EQ(j.tool.dataset, "fashion");
  EXPECT_EQ(j.split, "main");
  EXPECT_FALSE(j.continue_training);
  EXPECT_EQ(j.settings.iterations, 0);  // auto
  EXPECT_EQ(j.settings.patience, 3);
  EXPECT_EQ(j.settings.max_iterations, 9);
  EXPECT_LT(j.settings.learning_rate, 0);  // auto: the kind's recipe
  EXPECT_TRUE(j.settings.augmentation.flip_horizontal);
  EXPECT_EQ(j.settings.batch_size, 0);  // auto
  EXPECT_FALSE(j.settings.deterministic);
  EXPECT_EQ(j.settings.seed, 42u);
}

TEST(CampaignExamples, FullerExampleParsesToItsDocumentedValues) {
  auto c = load_campaign(example("campaign.ini"));
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->tools.size(), 2u);
  ASSERT_EQ(c->splits.size(), 2u);
  const auto& small = c->splits[0];
  EXPECT_EQ(small.name, "small");
  EXPECT_EQ(small.mode, split_mode::count);
  EXPECT_DOUBLE_EQ(small.train, 6000);
  EXPECT_DOUBLE_EQ(small.validation, 1000);
  EXPECT_DOUBLE_EQ(small.test, 1000);
  EXPECT_EQ(small.seed, 7u);

  ASSERT_EQ(c->jobs.size(), 3u);
  EXPECT_EQ(c->jobs[0].name, "sketch-short");
  EXPECT_EQ(c->jobs[1].name, "sketch-more");
  EXPECT_EQ(c->jobs[2].name, "robust-augmented");

  EXPECT_EQ(c->jobs[0].settings.iterations, 3);
  EXPECT_EQ(c->jobs[0].settings.batch_size, 64);
  EXPECT_TRUE(c->jobs[0].settings.deterministic);
  EXPECT_EQ(c->jobs[0].tool.model_width, 16);

  EXPECT_TRUE(c->jobs[1].continue_training);
  EXPECT_EQ(c->jobs[1].settings.iterations, 2);
  EXPECT_EQ(c->jobs[1].split, "small");

  const auto& robust = c->jobs[2];
  EXPECT_EQ(robust.tool.name, "robust");
  EXPECT_EQ(robust.tool.input_width, 32);
  EXPECT_EQ(robust.tool.input_height, 32);
  EXPECT_EQ(robust.tool.model_width, 48);
  EXPECT_EQ(robust.settings.iterations, 0);
  EXPECT_EQ(robust.settings.max_iterations, 20);
  const auto& a = robust.settings.augmentation;
  EXPECT_TRUE(a.flip_horizontal);
  EXPECT_FALSE(a.flip_vertical);
  EXPECT_DOUBLE_EQ(a.rotation, 10);
  EXPECT_DOUBLE_EQ(a.scale, 0.1);
  EXPECT_DOUBLE_EQ(a.shift, 0.05);
  EXPECT_DOUBLE_EQ(a.shear, 5);
  EXPECT_DOUBLE_EQ(a.brightness, 0.1);
  EXPECT_DOUBLE_EQ(a.contrast, 0.1);
  EXPECT_DOUBLE_EQ(a.noise, 0.02);
}

// --- valid files ---------------------------------------------------------------------------------

TEST(CampaignParse, LeftOutKeysKeepTheSpecDefaults) {
  auto c = parse(campaign_text("", "", "", ""));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->path, "test.ini");
  EXPECT_EQ(c->workspace, "yard");

  dataset_spec d0;
  const auto& d = c->datasets.at(0);
  EXPECT_EQ(d.name, "d");
  EXPECT_EQ(d.kind, d0.kind);
  EXPECT_EQ(d.path, "/usr/share/datasets/fashion-mnist");
  EXPECT_EQ(d.subset, d0.subset);
  EXPECT_EQ(d.color, d0.color);

  split_spec s0;
  const auto& s = c->splits.at(0);
  EXPECT_EQ(s.mode, s0.mode);
  EXPECT_EQ(s.train, s0.train);
  EXPECT_EQ(s.validation, s0.validation);
  EXPECT_EQ(s.test, s0.test);
  EXPECT_EQ(s.seed, s0.seed);
  EXPECT_EQ(s.stratified, s0.stratified);

  tool_spec t0;
  const auto& t = c->tools.at(0);
  EXPECT_EQ(t.kind, t0.kind);
  EXPECT_EQ(t.input_width, t0.input_width);
  EXPECT_EQ(t.input_height, t0.input_height);
  EXPECT_EQ(t.model_width, t0.model_width);

  training_settings x0;
  const auto& j = c->jobs.at(0);
  EXPECT_FALSE(j.continue_training);
  const auto& x = j.settings;
  EXPECT_EQ(x.iterations, x0.iterations);
  EXPECT_EQ(x.max_iterations, x0.max_iterations);
  EXPECT_EQ(x.patience, x0.patience);
  EXPECT_EQ(x.min_delta, x0.min_delta);
  EXPECT_EQ(x.batch_size, x0.batch_size);
  EXPECT_EQ(x.learning_rate, x0.learning_rate);
  EXPECT_EQ(x.deterministic, x0.deterministic);
  EXPECT_EQ(x.seed, x0.seed);
  EXPECT_EQ(x.threads, x0.threads);
  EXPECT_EQ(x.memory_share, x0.memory_share);
  EXPECT_EQ(x.devices, x0.devices);
  EXPECT_EQ(x.augmentation.flip_horizontal, x0.augmentation.flip_horizontal);
  EXPECT_EQ(x.augmentation.rotation, x0.augmentation.rotation);
  EXPECT_EQ(x.augmentation.noise, x0.augmentation.noise);
}

TEST(CampaignParse, JobsKeepFileOrderAndMayReferToLaterSections) {
  auto c = parse(
      "[job.zeta]\ntool = t\nsplit = s\n"
      "[job.alpha]\ntool = t\nsplit = s\n"
      "[tool.t]\ndataset = d\nmodel_width = 8\n"
      "[job.mid]\ntool = t\nsplit = s\n"
      "[split.s]\ndataset = d\n"
      "[dataset.d]\n");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->jobs.size(), 3u);
  EXPECT_EQ(c->jobs[0].name, "zeta");
  EXPECT_EQ(c->jobs[1].name, "alpha");
  EXPECT_EQ(c->jobs[2].name, "mid");
  for (const auto& j : c->jobs) {
    EXPECT_EQ(j.tool.name, "t");
    EXPECT_EQ(j.tool.dataset, "d");  // the whole tool_spec is copied into the job
    EXPECT_EQ(j.tool.model_width, 8);
  }
}

TEST(CampaignParse, BooleansAutoCommentsAndQuotes) {
  auto c = parse(campaign_text("", "stratified = no\n", "",
                               "deterministic = YES   # inline comment\n"
                               "flip_horizontal = 1\n"
                               "flip_vertical = 0\n"
                               "continue = true\n"
                               "iterations = \"4\"\n"
                               "batch_size = AUTO\n"
                               "\t seed = 18446744073709551615 \r\n"
                               "learning_rate = 1e-4\n"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_FALSE(c->splits[0].stratified);
  const auto& j = c->jobs[0];
  EXPECT_TRUE(j.settings.deterministic);
  EXPECT_TRUE(j.settings.augmentation.flip_horizontal);
  EXPECT_FALSE(j.settings.augmentation.flip_vertical);
  EXPECT_TRUE(j.continue_training);
  EXPECT_EQ(j.settings.iterations, 4);
  EXPECT_EQ(j.settings.batch_size, 0);
  EXPECT_EQ(j.settings.seed, 18446744073709551615ull);
  EXPECT_DOUBLE_EQ(j.settings.learning_rate, 1e-4);
}

TEST(CampaignParse, FolderDatasetsAndByteOrderMark) {
  auto c = parse("\xEF\xBB\xBF[campaign]\nworkspace = runs\n" +
                 campaign_text("kind = folder\npath = images\ncolor = true\n", "", "", ""));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->datasets[0].kind, dataset_kind::image_folder);
  EXPECT_EQ(c->datasets[0].path, "images");  // a stream has no folder: kept as written
  EXPECT_TRUE(c->datasets[0].color);
  EXPECT_EQ(c->workspace, "runs");
}

TEST(CampaignParse, CountSplitsTakeWholeNumbers) {
  auto c = parse(with_split("mode = count\ntrain = 600\nvalidation = 0\ntest = 100\n"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->splits[0].mode, split_mode::count);
  EXPECT_DOUBLE_EQ(c->splits[0].train, 600);
  EXPECT_DOUBLE_EQ(c->splits[0].validation, 0);
  EXPECT_DOUBLE_EQ(c->splits[0].test, 100);
}

// --- files on disk -------------------------------------------------------------------------------

class CampaignLoad : public ::testing::Test {
 protected:
  void SetUp() override { fs::create_directories(dir_ / "sub"); }
  std::string write(const std::string& name, const std::string& text) {
    auto path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }
  testing::temp_folder dir_{"campaign-test"};  // one per test, removed with the fixture
};

TEST_F(CampaignLoad, RelativePathsAreRelativeToTheFile) {
  auto path = write("sub/c.ini", "[campaign]\nworkspace = ../ws\n" +
                                     campaign_text("kind = folder\npath = images\n", "", "", ""));
  auto c = load_campaign(path);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->workspace, (dir_ / "ws").string());
  EXPECT_EQ(c->datasets[0].path, (dir_ / "sub" / "images").string());
}

TEST_F(CampaignLoad, DefaultWorkspaceStaysInTheCurrentDirectory) {
  auto path = write("sub/c.ini", campaign_text("kind = folder\npath = /abs/images\n", "", "", ""));
  auto c = load_campaign(path);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->workspace, "yard");
  EXPECT_EQ(c->datasets[0].path, "/abs/images");
}

TEST_F(CampaignLoad, MissingFileIsRefused) {
  auto path = (dir_ / "absent.ini").string();
  auto c = load_campaign(path);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, error_code::invalid_config);
  EXPECT_NE(c.error().message.find("cannot read campaign file " + path), std::string::npos)
      << c.error().message;
  EXPECT_NE(c.error().message.find("No such file"), std::string::npos) << c.error().message;
}

TEST_F(CampaignLoad, FolderIsRefused) {
  auto c = load_campaign((dir_ / "sub").string());
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, error_code::invalid_config);
  EXPECT_NE(c.error().message.find("cannot read campaign file"), std::string::npos);
  EXPECT_NE(c.error().message.find("folder"), std::string::npos) << c.error().message;
}

TEST_F(CampaignLoad, ErrorsNameTheFileAndLine) {
  auto path = write("bad.ini", with_job("iterations = abc\n"));
  auto c = load_campaign(path);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message,
            path + ":9: [job.j] key 'iterations': expected a positive integer or 'auto', "
                   "got 'abc'");
}

TEST_F(CampaignLoad, WidthBelowWhatTheEngineTrainsIsRefusedAtItsLine) {
  auto path = write("narrow.ini", with_tool("width = 2\n"));
  auto c = load_campaign(path);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, error_code::invalid_config);
  EXPECT_EQ(c.error().message,
            path + ":6: [tool.t] key 'width': expected a whole number of pixels from 4 to 4096, "
                   "got '2'");
}

// --- malformed files -----------------------------------------------------------------------------

struct malformed {
  const char* label;
  std::string text;
  std::string bad_line;               // the reported line is the last one containing this
  std::vector<std::string> mentions;  // the message contains each
};

std::vector<malformed> malformed_cases() {
  const std::string dangling_split_tool =
      "[dataset.d]\n[dataset.e]\n[split.s]\ndataset = d\n[tool.t]\ndataset = e\n"
      "[job.j]\ntool = t\nsplit = s\n";
  return {
      // values of job keys
      {"iterations word", with_job("iterations = abc\n"), "iterations",
       {"key 'iterations'", "positive integer or 'auto'", "'abc'"}},
      {"iterations zero", with_job("iterations = 0\n"), "iterations", {"iterations", "'0'"}},
      {"iterations fraction", with_job("iterations = 2.5\n"), "iterations", {"iterations"}},
      {"iterations negative", with_job("iterations = -1\n"), "iterations", {"iterations"}},
      {"batch size zero", with_job("batch_size = 0\n"), "batch_size",
       {"batch_size", "positive integer or 'auto'"}},
      {"batch size word", with_job("batch_size = big\n"), "batch_size", {"batch_size", "'big'"}},
      {"max iterations", with_job("max_iterations = -1\n"), "max_iterations",
       {"max_iterations", "positive integer or 'auto'"}},
      {"optimizer", with_job("optimizer = rmsprop\n"), "optimizer",
       {"optimizer", "one of auto, adam, adamw, sgd", "'rmsprop'"}},
      {"schedule", with_job("schedule = linear\n"), "schedule",
       {"schedule", "one of auto, constant, one_cycle, cosine"}},
      {"label smoothing one", with_job("label_smoothing = 1\n"), "label_smoothing",
       {"label_smoothing", "'auto' or a number >= 0 and < 1", "'1'"}},
      {"weight averaging", with_job("weight_averaging = 1.5\n"), "weight_averaging",
       {"weight_averaging", ">= 0 and < 1"}},
      {"warmup", with_job("warmup = soon\n"), "warmup", {"warmup", "'auto' or"}},
      {"weight decay negative", with_job("weight_decay = -0.1\n"), "weight_decay",
       {"weight_decay", ">= 0"}},
      {"patience", with_job("patience = -1\n"), "patience", {"patience", ">= 0"}},
      {"min delta", with_job("min_delta = -0.1\n"), "min_delta", {"min_delta", ">= 0"}},
      {"learning rate zero", with_job("learning_rate = 0\n"), "learning_rate",
       {"learning_rate", "> 0"}},
      {"learning rate nan", with_job("learning_rate = nan\n"), "learning_rate",
       {"learning_rate"}},
      {"learning rate empty", with_job("learning_rate =\n"), "learning_rate",
       {"learning_rate", "got ''"}},
      {"memory share zero", with_job("memory_share = 0\n"), "memory_share", {"memory_share"}},
      {"memory share above one", with_job("memory_share = 1.5\n"), "memory_share",
       {"memory_share", "<= 1"}},
      {"devices", with_job("devices = 0\n"), "devices", {"devices", "from 1 to 1024"}},
      {"threads", with_job("threads = -2\n"), "threads", {"threads"}},
      {"seed negative", with_job("seed = -3\n"), "seed", {"seed", ">= 0"}},
      {"seed overflow", with_job("seed = 18446744073709551616\n"), "seed", {"seed"}},
      {"bad boolean", with_job("deterministic = maybe\n"), "deterministic",
       {"deterministic", "true or false", "'maybe'"}},
      {"bad continue", with_job("continue = 2\n"), "continue", {"continue", "true or false"}},
      {"flip on", with_job("flip_horizontal = on\n"), "flip_horizontal", {"flip_horizontal"}},
      {"rotation too large", with_job("rotation = 181\n"), "rotation", {"rotation", "180"}},
      {"rotation negative", with_job("rotation = -1\n"), "rotation", {"rotation"}},
      {"scale one", with_job("scale = 1\n"), "scale", {"scale", "< 1"}},
      {"shift one", with_job("shift = 1\n"), "shift", {"shift", "< 1"}},
      {"shear ninety", with_job("shear = 90\n"), "shear", {"shear", "< 90"}},
      {"brightness negative", with_job("brightness = -0.1\n"), "brightness", {"brightness"}},
      {"contrast one", with_job("contrast = 1\n"), "contrast", {"contrast", "< 1"}},
      {"noise above one", with_job("noise = 1.5\n"), "noise", {"noise"}},
      // keys
      {"unknown job key", with_job("iterationz = 3\n"), "iterationz",
       {"unknown key 'iterationz'", "did you mean 'iterations'", "max_iterations, patience"}},
      {"unknown campaign key", "[campaign]\nworkspce = w\n" + with_job(""), "workspce",
       {"[campaign] unknown key 'workspce'", "workspace"}},
      {"repeated key", with_job("seed = 1\nseed = 2\n"), "seed = 2",
       {"key 'seed'", "twice", "line 9"}},
      {"key before any section", "seed = 1\n" + with_job(""), "seed", {"'seed'", "[section]"}},
      {"line without equals", with_job("iterations 3\n"), "iterations 3",
       {"'iterations 3'", "key = value"}},
      {"no key before equals", with_job("= 3\n"), "= 3", {"key name"}},
      // continue training
      {"continue without iterations", with_job("continue = true\n"), "continue",
       {"key 'continue'", "continue training needs an explicit iterations count"}},
      {"continue with auto", with_job("continue = yes\niterations = auto\n"), "iterations",
       {"key 'iterations'", "continue training needs an explicit iterations count"}},
      // sections
      {"unknown section kind", with_job("[jobs.x]\n"), "[jobs.x]",
       {"unknown section kind 'jobs'", "[job.NAME]"}},
      {"section without name", with_job("[job]\n"), "[job]", {"[job]", "name"}},
      {"section with empty name", with_job("[tool.]\n"), "[tool.]", {"[tool.]", "name"}},
      {"section name with a dot", with_job("[job.a.b]\n"), "[job.a.b]", {"[job.a.b]"}},
      {"section name with a space", with_job("[job.a b]\n"), "[job.a b]", {"[job.a b]"}},
      {"named campaign", "[campaign.x]\n" + with_job(""), "[campaign.x]", {"[campaign]"}},
      {"malformed header", with_job("[job.k\n"), "[job.k", {"[job.k"}},
      {"duplicate section", with_job("[tool.t]\ndataset = d\n"), "[tool.t]",
       {"[tool.t]", "twice", "line 4"}},
      // datasets
      {"dataset kind", with_dataset("kind = mnist\n"), "kind",
       {"key 'kind'", "fashion-mnist, folder"}},
      {"dataset subset", with_dataset("subset = half\n"), "subset", {"subset", "all, train, test"}},
      {"colour on fashion-mnist", with_dataset("color = true\n"), "color",
       {"key 'color'", "kind = folder"}},
      {"subset on folder", with_dataset("kind = folder\npath = x\nsubset = all\n"), "subset",
       {"key 'subset'", "fashion-mnist"}},
      {"folder without path", with_dataset("kind = folder\n"), "[dataset.d]",
       {"missing key 'path'"}},
      // splits
      {"split mode", with_split("mode = random\n"), "mode", {"key 'mode'", "proportion, count"}},
      {"proportions above one", with_split("train = 0.9\nvalidation = 0.2\n"), "validation",
       {"key 'validation'", "at most 1"}},
      {"train proportion zero", with_split("train = 0\n"), "train", {"key 'train'", "> 0"}},
      {"bad stratified", with_split("stratified = yes please\n"), "stratified",
       {"stratified", "'yes please'"}},
      {"count not whole", with_split("mode = count\ntrain = 1.5\nvalidation = 1\ntest = 1\n"),
       "train", {"key 'train'", "whole number"}},
      {"count missing test", with_split("mode = count\ntrain = 10\nvalidation = 1\n"),
       "[split.s]", {"missing key 'test'"}},
      {"split seed", with_split("seed = x\n"), "seed = x", {"key 'seed'"}},
      // tools
      {"tool kind", with_tool("kind = detect\n"), "kind = detect", {"key 'kind'", "locate"}},
      {"tool width", with_tool("width = 0\n"), "width", {"key 'width'", "from 4 to 4096"}},
      {"tool height", with_tool("height = 5000\n"), "height", {"key 'height'", "4096"}},
      {"tool model width", with_tool("model_width = 2000\n"), "model_width",
       {"key 'model_width'", "from 1 to 1024"}},
      {"segment tool too small", with_tool("kind = segment\nwidth = 6\n"), "width = 6",
       {"key 'width'", "segment tool needs width and height of at least 8"}},
      {"locate tool on fashion-mnist", with_tool("kind = locate\n"), "dataset = d",
       {"[tool.t] key 'dataset'", "locate tool needs a coco dataset"}},
      {"tool model width", with_tool("model_width = wide\n"), "model_width",
       {"model_width", "'wide'"}},
      // missing required keys
      {"split without dataset", "[dataset.d]\n[split.s]\nseed = 1\n[tool.t]\ndataset = d\n"
                                "[job.j]\ntool = t\nsplit = s\n",
       "[split.s]", {"missing key 'dataset'"}},
      {"tool without dataset", "[dataset.d]\n[split.s]\ndataset = d\n[tool.t]\n"
                               "[job.j]\ntool = t\nsplit = s\n",
       "[tool.t]", {"missing key 'dataset'"}},
      {"job without tool", "[dataset.d]\n[split.s]\ndataset = d\n[tool.t]\ndataset = d\n"
                           "[job.j]\nsplit = s\n",
       "[job.j]", {"missing key 'tool'"}},
      {"job without split", "[dataset.d]\n[split.s]\ndataset = d\n[tool.t]\ndataset = d\n"
                            "[job.j]\ntool = t\n",
       "[job.j]", {"missing key 'split'"}},
      // references
      {"split of unknown dataset", "[dataset.d]\n[split.s]\ndataset = e\n[tool.t]\ndataset = d\n"
                                   "[job.j]\ntool = t\nsplit = s\n",
       "dataset = e", {"key 'dataset'", "no [dataset.e]", "declared: d"}},
      {"tool of unknown dataset", "[dataset.d]\n[split.s]\ndataset = d\n[tool.t]\ndataset = e\n"
                                  "[job.j]\ntool = t\nsplit = s\n",
       "dataset = e", {"[tool.t] key 'dataset'", "no [dataset.e]"}},
      {"job of unknown tool", "[dataset.d]\n[split.s]\ndataset = d\n[tool.t]\ndataset = d\n"
                              "[job.j]\ntool = u\nsplit = s\n",
       "tool = u", {"key 'tool'", "no [tool.u]", "declared: t"}},
      {"job on unknown split", "[dataset.d]\n[split.s]\ndataset = d\n[tool.t]\ndataset = d\n"
                               "[job.j]\ntool = t\nsplit = v\n",
       "split = v", {"key 'split'", "no [split.v]"}},
      {"split of another dataset", dangling_split_tool, "split = s",
       {"key 'split'", "dataset 'd'", "dataset 'e'"}},
  };
}

TEST(CampaignMalformed, EveryCaseNamesTheLineAndTheKey) {
  for (const auto& m : malformed_cases()) {
    SCOPED_TRACE(m.label);
    auto c = parse(m.text);
    ASSERT_FALSE(c) << m.text;
    EXPECT_EQ(c.error().code, error_code::invalid_config);
    int line = last_line_containing(m.text, m.bad_line);
    ASSERT_GT(line, 0) << "bad anchor";
    const auto& message = c.error().message;
    EXPECT_EQ(message.rfind("test.ini:" + std::to_string(line) + ": ", 0), 0u) << message;
    for (const auto& word : m.mentions)
      EXPECT_NE(message.find(word), std::string::npos) << "'" << word << "' in: " << message;
  }
}

TEST(CampaignMalformed, NoJobMeansNothingToRun) {
  auto c = parse("[dataset.d]\n[split.s]\ndataset = d\n");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, error_code::invalid_config);
  EXPECT_NE(c.error().message.find("nothing to run"), std::string::npos) << c.error().message;
  EXPECT_FALSE(parse(""));
  EXPECT_FALSE(parse("# only a comment\n"));
}

TEST(CampaignMalformed, FirstErrorInTheFileWins) {
  auto c = parse(with_job("patience = x\nseed = y\n"));
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("'patience'"), std::string::npos) << c.error().message;
}

}  // namespace
}  // namespace trainyard
