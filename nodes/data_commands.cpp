// The data subcommands: `make-datasets` (synthetic locate / segment / anomaly datasets from
// Fashion-MNIST) and `augment-preview` (an image grid of a job's augmentation). Thin: options in,
// one runtime call, a summary out.
#include <algorithm>
#include <chrono>
#include <iostream>

#include "config/campaign.hpp"
#include "nodes/commands.hpp"
#include "runtime/lab/augment_preview.hpp"
#include "runtime/lab/synthetic_sets.hpp"

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
    return exit_code_of(summary.error().code);
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
  auto c = load_campaign(options.campaign);
  if (!c) {
    std::cerr << "trainyard augment-preview: " << c.error().message << std::endl;
    return bad_input_exit_code;
  }
  auto job = std::find_if(c->jobs.begin(), c->jobs.end(),
                          [&](const job_spec& j) { return j.name == options.job; });
  if (job == c->jobs.end()) {
    std::cerr << "trainyard augment-preview: " << options.campaign << " has no [job."
              << options.job << "] section; name one of its jobs with --job" << std::endl;
    return bad_input_exit_code;
  }
  auto dataset = std::find_if(c->datasets.begin(), c->datasets.end(),
                              [&](const dataset_spec& d) { return d.name == job->tool.dataset; });
  if (dataset == c->datasets.end()) {
    std::cerr << "trainyard augment-preview: job '" << options.job << "' uses dataset '"
              << job->tool.dataset << "', which " << options.campaign << " does not declare"
              << std::endl;
    return bad_input_exit_code;
  }
  preview_request r;
  r.dataset = *dataset;
  r.kind = job->tool.kind;
  r.augmentation = job->settings.augmentation;
  r.images = options.images;
  r.samples = options.samples;
  r.seed = options.seed;
  r.out = options.out;
  auto written = write_augment_preview(r);
  if (!written) {
    std::cerr << "trainyard augment-preview: " << written.error().message << std::endl;
    return exit_code_of(written.error().code);
  }
  std::cout << "wrote " << options.out << ": " << written->rows << " images x "
            << written->columns << " columns (original, lower limit, upper limit, "
            << options.samples << " random draws)" << (written->boxes ? ", boxes drawn" : "")
            << (written->masks ? ", masks overlaid" : "") << ", " << written->width << "x"
            << written->height << " pixels\n";
  return 0;
}

}  // namespace trainyard
