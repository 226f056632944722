// `trainyard export` of an anomaly tool (autoencoder, memory banks, score scales and threshold),
// run through trainyard_runtime and compared with LibTorch's predictions on the same files: at
// 28x28 (the pixel bank holds every pixel) and at 44x44 (the pixel bank pools them to 32x32,
// cells of one or two pixels).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <onnx/checker.h>

#include "deploy/trainyard_runtime.hpp"
#include "runtime/train/engine.hpp"
#include "tests/support/generated_sets.hpp"
#include "tests/support/torch_test_support.hpp"

namespace trainyard {
namespace {

namespace fs = std::filesystem;

// Trains a tool on images resized to size x size, exports it and checks the runtime's scores,
// decisions and maps against LibTorch's predictions on the test files; leaves the export in
// `out`.
void export_and_compare(int size, const std::string& out) {
  testing::temp_folder data("anoexport-data"), workspace("anoexport-ws");
  // Good: class 0 (T-shirt/top); defects: the nine other classes.
  const testing::generated_set set =
      testing::make_anomaly_set(data.str(), testing::fashion_mnist_folder(), 0);
  const training_request r =
      testing::kind_request(1, "anomaly", "ano", set, workspace.str(), 3, 32, 16, size);
  testing::recording_observer observer;
  const training_outcome outcome = testing::shared_engine().train(r, observer);
  ASSERT_EQ(outcome.state, job_state::completed) << outcome.message;

  auto summary = export_tool(workspace.str(), "ano", out, 0, outcome.final_metrics);
  ASSERT_TRUE(summary) << summary.error().message;
  EXPECT_EQ(summary->files,
            (std::vector<std::string>{"tool.json", "bank.bin", "model.onnx", "pixel_bank.bin"}));
  EXPECT_NO_THROW(onnx::checker::check_model(out + "/model.onnx"));
  std::string error;
  auto runtime = deploy::tool::open(out, error);
  ASSERT_TRUE(runtime) << error;

  std::vector<std::string> files;
  for (std::int64_t i : images_in(set.assignment, test_set))
    files.push_back(set.index.files[static_cast<std::size_t>(i)]);
  auto reference = predict_images(workspace.str(), "ano", files, workspace.str() + "/predicted");
  ASSERT_TRUE(reference) << reference.error().message;
  const auto results = runtime->run_files(files);
  ASSERT_EQ(results.size(), files.size());
  int defects = 0;
  double worst = 0;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const deploy::result& got = results[i];
    const prediction& want = (*reference)[i];
    ASSERT_TRUE(got.error.empty()) << got.error;
    // Scores are z-scores around 0: within 1e-4 of the score, or of 1 for scores under 1.
    const double off = std::abs(got.score - want.score) / std::max(1.0, std::abs(want.score));
    worst = std::max(worst, off);
    EXPECT_LE(off, 1e-4) << files[i] << ": " << got.score << " vs " << want.score;
    EXPECT_EQ(got.label, want.label) << files[i];
    EXPECT_EQ(got.label_name, want.label_name);
    EXPECT_EQ(got.anomaly_map.rows, size);
    EXPECT_EQ(got.anomaly_map.cols, size);
    defects += got.label == 1;
  }
  std::printf("anomaly export at %dx%d: %zu images, %d flagged, largest relative score "
              "difference %.2g\n",
              size, size, files.size(), defects, worst);
  // Both decisions occur, so the comparison covers the threshold from both sides.
  EXPECT_GT(defects, 0);
  EXPECT_LT(defects, static_cast<int>(files.size()));
}

TEST(AnomalyExport, TheRuntimeGivesLibTorchsScoresAndDecisions) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  testing::temp_folder exported("anoexport-out");
  const std::string out = exported.str() + "/tool";
  export_and_compare(28, out);
  // A missing pixel bank is refused, naming the file; so is a truncated memory bank.
  std::string error;
  const std::string pixel_bank = out + "/pixel_bank.bin";
  fs::rename(pixel_bank, pixel_bank + ".away");
  EXPECT_FALSE(deploy::tool::open(out, error));
  EXPECT_NE(error.find("pixel_bank.bin is missing; export the tool again"), std::string::npos)
      << error;
  fs::rename(pixel_bank + ".away", pixel_bank);
  // A tool.json whose pixel row length is not the input's pooled cells is refused (the search
  // would read past the rows), and so is a Gaussian wider than the pooled image.
  const nlohmann::json original = nlohmann::json::parse(testing::read_file(out + "/tool.json"));
  const std::vector<std::pair<std::string, nlohmann::json>> impossible{
      {"pixel_bank_columns", 785}, {"pixel_sigma", 1e9}};
  for (const auto& [key, value] : impossible) {
    nlohmann::json changed = original;
    changed["settings"][key] = value;
    std::ofstream(out + "/tool.json") << changed.dump();
    EXPECT_FALSE(deploy::tool::open(out, error)) << key;
    EXPECT_NE(error.find("tool.json has impossible anomaly settings"), std::string::npos)
        << key << ": " << error;
  }
  std::ofstream(out + "/tool.json") << original.dump();
  ASSERT_TRUE(deploy::tool::open(out, error)) << error;
  fs::resize_file(out + "/bank.bin", fs::file_size(out + "/bank.bin") - 4);
  EXPECT_FALSE(deploy::tool::open(out, error));
  EXPECT_NE(error.find("bank.bin does not hold the memory bank"), std::string::npos) << error;
}

TEST(AnomalyExport, ImagesLargerThanThePixelBanksCellsArePooledAsLibTorchPoolsThem) {
  TRAINYARD_REQUIRE_FASHION_MNIST();
  testing::temp_folder exported("anoexport-out");
  export_and_compare(44, exported.str() + "/tool");
}

}  // namespace
}  // namespace trainyard
