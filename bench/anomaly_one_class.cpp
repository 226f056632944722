// The anomaly tool's method on the ten one-class Fashion-MNIST settings: for each class k, train
// on the training images of class k only, then score the 10,000 test images (good = class k,
// defects = the nine other classes) and report the image AUROC of the tool's score and of each
// of its parts, with a raw-pixel nearest-neighbour baseline. Drives the anomaly tool_task
// directly on in-memory tensors (the engine would need 16,000 PNG files per setting); the model,
// loss and scores are the tool's own.
//
//   ./build/anomaly_one_class [--epochs 5] [--classes 0,1,...] [--train-images 6000] [--threads N]
// (--threads: torch threads, default all cores; 1 is faster on a machine other work keeps busy)
// prints one JSON object per setting, then the means.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <string>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "runtime/data/dataset_index.hpp"
#include "runtime/train/engine.hpp"
#include "runtime/train/tool_task.hpp"

using namespace trainyard;

namespace {

struct subset {
  torch::Tensor images;  // uint8 [N, 1, 28, 28]
  torch::Tensor labels;  // int64 [N]
};

subset load(const std::string& which) {
  dataset_spec spec;
  spec.name = "fashion-" + which;
  spec.path = "/usr/share/datasets/fashion-mnist";
  spec.subset = which;
  auto index = load_dataset_index(spec);
  auto idx = load_idx_images(spec);
  if (!index || !idx) {
    std::fprintf(stderr, "Fashion-MNIST is not readable under %s\n", spec.path.c_str());
    std::exit(1);
  }
  subset s;
  s.images = torch::from_blob(idx->pixels.data(), {idx->count, 1, 28, 28}, torch::kUInt8).clone();
  std::vector<std::int64_t> labels(index->labels.begin(), index->labels.end());
  s.labels = torch::tensor(labels, torch::kLong);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  int epochs = 5;
  std::int64_t train_images = 6000;
  std::vector<int> classes{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--epochs"))
      epochs = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads"))
      threads = std::max(1, std::atoi(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--train-images"))
      train_images = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--classes")) {
      classes.clear();
      for (const char* p = argv[i + 1]; *p; ++p)
        if (*p >= '0' && *p <= '9')
          classes.push_back(*p - '0');
    }
  }
  tune_malloc_for_training();
  torch::set_num_threads(threads);
  const subset train = load("train"), test = load("test");
  double sum[5] = {0, 0, 0, 0, 0};
  for (int k : classes) {
    const auto t0 = std::chrono::steady_clock::now();
    task_data good;
    const torch::Tensor rows = train.labels.eq(k).nonzero().flatten().narrow(
        0, 0, std::min<std::int64_t>(train_images, train.labels.eq(k).sum().item<std::int64_t>()));
    good.images = train.images.index_select(0, rows);
    good.labels = torch::zeros({rows.size(0)}, torch::kLong);
    task_data scored;
    scored.images = test.images;
    scored.labels = test.labels.ne(k).to(torch::kLong);

    task_setup setup;
    setup.tool.kind = "anomaly";
    setup.tool.model_width = 32;
    setup.channels = 1;
    setup.class_names = {"good", "defect"};
    setup.norm = compute_normalization(good.images);
    torch::manual_seed(42);
    auto task = make_tool_task(setup);
    if (!task) {
      std::fprintf(stderr, "%s\n", task.error().message.c_str());
      return 1;
    }
    tool_task& t = **task;
    torch::optim::Adam optimizer(t.model()->parameters(), torch::optim::AdamOptions(1e-3));
    torch::Generator gen = at::detail::createCPUGenerator(k + 1);
    t.model()->train();
    const std::int64_t n = good.size(), batch = 64;
    for (int e = 0; e < epochs; ++e) {
      const torch::Tensor order = torch::randperm(n, gen, torch::kLong);
      for (std::int64_t start = 0; start < n; start += batch) {
        optimizer.zero_grad();
        torch::Tensor loss =
            t.batch_loss(good, order.narrow(0, start, std::min(batch, n - start)), gen);
        loss.backward();
        optimizer.step();
      }
    }
    t.prepare(good);
    const metric_map m = t.evaluate(scored, "");
    // Baseline: distance of each test image's raw pixels to the nearest good training image.
    const torch::Tensor a = scored.images.flatten(1).to(torch::kFloat).div(255);
    const torch::Tensor b = good.images.flatten(1).to(torch::kFloat).div(255);
    std::vector<torch::Tensor> nearest;
    for (std::int64_t s = 0; s < a.size(0); s += 1024)
      nearest.push_back(std::get<0>(torch::cdist(a.narrow(0, s, std::min<std::int64_t>(1024, a.size(0) - s)), b).min(1)));
    const double raw_knn = auroc(torch::cat(nearest), scored.labels);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("{\"good_class\": %d, \"train_images\": %lld, \"epochs\": %d, \"auroc\": %.4f, "
                "\"auroc_reconstruction\": %.4f, \"auroc_knn\": %.4f, \"auroc_pixel_knn\": %.4f, "
                "\"auroc_raw_pixel_knn\": %.4f, \"seconds\": %.1f}\n",
                k, static_cast<long long>(n), epochs, m.at("auroc"), m.at("auroc_reconstruction"),
                m.at("auroc_knn"), m.at("auroc_pixel_knn"), raw_knn, seconds);
    std::fflush(stdout);
    sum[0] += m.at("auroc");
    sum[1] += m.at("auroc_reconstruction");
    sum[2] += m.at("auroc_knn");
    sum[3] += raw_knn;
    sum[4] += m.at("auroc_pixel_knn");
  }
  const double c = static_cast<double>(classes.size());
  std::printf("{\"settings\": %zu, \"mean_auroc\": %.4f, \"mean_auroc_reconstruction\": %.4f, "
              "\"mean_auroc_knn\": %.4f, \"mean_auroc_pixel_knn\": %.4f, "
              "\"mean_auroc_raw_pixel_knn\": %.4f}\n",
              classes.size(), sum[0] / c, sum[1] / c, sum[2] / c, sum[4] / c, sum[3] / c);
  return 0;
}
