// `trainyard make-datasets` and `trainyard augment-preview` as a user runs them: real processes,
// the real Fashion-MNIST, a small generated tree in a temporary folder.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/nodes/process.hpp"
#include "tests/support/temp_folder.hpp"

namespace trainyard::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

const std::string binary = TRAINYARD_BINARY;

std::string write(const fs::path& path, const std::string& text) {
  std::ofstream(path) << text;
  return path.string();
}

TEST(DataCommands, MakeDatasetsThenPreviewBoxesAndMasks) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)";
  temp_folder dir("data-commands");
  auto [code, out] = run_program({binary, "make-datasets", "--out", (dir / "sets").string(),
                                  "--images", "12", "--anomaly-images", "5", "--seed", "2"},
                                 120s);
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("wrote 12 scenes"), std::string::npos) << out;
  EXPECT_TRUE(fs::exists(dir / "sets/scenes/boxes.json"));
  EXPECT_TRUE(fs::exists(dir / "sets/scenes/masks/000011.png"));
  EXPECT_TRUE(fs::exists(dir / "sets/anomaly-9/good/train-00000.png"));  // first training image is a boot

  // Relative paths in a campaign are relative to its folder.
  const std::string datasets =
      "[dataset.boxes]\nkind = coco\npath = sets/scenes/images\n"
      "annotations = sets/scenes/boxes.json\n"
      "[dataset.masks]\nkind = masks\npath = sets/scenes/images\nmasks = sets/scenes/masks\n"
      "annotations = sets/scenes/labels.txt\n"
      "[split.b]\ndataset = boxes\n[split.m]\ndataset = masks\n"
      "[tool.finder]\nkind = locate\ndataset = boxes\nwidth = 96\nheight = 96\n"
      "[tool.painter]\nkind = segment\ndataset = masks\nwidth = 96\nheight = 96\n";
  auto campaign = write(dir / "c.ini", datasets +
                                           "[job.find]\ntool = finder\nsplit = b\n"
                                           "flip_horizontal = true\nscale = 0.2\nshift = 0.1\n"
                                           "[job.paint]\ntool = painter\nsplit = m\n"
                                           "rotation = 15\nshear = 5\n");
  auto [c1, o1] = run_program({binary, "augment-preview", campaign, "--job", "find", "--out",
                               (dir / "find.png").string(), "--samples", "2"},
                              60s);
  ASSERT_EQ(c1, 0) << o1;
  EXPECT_NE(o1.find("4 images x 5 columns"), std::string::npos) << o1;
  EXPECT_NE(o1.find("boxes drawn"), std::string::npos) << o1;
  EXPECT_GT(fs::file_size(dir / "find.png"), 1000u);

  auto [c2, o2] = run_program({binary, "augment-preview", campaign, "--job", "paint", "--out",
                               (dir / "paint.png").string()},
                              60s);
  ASSERT_EQ(c2, 0) << o2;
  EXPECT_NE(o2.find("masks overlaid"), std::string::npos) << o2;

  // A locate job with rotation is refused when its campaign is read, naming the line, and
  // nothing is written.
  auto turning = write(dir / "turn.ini", datasets + "[job.turn]\ntool = finder\nsplit = b\n"
                                                    "rotation = 10\n");
  auto [c3, o3] = run_program({binary, "augment-preview", turning, "--job", "turn", "--out",
                               (dir / "turn.png").string()},
                              60s);
  EXPECT_EQ(c3, 2) << o3;
  EXPECT_NE(o3.find("turn.ini:27: [job.turn] key 'rotation'"), std::string::npos) << o3;
  EXPECT_NE(o3.find("rotation and shear cannot keep boxes exact; set them to 0 for locate tools"),
            std::string::npos)
      << o3;
  EXPECT_FALSE(fs::exists(dir / "turn.png"));

  auto [c4, o4] = run_program({binary, "augment-preview", campaign, "--job", "nope", "--out",
                               (dir / "x.png").string()},
                              60s);
  EXPECT_EQ(c4, 2);
  EXPECT_NE(o4.find("no [job.nope] section"), std::string::npos) << o4;
}

// A folder dataset of gray 8x8 PNGs in two classes, `broken` of them replaced by bytes that do
// not decode; returns the campaign that trains a tool on it.
std::string folder_campaign(const fs::path& root, const std::vector<std::string>& broken) {
  for (const char* label : {"dark", "light"})
    for (int i = 0; i < 6; ++i) {
      const fs::path file = root / "images" / label / ("img" + std::to_string(i) + ".png");
      fs::create_directories(file.parent_path());
      // PGM bytes under a .png name: OpenCV decodes by content, and PGM needs no zlib here.
      std::ofstream out(file, std::ios::binary);
      out << "P5\n8 8\n255\n" << std::string(64, label[0] == 'd' ? '\x10' : '\xe0');
    }
  for (const std::string& name : broken)
    std::ofstream(root / "images" / name, std::ios::binary) << "not an image at all";
  return write(root / "c.ini",
               "[campaign]\nworkspace = ws\n[dataset.shades]\nkind = folder\npath = images\n"
               "[split.s]\ndataset = shades\nmode = count\ntrain = 6\nvalidation = 3\ntest = 3\n"
               "[tool.t]\ndataset = shades\nwidth = 8\nheight = 8\n"
               "[job.j]\ntool = t\nsplit = s\niterations = 1\n");
}

TEST(DataCommands, CheckAndRunListEveryUnreadableImageAtOnceBeforeQueueingAnything) {
  temp_folder dir("check");
  const std::string campaign =
      folder_campaign(dir.path(), {"dark/img1.png", "light/img4.png"});
  auto [code, out] = run_program({binary, "check", campaign}, 60s);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("2 files of the campaign's datasets cannot be used"), std::string::npos)
      << out;
  EXPECT_NE(out.find("dark/img1.png could not be decoded"), std::string::npos) << out;
  EXPECT_NE(out.find("light/img4.png could not be decoded"), std::string::npos) << out;
  auto [jc, jout] = run_program({binary, "check", campaign, "--json"}, 60s, false);
  EXPECT_EQ(jc, 1) << jout;
  EXPECT_NE(jout.find("\"checked\":12"), std::string::npos) << jout;
  EXPECT_NE(jout.find("\"image_corrupt\""), std::string::npos) << jout;
  // run says the same and queues nothing: no job, no split drawn or locked.
  auto [rc, rout] = run_program({binary, "run", campaign, "--plain"}, 120s);
  EXPECT_EQ(rc, 1) << rout;
  EXPECT_NE(rout.find("light/img4.png could not be decoded"), std::string::npos) << rout;
  EXPECT_NE(rout.find("nothing was queued"), std::string::npos) << rout;
  EXPECT_FALSE(fs::exists(dir.path() / "ws" / "trainyard.db"));
}

TEST(DataCommands, CheckPassesACampaignWhoseFilesAllDecode) {
  temp_folder dir("check-ok");
  const std::string campaign = folder_campaign(dir.path(), {});
  auto [code, out] = run_program({binary, "check", campaign}, 60s);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("12 files of 1 dataset decode; nothing to fix"), std::string::npos) << out;
}

TEST(DataCommands, MakeDatasetsNeedsAnOutputFolder) {
  auto [code, out] = run_program({binary, "make-datasets"}, 30s);
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("--out DIR is required"), std::string::npos) << out;
  auto [help, text] = run_program({binary, "augment-preview", "--help"}, 30s);
  EXPECT_EQ(help, 0);
  EXPECT_NE(text.find("--samples"), std::string::npos) << text;
}

}  // namespace
}  // namespace trainyard::testing
