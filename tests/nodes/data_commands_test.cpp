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
