// The README's examples run as written: every fenced block marked `sh` is run by bash -e from a
// fresh folder in which build/, config/ and examples/ of this checkout are reachable, as they are
// from the repository root where the README tells a user to run them. What a user would look for
// in their output is checked too: the tour's continue job says what it inherited, predict labels
// the five example images, the cluster's job completes.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/nodes/process.hpp"
#include "tests/support/temp_folder.hpp"

namespace trainyard::testing {
namespace {

namespace fs = std::filesystem;

// The README's fenced blocks whose info string is `sh`, in order.
std::vector<std::string> sh_blocks() {
  std::ifstream in(std::string(TRAINYARD_SOURCE_DIR) + "/README.md");
  std::vector<std::string> blocks;
  std::string line;
  bool inside = false, wanted = false;
  while (std::getline(in, line)) {
    if (line.rfind("```", 0) == 0) {
      if (!inside) {
        wanted = line == "```sh";
        if (wanted)
          blocks.emplace_back();
      }
      inside = !inside;
      continue;
    }
    if (inside && wanted)
      blocks.back() += line + "\n";
  }
  return blocks;
}

// Runs a block as a script in `folder` ({exit code, output}). Background jobs it leaves running
// (a scheduler and a node, when a line fails before the block's own `kill`) are ended with it.
std::pair<int, std::string> run_block(const std::string& block, const fs::path& folder) {
  const fs::path script = folder / "example.sh";
  std::ofstream(script) << "cd " << folder << "\n"
                        << "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n"
                        << block;
  return run_program({"/bin/bash", "-e", script.string()}, std::chrono::seconds(540));
}

class ReadmeExamples : public ::testing::Test {
 protected:
  void SetUp() override {
    const fs::path source = TRAINYARD_SOURCE_DIR;
    const fs::path build = fs::path(TRAINYARD_BINARY).parent_path();
    fs::create_directory_symlink(build, folder_.path() / "build");
    for (const char* part : {"config", "examples"})
      fs::create_directory_symlink(source / part, folder_.path() / part);
  }
  temp_folder folder_{"readme"};
};

TEST_F(ReadmeExamples, EveryShBlockRunsAsWritten) {
  const auto blocks = sh_blocks();
  ASSERT_EQ(blocks.size(), 2u) << "the tour and the cluster blocks";
  const std::string& tour = blocks[0];
  ASSERT_NE(tour.find("config/examples/tour.ini"), std::string::npos) << tour;

  const auto [tour_code, tour_out] = run_block(tour, folder_.path());
  ASSERT_EQ(tour_code, 0) << tour << "\n" << tour_out;
  EXPECT_NE(tour_out.find("job 'more' continues tool 'shirts' with its previous job's "
                          "learning_rate = 0.002, flip_horizontal = true"),
            std::string::npos)
    << tour_out;
  for (const char* image : {"ankle-boot.png", "shirt.png", "sneaker.png", "t-shirt.png",
                            "trouser.png"})
    EXPECT_NE(tour_out.find(image), std::string::npos) << image << " not predicted\n" << tour_out;
  EXPECT_TRUE(fs::exists(folder_.path() / "shirts-export" / "model.onnx"));

  const auto [cluster_code, cluster_out] = run_block(blocks[1], folder_.path());
  ASSERT_EQ(cluster_code, 0) << blocks[1] << "\n" << cluster_out;
  EXPECT_NE(cluster_out.find("completed"), std::string::npos) << cluster_out;
}

}  // namespace
}  // namespace trainyard::testing
