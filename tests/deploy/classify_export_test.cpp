// `trainyard export` of classify tools, run through trainyard_runtime (OpenCV DNN) and compared
// with LibTorch's predictions on the same image files; and the runtime's answers to export
// folders that are not whole.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <memory>

#include <onnx/checker.h>

#include "deploy/trainyard_runtime.hpp"
#include "runtime/data/dataset_readers.hpp"
#include "runtime/train/engine.hpp"
#include "runtime/train/images.hpp"
#include "tests/nodes/process.hpp"
#include "tests/support/huge_bmp.hpp"
#include "tests/support/torch_test_support.hpp"

namespace trainyard {
namespace {

namespace fs = std::filesystem;
using testing::fashion_slice;

// Test images of the slice as PNG files.
std::vector<std::string> write_test_images(const std::string& folder, std::size_t count) {
  const auto& slice = fashion_slice();
  auto pixels = load_idx_images(slice.dataset);
  if (!pixels)
    throw std::runtime_error(pixels.error().message);
  const std::vector<std::int64_t> test = images_in(slice.assignment, test_set);
  std::vector<std::string> files;
  fs::create_directories(folder);
  for (std::size_t k = 0; k < count; ++k) {
    const std::string file = folder + "/image-" + std::to_string(k) + ".png";
    if (!write_png(file, image_geometry{1, 28, 28},
                   pixels->pixels.data() + static_cast<std::size_t>(test[k]) * 784))
      throw std::runtime_error("cannot write " + file);
    files.push_back(file);
  }
  return files;
}

class ClassifyExport : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!testing::fashion_mnist_installed())
      return;
    folder_ = std::make_unique<testing::temp_folder>("classify-export");
    files_ = write_test_images(folder_->str() + "/images", 40);
  }
  static void TearDownTestSuite() { folder_.reset(); }
  void SetUp() override {
    if (!testing::fashion_mnist_installed())
      GTEST_SKIP() << "Fashion-MNIST is not installed";
    trained("judge", 28, 2);
  }
  // Trains `tool` once per test process (ctest runs each test in its own), on inputs of `size`
  // pixels for `iterations`.
  static void trained(const std::string& tool, int size, int iterations,
                      const std::string& model = "normal") {
    static std::map<std::string, training_outcome> outcomes;
    if (outcomes.count(tool) == 0) {
      testing::recording_observer observer;
      auto request = testing::make_request(static_cast<job_id>(outcomes.size() + 1), tool,
                                           workspace(), iterations);
      request.spec.tool.input_width = request.spec.tool.input_height = size;
      request.spec.tool.model = model;
      outcomes[tool] = testing::shared_engine().train(request, observer);
    }
    ASSERT_EQ(outcomes[tool].state, job_state::completed) << outcomes[tool].message;
  }
  static std::string workspace() { return folder_->str() + "/ws"; }
  static std::string exported(const std::string& name) { return folder_->str() + "/" + name; }

  // Exports `tool` and checks that runtime and LibTorch give the same labels and scores.
  static void expect_same_predictions(const std::string& tool, std::int64_t batch) {
    const std::string out = exported(tool + "-" + std::to_string(batch));
    auto summary = export_tool(workspace(), tool, out, batch, {{"test_accuracy", 0.5}});
    ASSERT_TRUE(summary) << summary.error().message;
    EXPECT_EQ(summary->kind, "classify");
    ASSERT_EQ(summary->files, (std::vector<std::string>{"tool.json", "model.onnx"}));
    EXPECT_NO_THROW(onnx::checker::check_model(out + "/model.onnx"));
    std::string error;
    auto runtime = deploy::tool::open(out, error);
    ASSERT_TRUE(runtime) << error;
    EXPECT_EQ(runtime->info().best_batch, batch > 0 ? batch : summary->best_batch);
    auto reference = predict_images(workspace(), tool, files_);
    ASSERT_TRUE(reference) << reference.error().message;
    // Batches of 7 leave a short last batch: results must not depend on the batching.
    const auto results = runtime->run_files(files_, 7);
    ASSERT_EQ(results.size(), files_.size());
    for (std::size_t i = 0; i < files_.size(); ++i) {
      const deploy::result& r = results[i];
      const prediction& p = (*reference)[i];
      ASSERT_TRUE(r.error.empty()) << r.error;
      EXPECT_EQ(r.label, p.label) << files_[i];
      EXPECT_EQ(r.label_name, p.label_name);
      EXPECT_NEAR(r.score, p.score, 1e-4) << files_[i];
      ASSERT_EQ(r.probabilities.size(), 10u);
      EXPECT_FLOAT_EQ(r.probabilities[static_cast<std::size_t>(r.label)],
                      static_cast<float>(r.score));
    }
  }

  static std::unique_ptr<testing::temp_folder> folder_;
  static std::vector<std::string> files_;
};
std::unique_ptr<testing::temp_folder> ClassifyExport::folder_;
std::vector<std::string> ClassifyExport::files_;

TEST_F(ClassifyExport, TheRuntimeGivesLibTorchsLabelsAndProbabilitiesWithADynamicBatch) {
  expect_same_predictions("judge", 0);
}

TEST_F(ClassifyExport, AFixedBatchExportGivesTheSameAndRecordsItsBatch) {
  expect_same_predictions("judge", 4);
}

TEST_F(ClassifyExport, LargeInputsWithAdaptivePoolingExportFoldedAndAgree) {
  // Inputs of 36 pixels: the classifier's 9x9 features are average-pooled to 7x7, which the
  // export folds into the first fully connected layer.
  trained("large", 36, 1);
  expect_same_predictions("large", 0);
}

TEST_F(ClassifyExport, TheMediumAndLargeNetworksExportAndAgree) {
  // medium's full-resolution stem and large's second convolutions per stage are in the graph.
  for (const std::string model : {"medium", "large"}) {
    trained("net-" + model, 28, 1, model);
    expect_same_predictions("net-" + model, 0);
  }
}

TEST_F(ClassifyExport, ToolJsonDescribesTheToolForItsUser) {
  const std::string out = exported("described");
  auto summary = export_tool(workspace(), "judge", out, 0, {{"val_accuracy", 0.75}});
  ASSERT_TRUE(summary) << summary.error().message;
  std::string error;
  auto runtime = deploy::tool::open(out, error);
  ASSERT_TRUE(runtime) << error;
  const deploy::tool_info& info = runtime->info();
  EXPECT_EQ(info.name, "judge");
  EXPECT_EQ(info.kind, "classify");
  EXPECT_EQ(info.width, 28);
  EXPECT_EQ(info.height, 28);
  EXPECT_EQ(info.channels, 1);
  EXPECT_EQ(info.class_names, fashion_slice().index.class_names);
  EXPECT_GE(info.best_batch, 1);
  EXPECT_EQ(info.best_batch, summary->best_batch);
  EXPECT_GT(summary->images_per_second, 0);
  const std::string text = testing::read_file(out + "/tool.json");
  EXPECT_NE(text.find("\"val_accuracy\": 0.75"), std::string::npos) << text;
  EXPECT_NE(text.find("\"trainyard_version\""), std::string::npos) << text;
}

TEST_F(ClassifyExport, ImagesOfAnotherSizeAndColourAreConvertedAndEmptyOrHugeOnesNamed) {
  const std::string out = exported("converted");
  ASSERT_TRUE(export_tool(workspace(), "judge", out, 0, {}));
  std::string error;
  auto runtime = deploy::tool::open(out, error);
  ASSERT_TRUE(runtime) << error;
  // A file whose header declares 400 megapixels is refused before OpenCV allocates them, as
  // training refuses it; the files around it are run all the same.
  const std::string huge = exported("huge") + ".bmp";
  testing::write_huge_bmp(huge);
  const auto as_files = runtime->run_files(
    {files_[0], fs::path(files_[0]).parent_path().string() + "/nowhere.png", huge, files_[1]});
  ASSERT_EQ(as_files.size(), 4u);
  EXPECT_TRUE(as_files[0].error.empty());
  EXPECT_NE(as_files[1].error.find("nowhere.png"), std::string::npos) << as_files[1].error;
  EXPECT_EQ(as_files[2].error, testing::huge_bmp_refusal(huge));
  EXPECT_TRUE(as_files[3].error.empty()) << as_files[3].error;
  EXPECT_EQ(as_files[3].probabilities.size(), 10u);
  const auto mats = runtime->run({cv::Mat(), cv::Mat(56, 56, CV_8UC3, cv::Scalar(40, 40, 40))});
  ASSERT_EQ(mats.size(), 2u);
  EXPECT_NE(mats[0].error.find("empty"), std::string::npos) << mats[0].error;
  EXPECT_TRUE(mats[1].error.empty()) << mats[1].error;
  EXPECT_EQ(mats[1].probabilities.size(), 10u);
}

TEST_F(ClassifyExport, AFolderThatIsNotAWholeExportIsRefusedSayingWhatToDo) {
  const std::string good = exported("whole");
  ASSERT_TRUE(export_tool(workspace(), "judge", good, 0, {}));
  std::string error;
  // No tool.json.
  EXPECT_FALSE(deploy::tool::open(folder_->str() + "/images", error));
  EXPECT_NE(error.find("no tool.json"), std::string::npos) << error;
  EXPECT_NE(error.find("trainyard export"), std::string::npos) << error;
  // Another format version.
  const std::string other = exported("other-version");
  fs::copy(good, other, fs::copy_options::recursive);
  std::string text = testing::read_file(other + "/tool.json");
  text.replace(text.find("\"format_version\": 1"), 19, "\"format_version\": 7");
  std::ofstream(other + "/tool.json") << text;
  EXPECT_FALSE(deploy::tool::open(other, error));
  EXPECT_NE(error.find("format version 7"), std::string::npos) << error;
  EXPECT_NE(error.find("export the tool again"), std::string::npos) << error;
  // A truncated model.
  const std::string cut = exported("truncated");
  fs::copy(good, cut, fs::copy_options::recursive);
  fs::resize_file(cut + "/model.onnx", fs::file_size(cut + "/model.onnx") / 2);
  EXPECT_FALSE(deploy::tool::open(cut, error));
  EXPECT_NE(error.find("model.onnx"), std::string::npos) << error;
  EXPECT_NE(error.find("truncated"), std::string::npos) << error;
  // A missing model.
  fs::remove(cut + "/model.onnx");
  EXPECT_FALSE(deploy::tool::open(cut, error));
  EXPECT_NE(error.find("model.onnx is missing"), std::string::npos) << error;
}

// The example program's lines ("file<TAB>label<TAB>score") against LibTorch's predictions.
void expect_example_output(const std::string& program, const std::string& exported,
                           const std::vector<std::string>& files,
                           const std::vector<prediction>& reference) {
  using namespace std::chrono_literals;
  std::vector<std::string> args{program, exported};
  args.insert(args.end(), files.begin(), files.end());
  auto [code, out] = testing::run_program(args, 120s, /*with_stderr=*/false);
  ASSERT_EQ(code, 0) << out;
  std::istringstream lines(out);
  for (std::size_t i = 0; i < files.size(); ++i) {
    std::string file, label, score;
    ASSERT_TRUE(std::getline(lines, file, '\t') && std::getline(lines, label, '\t') &&
                std::getline(lines, score))
        << out;
    EXPECT_EQ(file, files[i]);
    EXPECT_EQ(label, reference[i].label_name);
    EXPECT_NEAR(std::stod(score), reference[i].score, 1e-4);
  }
}

TEST_F(ClassifyExport, TheExampleProgramPrintsLibTorchsLabels) {
  const std::string out = exported("for-example");
  ASSERT_TRUE(export_tool(workspace(), "judge", out, 0, {}));
  const std::vector<std::string> some(files_.begin(), files_.begin() + 5);
  auto reference = predict_images(workspace(), "judge", some);
  ASSERT_TRUE(reference) << reference.error().message;
  expect_example_output(TRAINYARD_INFER, out, some, *reference);
}

// What docs/deploying.md tells a user to do: the example as its own CMake project, which finds only
// OpenCV and nlohmann_json and adds trainyard's deploy/ folder.
TEST_F(ClassifyExport, TheExampleBuildsAsAUsersOwnCMakeProjectWithoutLibTorch) {
  using namespace std::chrono_literals;
  const std::string build = folder_->str() + "/example-build";
  std::vector<std::string> configure{TRAINYARD_CMAKE, "-S", std::string(TRAINYARD_SOURCE_DIR) + "/examples",
                                     "-B", build, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release"};
  if (std::system("command -v ccache >/dev/null 2>&1") == 0)
    configure.push_back("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache");
  auto [cc, cout] = testing::run_program(configure, 300s);
  ASSERT_EQ(cc, 0) << cout;
  auto [bc, bout] = testing::run_program({TRAINYARD_CMAKE, "--build", build, "-j", "2"}, 600s);
  ASSERT_EQ(bc, 0) << bout;
  // Nothing of LibTorch or CAF was needed to link it.
  const std::string cache = testing::read_file(build + "/CMakeCache.txt");
  EXPECT_EQ(cache.find("Torch_DIR"), std::string::npos);
  EXPECT_EQ(cache.find("CAF_DIR"), std::string::npos);
  const std::string out = exported("for-user-project");
  ASSERT_TRUE(export_tool(workspace(), "judge", out, 0, {}));
  const std::vector<std::string> some(files_.begin(), files_.begin() + 3);
  auto reference = predict_images(workspace(), "judge", some);
  ASSERT_TRUE(reference) << reference.error().message;
  expect_example_output(build + "/trainyard-infer", out, some, *reference);
}

TEST_F(ClassifyExport, AToolWithoutWeightsIsNotExported) {
  auto summary = export_tool(workspace(), "nobody", exported("nobody"), 0, {});
  ASSERT_FALSE(summary);
  EXPECT_EQ(summary.error().code, error_code::unknown_tool);
  EXPECT_FALSE(fs::exists(exported("nobody") + "/tool.json"));
}

}  // namespace
}  // namespace trainyard
