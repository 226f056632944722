// The data subcommands: `make-datasets` (synthetic locate / segment / anomaly datasets from
// Fashion-MNIST) and `augment-preview` (an image grid of a job's augmentation). Thin: options in,
// one runtime call, a summary out.
#include <chrono>
#include <iostream>

#include "nodes/commands.hpp"
#include "runtime/torch/synthetic_sets.hpp"

namespace trainyard {

int make_datasets_command(const make_datasets_options& options) {
  synthetic_options o;
  o.out = options.out;
  o.seed = options.seed;
  o.scenes = options.images;
  o.anomaly_train_good = options.anomaly_images;
  o.fashion_mnist = options.fashion_mnist;
  auto start = std::chrono::steady_clock::now();
  auto summary = make_synthetic_datasets(o);
  if (!summary) {
    std::cerr << "trainyard make-datasets: " << summary.error().message << std::endl;
    return summary.error().code == error_code::invalid_config ? 2 : 1;
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "wrote " << summary->scenes << " scenes with " << summary->boxes << " items to "
            << options.out << "/scenes (images/, boxes.json, masks/, labels.txt)\n"
            << "wrote " << summary->anomaly_sets << " anomaly sets with "
            << summary->anomaly_images << " images to " << options.out
            << "/anomaly-0 ... anomaly-9 (good/, defect/)\n"
            << "in " << static_cast<int>(seconds + 0.5) << " s; example campaigns: "
            << "config/examples/locate.ini, segment.ini, anomaly.ini\n";
  return 0;
}

int augment_preview_command(const augment_preview_options& options) {
  std::cerr << "trainyard augment-preview: not built yet" << std::endl;
  return 1;
}

}  // namespace trainyard
