// Inference speed of each tool kind through LibTorch and through trainyard_runtime (OpenCV DNN)
// after `trainyard export`, each at its own best batch size on this machine. Per kind one tool is
// trained for one iteration (classify: 2,000 Fashion-MNIST images at 28x28; segment: the
// generated 40x40 set; anomaly: the generated one-class set at 28x28; locate: 400 generated
// 96x96 scenes), exported with a dynamic batch, and both paths run on the same decoded test
// images, batch sizes 1, 2, 4, ..., 128:
//   torch    the kind's inference step, tool_task::infer on a normalised batch (what the batch
//            probe times: the network and the post-processing; anomaly: the maps, without the
//            kNN search);
//   runtime  deploy::tool::run on the 8-bit images (conversion, normalisation, the network and
//            the post-processing; anomaly: with the kNN search).
// Decoding files and writing images are left out of both. Prints one JSON array: per kind the
// images/s of each batch size on each path, each path's best, and runtime_best / torch_best.
//
//   ./build/inference_speed
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <thread>
#include <string>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include "deploy/trainyard_runtime.hpp"
#include "runtime/data/dataset_index.hpp"
#include "runtime/lab/synthetic_sets.hpp"
#include "runtime/train/engine.hpp"
#include "runtime/train/input.hpp"
#include "runtime/train/trained_tool.hpp"
#include "tests/support/generated_sets.hpp"
#include "tests/support/torch_test_support.hpp"

using namespace trainyard;

namespace {

// Images per second of `run(batch)` over calls of `batch` images: one call to warm up, then
// calls until half a second and three calls have passed.
double images_per_second(const std::function<void()>& run, int batch) {
  run();
  const auto start = std::chrono::steady_clock::now();
  int calls = 0;
  double seconds = 0;
  while (calls < 3 || seconds < 0.5) {
    run();
    ++calls;
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return batch * calls / seconds;
}

nlohmann::json measure(const std::string& kind, const dataset_spec& dataset,
                       const std::vector<std::uint8_t>& assignment, int size,
                       const std::string& root) {
  nlohmann::json j{{"kind", kind}, {"input", std::to_string(size) + "x" + std::to_string(size)}};
  // A one-iteration job at the tool's default model width.
  training_request r = trainyard::testing::kind_request(
      1, kind, kind, trainyard::testing::generated_set{dataset, {}, assignment}, root + "/ws", 1,
      32, tool_spec{}.model_width, size);
  trainyard::testing::recording_observer observer;
  const training_outcome outcome = make_torch_engine()->train(r, observer);
  if (outcome.state != job_state::completed) {
    j["error"] = outcome.message;
    return j;
  }
  auto exported = export_tool(r.workspace, kind, root + "/export-" + kind, 0, {});
  auto opened = open_tool(r.workspace, kind);
  if (!exported || !opened) {
    j["error"] = !exported ? exported.error().message : opened.error().message;
    return j;
  }
  std::string error;
  auto runtime = deploy::tool::open(root + "/export-" + kind, error);
  if (!runtime) {
    j["error"] = error;
    return j;
  }
  // The test images, decoded once; batches repeat them as needed.
  const std::vector<std::int64_t> rows = images_in(assignment, test_set);
  auto index = load_dataset_index(dataset);
  auto decoded = load_images(*index, rows, opened->geometry, 2);
  if (!decoded) {
    j["error"] = decoded.error().message;
    return j;
  }
  const torch::Tensor images = decoded->images;  // uint8 [N, C, H, W]
  const std::int64_t n = images.size(0);
  std::vector<cv::Mat> mats;
  for (std::int64_t i = 0; i < n; ++i) {
    const torch::Tensor hwc = images[i].permute({1, 2, 0}).contiguous();
    cv::Mat m(size, size, images.size(1) == 3 ? CV_8UC3 : CV_8UC1, hwc.data_ptr());
    cv::Mat copy = m.clone();
    if (images.size(1) == 3)
      cv::cvtColor(copy, copy, cv::COLOR_RGB2BGR);  // the runtime takes OpenCV's BGR
    mats.push_back(copy);
  }
  torch::set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  torch::NoGradGuard no_grad;
  nlohmann::json torch_rates = nlohmann::json::object(), runtime_rates = nlohmann::json::object();
  double torch_best = 0, runtime_best = 0;
  int torch_batch = 0, runtime_batch = 0;
  for (int batch = 1; batch <= 128; batch *= 2) {
    const torch::Tensor idx = torch::arange(batch, torch::kLong).remainder(n);
    const torch::Tensor x = opened->task->transform()(images.index_select(0, idx));
    std::vector<cv::Mat> some;
    for (int i = 0; i < batch; ++i)
      some.push_back(mats[static_cast<std::size_t>(i % n)]);
    const double t = images_per_second([&] { opened->task->infer(x); }, batch);
    const double o = images_per_second([&] { (void)runtime->run(some, batch); }, batch);
    torch_rates[std::to_string(batch)] = t;
    runtime_rates[std::to_string(batch)] = o;
    if (t > torch_best) {
      torch_best = t;
      torch_batch = batch;
    }
    if (o > runtime_best) {
      runtime_best = o;
      runtime_batch = batch;
    }
  }
  j["torch_images_per_s"] = torch_rates;
  j["runtime_images_per_s"] = runtime_rates;
  j["torch_best"] = {{"batch", torch_batch}, {"images_per_s", torch_best}};
  j["runtime_best"] = {{"batch", runtime_batch}, {"images_per_s", runtime_best}};
  j["runtime_over_torch"] = runtime_best / torch_best;
  return j;
}

}  // namespace

int main() {
  if (!trainyard::testing::fashion_mnist_installed()) {
    std::fprintf(stderr, "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)\n");
    return 1;
  }
  namespace gen = trainyard::testing;
  const std::string root = (std::filesystem::temp_directory_path() /
                            ("inference-speed-" + std::to_string(::getpid())))
                               .string();
  nlohmann::json out = nlohmann::json::array();
  const auto slice = gen::make_fashion_slice(7, 2000, 500, 500);
  out.push_back(measure("classify", slice.dataset, slice.assignment, 28, root));
  const auto ano = gen::make_anomaly_set(root + "/anomaly", gen::fashion_mnist_folder(), 0);
  out.push_back(measure("anomaly", ano.dataset, ano.assignment, 28, root));
  const auto seg = gen::make_segment_set(root + "/segment", gen::fashion_mnist_folder());
  out.push_back(measure("segment", seg.dataset, seg.assignment, 40, root));
  synthetic_options scenes;
  scenes.out = root + "/scenes";
  scenes.scenes = 400;
  const auto boxes = gen::make_scene_set(scenes, 300, 50, 50);
  out.push_back(measure("locate", boxes.dataset, boxes.assignment, 96, root));
  std::error_code ec;
  std::filesystem::remove_all(root, ec);
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}
