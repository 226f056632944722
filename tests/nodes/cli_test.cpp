// The trainyard program as a user runs it: real processes, real campaign files, real training on
// a slice of Fashion-MNIST. Every wait is bounded; workspaces are temporary folders.
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/data/dataset_index.hpp"
#include "runtime/train/images.hpp"
#include "tests/nodes/process.hpp"
#include "tests/support/temp_folder.hpp"

namespace trainyard::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

const std::string binary = TRAINYARD_BINARY;

class Cli : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    auto path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }
  std::string workspace() const { return (dir_ / "yard").string(); }

  // A small campaign: 1,500 training images, a narrow model, fixed iterations.
  std::string small_campaign(int iterations, int train = 1500, int test = 300) {
    return write("small.ini",
                 "[campaign]\nworkspace = " + workspace() +
                   "\n"
                   "[dataset.fashion]\nkind = fashion-mnist\nsubset = train\n"
                   "[split.small]\ndataset = fashion\nmode = count\ntrain = " +
                   std::to_string(train) +
                   "\nvalidation = 300\ntest = " + std::to_string(test) + "\nseed = 3\n"
                   "[tool.shirts]\nkind = classify\ndataset = fashion\nmodel_width = 8\n"
                   "[job.first]\ntool = shirts\nsplit = small\niterations = " +
                   std::to_string(iterations) + "\nbatch_size = 64\n");
  }

  temp_folder dir_{"cli"};  // one per test, removed with the fixture
};

TEST_F(Cli, HelpListsTheCommandsAndEachCommandHasHelp) {
  auto [code, out] = run_program({binary, "--help"}, 30s);
  EXPECT_EQ(code, 0);
  for (auto cmd : {"run", "evaluate", "predict", "export", "queue"}) {
    EXPECT_NE(out.find(cmd), std::string::npos) << out;
    auto [c, o] = run_program({binary, cmd, "--help"}, 30s);
    EXPECT_EQ(c, 0) << o;
    EXPECT_NE(o.find("usage: trainyard " + std::string(cmd)), std::string::npos) << o;
  }
  auto [bad, text] = run_program({binary, "frobnicate"}, 30s);
  EXPECT_EQ(bad, 2);
  EXPECT_NE(text.find("unknown command 'frobnicate'"), std::string::npos) << text;
}

// A node asked for devices it cannot train on says why before it contacts any scheduler (the
// address is unused: nothing listens there).
TEST_F(Cli, ANodeRefusesDevicesItCannotTrainOnSayingWhatToDo) {
  auto secret = write("secret", "a-cluster-secret\n");
  const auto node = [&](const std::string& devices) {
    return run_program({binary, "node", "--scheduler", "127.0.0.1:9", "--secret-file", secret,
                        "--devices", devices}, 30s);
  };
  auto [bad, bad_text] = node("gpu0");
  EXPECT_EQ(bad, 2) << bad_text;
  EXPECT_NE(bad_text.find("--devices: 'gpu0' is not a device; write cpu, all, or cuda:N"),
            std::string::npos) << bad_text;
  auto [gpu, gpu_text] = node("cuda:0");
  EXPECT_EQ(gpu, 2) << gpu_text;
  // `run` trains on one device, named the same way, and refuses before it reads the campaign.
  auto [run_gpu, run_gpu_text] =
      run_program({binary, "run", "no-such.ini", "--devices", "cuda:0", "-w", workspace()}, 30s);
  EXPECT_EQ(run_gpu, 2) << run_gpu_text;
#if !defined(TRAINYARD_TORCH_CUDA)
  for (const std::string& text : {gpu_text, run_gpu_text})
    EXPECT_NE(text.find("--devices: cuda:0: this build of trainyard has CPU-only LibTorch; "
                        "rebuild with a CUDA LibTorch: see README, GPU workers; use --devices "
                        "cpu here"), std::string::npos) << text;
#endif
  auto [two, two_text] =
      run_program({binary, "run", "no-such.ini", "--devices", "cpu,cpu", "-w", workspace()}, 30s);
  EXPECT_EQ(two, 2) << two_text;
  EXPECT_NE(two_text.find("cpu is listed twice"), std::string::npos) << two_text;
  EXPECT_FALSE(fs::exists(workspace())) << "a refused run touches no workspace";
}

TEST_F(Cli, AMalformedCampaignNamesTheLineAndKeyAndTouchesNothing) {
  auto path = write("bad.ini", "[dataset.fashion]\nkind = fashion-mnist\n[split.s]\ndataset = "
                               "fashion\n[tool.t]\ndataset = fashion\n[job.j]\ntool = t\nsplit = "
                               "s\niterations = many\n");
  auto [code, out] = run_program({binary, "run", path, "--workspace", workspace()}, 30s);
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("bad.ini:10:"), std::string::npos) << out;
  EXPECT_NE(out.find("iterations"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(workspace())) << "a refused campaign must not create a workspace";
}

TEST_F(Cli, ASplitWithoutTestImagesSaysSoInsteadOfPrintingZeros) {
  auto campaign = small_campaign(1, 600, 0);
  auto [code, out] = run_program({binary, "run", campaign, "--plain"}, 300s);
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("split 'small' has no test images: the tool was not tested"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("accuracy 0.0000"), std::string::npos) << out;
  auto [ec, eout] = run_program({binary, "evaluate", "shirts", "-w", workspace()}, 60s);
  EXPECT_EQ(ec, 1) << eout;
  EXPECT_NE(eout.find("split 'small' of tool 'shirts' has no test images, so there is nothing "
                      "to evaluate; evaluate another set (--split validation)"),
            std::string::npos)
      << eout;
  auto [vc, vout] =
    run_program({binary, "evaluate", "shirts", "-w", workspace(), "--split", "validation"}, 60s);
  EXPECT_EQ(vc, 0) << vout;
  EXPECT_NE(vout.find("(300 images)"), std::string::npos) << vout;
}

TEST_F(Cli, AFullDiskFailsTheJobSayingSoAndARunAfterFreeingSpaceFinishesIt) {
  // A workspace on a 1 MiB tmpfs: the database fits, the tool's first best.pt (about 0.8 MB)
  // does not. Mounting needs root; elsewhere the test says why it cannot run.
  const fs::path disk = dir_ / "small-disk";
  fs::create_directories(disk);
  if (::mount("tmpfs", disk.c_str(), "tmpfs", 0, "size=1m") != 0)
    GTEST_SKIP() << "cannot mount a 1 MiB tmpfs at " << disk << " (" << std::strerror(errno)
                 << "); this test needs root";
  struct unmount_at_end {
    fs::path at;
    ~unmount_at_end() { ::umount2(at.c_str(), MNT_DETACH); }
  } unmount{disk};
  const std::string ws = (disk / "yard").string();
  auto campaign = write("disk.ini", "[campaign]\nworkspace = " + ws +
                                      "\n[dataset.fashion]\nkind = fashion-mnist\nsubset = "
                                      "train\n[split.s]\ndataset = fashion\nmode = count\n"
                                      "train = 600\nvalidation = 200\ntest = 200\n"
                                      "[tool.t]\ndataset = fashion\nmodel_width = 32\n"
                                      "[job.j]\ntool = t\nsplit = s\niterations = 2\n"
                                      "batch_size = 64\n");
  auto [code, out] = run_program({binary, "run", campaign, "--plain"}, 300s);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("failed    iterations 0 (best 0): disk full: free space in " + ws +
                     "/tools/t (writing " + ws + "/tools/t/best.pt)"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("terminate called"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(ws + "/tools/t/best.pt.tmp")) << "a half file stays behind";
  // Space freed: the same command retries the failed job, which now completes. The checkpoint
  // holds the weights, the optimizer's two moments and the weight average (about 6.4 MB), and
  // is replaced through a temporary file, so the tool needs about 16 MB at its peak.
  ASSERT_EQ(::mount("tmpfs", disk.c_str(), "tmpfs", MS_REMOUNT, "size=32m"), 0)
      << std::strerror(errno);
  auto [again, again_out] = run_program({binary, "run", campaign, "--plain"}, 300s);
  EXPECT_EQ(again, 0) << again_out;
  EXPECT_NE(again_out.find("job j                  completed iterations 2"), std::string::npos)
      << again_out;
}

TEST_F(Cli, RunRefusesAJobOfMoreDevicesThanItsOneWorker) {
  // Placement says a two-device job can never be placed on run's one CPU worker.
  auto campaign = small_campaign(1);
  std::ofstream(campaign, std::ios::app) << "devices = 2\n";
  auto [code, out] = run_program({binary, "run", campaign}, 120s);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("job 'first' refused: devices = 2"), std::string::npos) << out;
  EXPECT_NE(out.find("set devices = 1, or submit the campaign to a cluster"), std::string::npos)
    << out;
}

TEST_F(Cli, RunAndSubmitHelpListTheCampaignKeysWithDefaultsAndMeaning) {
  for (auto cmd : {"run", "submit"}) {
    auto [code, out] = run_program({binary, cmd, "--help"}, 30s);
    EXPECT_EQ(code, 0) << out;
    for (auto text : {"[campaign]", "[dataset.NAME]", "[split.NAME]", "[tool.NAME]", "[job.NAME]",
                      "threshold", "flip_horizontal", "continue",
                      "auto: iterations without improvement before stopping"})
      EXPECT_NE(out.find(text), std::string::npos) << cmd << " --help lacks " << text << "\n"
                                                   << out;
  }
}

TEST_F(Cli, ACampaignThatValidateRefusesExitsWithBadInputAndTheLine) {
  auto path = write("narrow.ini", "[dataset.fashion]\n[split.s]\ndataset = fashion\n[tool.t]\n"
                                  "dataset = fashion\nwidth = 2\n[job.j]\ntool = t\nsplit = s\n");
  // submit reads the campaign before it connects: the scheduler address is never reached.
  const std::vector<std::vector<std::string>> commands = {
      {binary, "run", path, "--workspace", workspace()},
      {binary, "submit", path, "--scheduler", "127.0.0.1:1"}};
  for (const auto& args : commands) {
    auto [code, out] = run_program(args, 30s);
    EXPECT_EQ(code, 2) << args[1] << ": " << out;
    EXPECT_NE(out.find("narrow.ini:6: [tool.t] key 'width': expected a whole number of pixels "
                       "from 4 to 4096, got '2'"),
              std::string::npos)
        << args[1] << ": " << out;
  }
  EXPECT_FALSE(fs::exists(workspace())) << "a refused campaign must not create a workspace";
}

TEST_F(Cli, AMissingDatasetGivesAClearError) {
  auto path = write("missing.ini",
                    "[dataset.fashion]\nkind = fashion-mnist\npath = " + (dir_ / "nowhere").string() +
                      "\n[split.s]\ndataset = fashion\n[tool.t]\ndataset = fashion\n[job.j]\ntool "
                      "= t\nsplit = s\n");
  auto [code, out] = run_program({binary, "run", path, "--workspace", workspace()}, 60s);
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("nowhere"), std::string::npos) << out;
  EXPECT_NE(out.find("dataset-fashion-mnist"), std::string::npos) << out;
}

TEST_F(Cli, RunTrainsReportsAndLeavesAWorkspaceThatEvaluatePredictAndExportUse) {
  auto campaign = small_campaign(2);
  auto [code, out] = run_program({binary, "run", campaign, "--plain"}, 600s);
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("it 2/2"), std::string::npos) << out;        // live progress lines
  EXPECT_NE(out.find("on the test set: accuracy"), std::string::npos) << out;

  auto tool = fs::path(workspace()) / "tools" / "shirts";
  for (auto f : {"settings.json", "best.pt", "checkpoint.pt", "metrics.csv", "metrics.json",
                 "curves.png"})
    EXPECT_TRUE(fs::exists(tool / f)) << f;
  std::ifstream csv(tool / "metrics.csv");
  int lines = 0;
  for (std::string line; std::getline(csv, line);)
    ++lines;
  EXPECT_EQ(lines, 3);  // header + one row per iteration

  auto [qc, qout] = run_program({binary, "queue", "-w", workspace(), "--json"}, 30s);
  ASSERT_EQ(qc, 0) << qout;
  auto jobs = nlohmann::json::parse(qout);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0]["state"], "completed");
  EXPECT_EQ(jobs[0]["run_order"], 1);
  EXPECT_EQ(jobs[0]["trained_iterations"], 2);

  auto [ec, eout] = run_program({binary, "evaluate", "shirts", "--split", "test", "-w",
                                 workspace(), "--json"},
                                120s);
  ASSERT_EQ(ec, 0) << eout;
  auto eval = nlohmann::json::parse(eout);
  EXPECT_EQ(eval["images"], 300);
  EXPECT_GT(eval["accuracy"].get<double>(), 0.5);  // chance is 0.1
  EXPECT_EQ(eval["confusion"].size(), 10u);

  // Predict two real Fashion-MNIST test images written as PGM files.
  dataset_spec test_data;
  test_data.path = "/usr/share/datasets/fashion-mnist";
  test_data.subset = "test";
  auto images = load_idx_images(test_data);
  auto labels = load_dataset_index(test_data);
  ASSERT_TRUE(images && labels);
  std::vector<std::string> files;
  for (int i = 0; i < 2; ++i) {
    auto file = (dir_ / ("item" + std::to_string(i) + ".pgm")).string();
    std::ofstream pgm(file, std::ios::binary);
    pgm << "P5\n28 28\n255\n";
    pgm.write(reinterpret_cast<const char*>(images->pixels.data() + i * 784), 784);
    files.push_back(file);
  }
  auto [pc, pout] = run_program({binary, "predict", "shirts", files[0], files[1], "-w",
                                 workspace(), "--json"},
                                60s);
  ASSERT_EQ(pc, 0) << pout;
  auto preds = nlohmann::json::parse(pout);
  ASSERT_EQ(preds.size(), 2u);
  for (auto& p : preds) {
    EXPECT_GE(p["score"].get<double>(), 0.0);
    EXPECT_LE(p["score"].get<double>(), 1.0);
    EXPECT_FALSE(p["label_name"].get<std::string>().empty());
  }
  auto [bad, bout] = run_program({binary, "predict", "shirts", (dir_ / "none.png").string(),
                                  "-w", workspace()},
                                 60s);
  EXPECT_NE(bad, 0);
  EXPECT_NE(bout.find("none.png"), std::string::npos) << bout;

  // A folder stands for the images below it, in path order (it once gave a raw C++ error).
  const fs::path folder = dir_ / "to-predict";
  fs::create_directories(folder / "more");
  const image_geometry gray{1, 28, 28};
  ASSERT_TRUE(write_png((folder / "b.png").string(), gray, images->pixels.data()));
  ASSERT_TRUE(write_png((folder / "more" / "c.png").string(), gray, images->pixels.data() + 784));
  std::ofstream(folder / "notes.txt") << "not an image\n";
  auto [fc, fout] =
    run_program({binary, "predict", "shirts", folder.string(), "-w", workspace(), "--json"}, 60s);
  ASSERT_EQ(fc, 0) << fout;
  auto from_folder = nlohmann::json::parse(fout);
  ASSERT_EQ(from_folder.size(), 2u);
  EXPECT_EQ(from_folder[0]["image"], (folder / "b.png").string());
  EXPECT_EQ(from_folder[1]["image"], (folder / "more" / "c.png").string());
  EXPECT_EQ(from_folder[0]["label_name"], preds[0]["label_name"]);  // the same pixels
  fs::create_directories(dir_ / "empty");
  auto [ec2, eout2] = run_program(
    {binary, "predict", "shirts", (dir_ / "empty").string(), "-w", workspace()}, 60s);
  EXPECT_EQ(ec2, 1) << eout2;
  EXPECT_NE(eout2.find("holds no images (png, jpg, jpeg or bmp files)"), std::string::npos)
      << eout2;

  // A glob pattern stands for the files it matches; CSV has a row for every image, an
  // unreadable one with its error.
  auto [gc, gout] = run_program({binary, "predict", "shirts", (folder / "*.png").string(),
                                 (dir_ / "gone.png").string(), "-w", workspace(), "--csv"},
                                60s, /*with_stderr=*/false);
  EXPECT_EQ(gc, 1) << gout;  // one image could not be predicted
  std::istringstream rows(gout);
  std::string header, first, second, extra;
  ASSERT_TRUE(std::getline(rows, header) && std::getline(rows, first) &&
              std::getline(rows, second))
      << gout;
  EXPECT_FALSE(std::getline(rows, extra)) << gout;
  EXPECT_EQ(header, "image,label,label_name,score,boxes,files,error");
  EXPECT_EQ(first.rfind((folder / "b.png").string() + ",", 0), 0u) << first;
  EXPECT_NE(first.find("," + from_folder[0]["label_name"].get<std::string>() + ","),
            std::string::npos)
      << first;
  EXPECT_EQ(second.rfind((dir_ / "gone.png").string() + ",,,,,,", 0), 0u) << second;
  EXPECT_NE(second.find("gone.png is missing"), std::string::npos) << second;
  auto [nm, nmout] = run_program(
      {binary, "predict", "shirts", (dir_ / "nothing-*.png").string(), "-w", workspace()}, 60s);
  EXPECT_NE(nm, 0);
  EXPECT_NE(nmout.find("no image files match"), std::string::npos) << nmout;

  // Exported, the tool runs through trainyard_runtime with LibTorch's answers.
  const std::string exported = (dir_ / "exported").string();
  auto [xc, xout] = run_program(
      {binary, "export", "shirts", "--out", exported, "-w", workspace(), "--json"}, 120s);
  ASSERT_EQ(xc, 0) << xout;
  auto summary = nlohmann::json::parse(xout);
  EXPECT_EQ(summary["kind"], "classify");
  EXPECT_EQ(summary["files"], nlohmann::json({"tool.json", "model.onnx"}));
  EXPECT_GE(summary["best_batch"].get<int>(), 1);
  // tool.json records the job's test metrics.
  EXPECT_NE(read_text(exported + "/tool.json").find("\"test_accuracy\""), std::string::npos);
  for (const std::vector<std::string>& where :
       {std::vector<std::string>{"--export", exported}, std::vector<std::string>{}}) {
    std::vector<std::string> args{binary, "predict", "shirts", files[0], files[1], "-w",
                                  workspace(), "--json", "--runtime", "onnx"};
    args.insert(args.end(), where.begin(), where.end());
    auto [oc, oout] = run_program(args, 120s);
    ASSERT_EQ(oc, 0) << oout;
    auto onnx = nlohmann::json::parse(oout.substr(oout.find('[')));
    ASSERT_EQ(onnx.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(onnx[i]["label_name"], preds[i]["label_name"]);
      EXPECT_NEAR(onnx[i]["score"].get<double>(), preds[i]["score"].get<double>(), 1e-4);
    }
  }
  EXPECT_TRUE(fs::exists(fs::path(workspace()) / "tools" / "shirts" / "export" / "model.onnx"));
  auto [nc, nout] = run_program({binary, "predict", "shirts", files[0], "-w", workspace(),
                                 "--runtime", "onnx", "--export", folder.string()},
                                60s);
  EXPECT_NE(nc, 0);
  EXPECT_NE(nout.find("no tool.json in " + folder.string()), std::string::npos) << nout;
  auto [uc, uout] = run_program({binary, "export", "shirts", "-w", workspace()}, 60s);
  EXPECT_EQ(uc, 2) << uout;
  EXPECT_NE(uout.find("name a tool and the folder to write"), std::string::npos) << uout;
}

TEST_F(Cli, ASecondRunOnAWorkspaceInUseIsRefusedAndAKilledHoldersLockIsFreeAgain) {
  auto campaign = small_campaign(6);
  {
    child_process first({binary, "run", campaign, "--plain"});
    ASSERT_TRUE(first.read_until("it 1/6", 300s)) << first.output();
    // Training the same job into the same files twice is refused at once, naming the holder.
    auto [code, out] = run_program({binary, "run", campaign, "--plain"}, 60s);
    EXPECT_EQ(code, 1) << out;
    EXPECT_NE(out.find("is in use by 'trainyard run' (pid " + std::to_string(first.pid())),
              std::string::npos)
        << out;
    first.signal(SIGKILL);
    first.finish(30s);
  }
  // The killed holder's lock went with it: the next run takes it and resumes the job.
  child_process next({binary, "run", campaign, "--plain"});
  EXPECT_TRUE(next.read_until("running", 120s)) << next.output();
  next.signal(SIGINT);
  EXPECT_EQ(next.finish(120s), 130) << next.output();
  EXPECT_EQ(next.output().find("in use by"), std::string::npos) << next.output();
}

TEST_F(Cli, CtrlCLeavesAConsistentWorkspaceAndARerunResumes) {
  // Enough iterations that the run cannot finish before the interrupt lands, even on a loaded
  // machine.
  auto campaign = small_campaign(12, 3000);
  {
    child_process run({binary, "run", campaign, "--plain"});
    ASSERT_TRUE(run.read_until("it 1/12", 300s)) << run.output();
    run.signal(SIGINT);
    EXPECT_EQ(run.finish(120s), 130) << run.output();
    EXPECT_NE(run.output().find("run the same command again"), std::string::npos);
  }
  auto [qc, qout] = run_program({binary, "queue", "-w", workspace(), "--json"}, 30s);
  ASSERT_EQ(qc, 0) << qout;
  auto jobs = nlohmann::json::parse(qout);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0]["state"], "queued");
  EXPECT_GE(jobs[0]["trained_iterations"].get<int>(), 1);

  auto [code, out] = run_program({binary, "run", campaign, "--plain"}, 600s);
  ASSERT_EQ(code, 0) << out;
  auto [qc2, qout2] = run_program({binary, "queue", "-w", workspace(), "--json"}, 30s);
  auto done = nlohmann::json::parse(qout2);
  EXPECT_EQ(done[0]["state"], "completed");
  EXPECT_EQ(done[0]["trained_iterations"], 12);
  // A third run finds the job finished and trains nothing more; with --json, stdout holds only
  // the results (progress goes to stderr).
  auto [c3, o3] = run_program({binary, "run", campaign, "--json"}, 300s, false);
  EXPECT_EQ(c3, 0) << o3;
  auto results = nlohmann::json::parse(o3);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0]["state"], "completed");
  EXPECT_EQ(results[0]["trained_iterations"], 12);
  EXPECT_GT(results[0]["test"]["accuracy"].get<double>(), 0.5);
  auto [qc3, qout3] = run_program({binary, "queue", "-w", workspace(), "--json"}, 30s);
  EXPECT_EQ(nlohmann::json::parse(qout3)[0]["trained_iterations"], 12);
}

}  // namespace
}  // namespace trainyard::testing
