// Training and inference speed of each tool kind the engine trains, at the batch sizes its probe
// picks: one auto-batch iteration per kind on a small set (classify: 2,000 Fashion-MNIST images;
// segment: the generated 40x40 set; anomaly: the generated one-class set; locate: 400 generated
// 96x96 scenes from synthetic_sets.hpp, as `trainyard make-datasets` writes them), through the
// real engine. Prints one JSON object: per kind the probed training and inference batch sizes, the
// probe's images/s at those sizes, and the images/s of the trained iteration.
//
//   ./build/tool_speed
#include <cstdio>
#include <filesystem>
#include <unistd.h>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/data/dataset_index.hpp"
#include "runtime/train/engine.hpp"
#include "runtime/lab/synthetic_sets.hpp"
#include "tests/support/generated_sets.hpp"
#include "tests/support/torch_test_support.hpp"

using namespace trainyard;

namespace {

nlohmann::json measure(const std::string& kind_name, const std::string& kind, const dataset_spec& dataset,
                       const std::vector<std::uint8_t>& assignment, int size,
                       const std::string& workspace) {
  // A one-iteration job at the tool's default model width.
  training_request r = trainyard::testing::kind_request(
      1, kind, kind_name, trainyard::testing::generated_set{dataset, {}, assignment}, workspace, 1,
      0, tool_spec{}.model_width, size);
  trainyard::testing::recording_observer observer;
  auto engine = make_torch_engine();
  const training_outcome outcome = engine->train(r, observer);
  nlohmann::json j;
  j["kind"] = kind_name;
  if (outcome.state != job_state::completed || !observer.probe) {
    j["error"] = outcome.message;
    return j;
  }
  const probe_result& p = *observer.probe;
  j["train_batch_size"] = p.train_batch_size;
  j["inference_batch_size"] = p.inference_batch_size;
  for (const probe_row& row : p.rows) {
    if (row.batch_size == p.train_batch_size)
      j["probe_train_images_per_s"] = row.train_images_per_s;
    if (row.batch_size == p.inference_batch_size)
      j["probe_inference_images_per_s"] = row.infer_images_per_s;
  }
  j["iteration_images_per_s"] = observer.reports.at(0).metrics.at("images_per_s");
  j["input"] = std::to_string(size) + "x" + std::to_string(size);
  return j;
}

}  // namespace

int main() {
  if (!trainyard::testing::fashion_mnist_installed()) {
    std::fprintf(stderr, "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)\n");
    return 1;
  }
  const std::string root =
      (std::filesystem::temp_directory_path() / ("tool-speed-" + std::to_string(::getpid()))).string();
  nlohmann::json out = nlohmann::json::array();
  const auto slice = trainyard::testing::make_fashion_slice(7, 2000, 500, 500);
  out.push_back(measure("classify", "classify", slice.dataset, slice.assignment, 28,
                        root + "/ws"));
  const auto seg = trainyard::testing::make_segment_set(root + "/segment", trainyard::testing::fashion_mnist_folder());
  out.push_back(measure("segment", "segment", seg.dataset, seg.assignment, 40, root + "/ws"));
  const auto ano =
      trainyard::testing::make_anomaly_set(root + "/anomaly", trainyard::testing::fashion_mnist_folder(), 0);
  out.push_back(measure("anomaly", "anomaly", ano.dataset, ano.assignment, 28, root + "/ws"));
  synthetic_options scenes;
  scenes.out = root + "/scenes";
  scenes.scenes = 400;
  const auto boxes = trainyard::testing::make_scene_set(scenes, 300, 50, 50);
  out.push_back(measure("locate", "locate", boxes.dataset, boxes.assignment, 96, root + "/ws"));
  std::error_code ec;
  std::filesystem::remove_all(root, ec);
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}
