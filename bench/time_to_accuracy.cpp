// Time to accuracy of the classify tool on Fashion-MNIST's official split (its 10,000 t10k
// images as the test set; 5,000 validation images drawn, seeded and stratified, from the 60,000
// training ones; the other 55,000 train), through the real engine, one recipe after another in
// one process. For each recipe: the wall seconds from its start (dataset index, split and image
// decoding included; the benchmark's own test evaluations left out) until the test accuracy
// after an iteration first reached 90, 92, 93, 94 and 94.5%, the best test accuracy, and the
// training images/s.
//
// Recipes:
//   today      the recipe before the recipe settings: Adam at 0.001, constant, dropout 0.25, no
//              label smoothing, no weight averaging, no test-time flips, 12 iterations
//   defaults   the settings' defaults (iterations auto)
//   and ablations of the defaults, each changing one thing (see recipes() below); a name may
//   join several with '+' (dropout_0+model_large), applied in that order.
// Every recipe trains with flip_horizontal (as the quickstart does) and batch size auto.
//
//   ./build/time_to_accuracy [--recipes today,defaults,...] [--threads N] [--iterations N]
//                            [--workspace DIR]
// --iterations sets a fixed count for every recipe that does not fix one itself.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/arguments.hpp"
#include "runtime/data/dataset_index.hpp"
#include "runtime/data/splits.hpp"
#include "runtime/store/spec_json.hpp"
#include "runtime/tasks/kinds.hpp"
#include "runtime/train/engine.hpp"

using namespace trainyard;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

struct recipe {
  std::string name;
  std::function<void(job_spec&)> apply;
};

const std::vector<recipe>& recipes() {
  static const std::vector<recipe> all = {
      {"today",
       [](job_spec& j) {
         training_settings& s = j.settings;
         s.optimizer = "adam";
         s.learning_rate = 1e-3;
         s.weight_decay = 0;
         s.schedule = "constant";
         s.label_smoothing = 0;
         s.weight_averaging = 0;
         s.augmentation.test_time_flips = false;
         s.iterations = 12;
         j.tool.dropout = 0.25;
         j.tool.model = "normal";
       }},
      {"defaults", [](job_spec&) {}},
      {"no_test_time_flips", [](job_spec& j) { j.settings.augmentation.test_time_flips = false; }},
      {"no_weight_averaging", [](job_spec& j) { j.settings.weight_averaging = 0; }},
      {"no_label_smoothing", [](job_spec& j) { j.settings.label_smoothing = 0; }},
      {"constant_schedule", [](job_spec& j) { j.settings.schedule = "constant"; }},
      {"cosine_schedule", [](job_spec& j) { j.settings.schedule = "cosine"; }},
      {"adam", [](job_spec& j) { j.settings.optimizer = "adam"; j.settings.weight_decay = 0; }},
      {"no_weight_decay", [](job_spec& j) { j.settings.weight_decay = 0; }},
      {"sgd",
       [](job_spec& j) {
         j.settings.optimizer = "sgd";
         j.settings.learning_rate = 0.05;
       }},
      {"dropout_0", [](job_spec& j) { j.tool.dropout = 0; }},
      {"dropout_0.25", [](job_spec& j) { j.tool.dropout = 0.25; }},
      {"model_small", [](job_spec& j) { j.tool.model = "small"; }},
      {"model_normal", [](job_spec& j) { j.tool.model = "normal"; }},
      {"model_medium", [](job_spec& j) { j.tool.model = "medium"; }},
      {"model_large", [](job_spec& j) { j.tool.model = "large"; }},
      {"shift_0.07", [](job_spec& j) { j.settings.augmentation.shift = 0.07; }},
      {"iterations_8", [](job_spec& j) { j.settings.iterations = 8; }},
      {"iterations_16", [](job_spec& j) { j.settings.iterations = 16; }},
      {"lr_0.001", [](job_spec& j) { j.settings.learning_rate = 0.001; }},
      {"lr_0.002", [](job_spec& j) { j.settings.learning_rate = 0.002; }},
      {"lr_0.004", [](job_spec& j) { j.settings.learning_rate = 0.004; }},
      {"batch_128", [](job_spec& j) { j.settings.batch_size = 128; }},
      {"batch_256", [](job_spec& j) { j.settings.batch_size = 256; }},
  };
  return all;
}

const double thresholds[] = {0.90, 0.92, 0.93, 0.94, 0.945};

class clocked_observer final : public training_observer {
 public:
  explicit clocked_observer(clock_type::time_point start) : start_(start) {}

  void batch_size_chosen(const probe_result& probe) override { batch = probe.train_batch_size; }
  void iteration_completed(const iteration_report& report) override {
    const double test_seconds = report.metrics.at("test_seconds");
    excluded_ += test_seconds;
    const double at =
        std::chrono::duration<double>(clock_type::now() - start_).count() - excluded_;
    nlohmann::json row;
    row["iteration"] = report.iteration;
    row["seconds"] = at;
    row["val_accuracy"] = report.metrics.at("val_accuracy");
    row["test_accuracy"] = report.metrics.at("test_accuracy");
    row["images_per_s"] = report.metrics.at("images_per_s");
    rows.push_back(row);
  }
  bool stop_requested() const override { return false; }

  int batch = 0;
  nlohmann::json rows = nlohmann::json::array();

 private:
  clock_type::time_point start_;
  double excluded_ = 0;
};

std::string percent(double t) {
  std::ostringstream out;
  out << t * 100;
  return out.str();
}

nlohmann::json run(const recipe& r, int threads, int iterations, const fs::path& workspace) {
  const auto start = clock_type::now();
  dataset_spec dataset;
  dataset.name = "fashion";
  dataset.path = "/usr/share/datasets/fashion-mnist";
  split_spec split;
  split.name = "official";
  split.dataset = "fashion";
  split.mode = split_mode::official;
  split.train = 1;
  split.validation = 5000;
  nlohmann::json out;
  out["recipe"] = r.name;
  const auto index = load_dataset_index(dataset);
  const auto assignment = index ? make_split(*index, split) : expected<std::vector<std::uint8_t>>(index.error());
  if (!assignment) {
    out["error"] = assignment.error().message;
    return out;
  }
  training_request request;
  request.job = 1;
  request.spec.name = r.name;
  request.spec.tool.name = "fashion-" + r.name;
  request.spec.tool.dataset = "fashion";
  request.spec.split = "official";
  request.spec.settings.threads = threads;
  request.spec.settings.augmentation.flip_horizontal = true;
  if (iterations > 0)
    request.spec.settings.iterations = iterations;
  r.apply(request.spec);
  request.dataset = dataset;
  request.assignment = *assignment;
  request.workspace = workspace.string();
  torch_engine_options options;
  options.test_each_iteration = true;
  clocked_observer observer(start);
  const training_outcome outcome = make_torch_engine(options)->train(request, observer);
  if (outcome.state != job_state::completed) {
    out["error"] = outcome.message;
    return out;
  }
  const training_settings used = resolve_recipe(request.spec.tool, request.spec.settings);
  out["settings"] = nlohmann::json::parse(to_json(used));
  out["model"] = request.spec.tool.model;
  out["dropout"] = request.spec.tool.dropout;
  out["batch_size"] = observer.batch;
  double best = 0, images_per_s = 0;
  nlohmann::json reached = nlohmann::json::object();
  for (double t : thresholds)
    reached[percent(t)] = nullptr;
  for (const auto& row : observer.rows) {
    const double accuracy = row["test_accuracy"].get<double>();
    best = std::max(best, accuracy);
    images_per_s += row["images_per_s"].get<double>();
    for (double t : thresholds)
      if (accuracy >= t && reached[percent(t)].is_null())
        reached[percent(t)] = row["seconds"];
  }
  out["seconds_to_test_accuracy"] = reached;
  out["best_test_accuracy"] = best;
  out["final_test_accuracy"] = outcome.final_metrics.count("test_accuracy")
                                   ? outcome.final_metrics.at("test_accuracy")
                                   : 0.0;
  out["iterations"] = observer.rows.size();
  out["train_images_per_s"] = observer.rows.empty() ? 0.0 : images_per_s / observer.rows.size();
  out["total_seconds"] = observer.rows.empty() ? 0.0 : observer.rows.back()["seconds"].get<double>();
  out["per_iteration"] = observer.rows;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string names = "today,defaults";
  int threads = 0, iterations = 0;
  fs::path workspace = fs::temp_directory_path() / ("trainyard-tta-" + std::to_string(getpid()));
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--recipes")
      names = bench::option_value(argc, argv, i);
    else if (a == "--threads")
      threads = std::stoi(bench::option_value(argc, argv, i));
    else if (a == "--iterations")
      iterations = std::stoi(bench::option_value(argc, argv, i));
    else if (a == "--workspace")
      workspace = bench::option_value(argc, argv, i);
    else {
      std::cerr << "unknown option " << a << "; options: --recipes A,B --threads N --iterations N "
                << "--workspace DIR\n";
      return 2;
    }
  }
  // A name joins recipes with '+' ("dropout_0+model_large"): their changes in that order.
  std::vector<recipe> chosen;
  std::stringstream list(names);
  for (std::string name; std::getline(list, name, ',');) {
    std::vector<const recipe*> parts;
    std::stringstream joined(name);
    for (std::string part; std::getline(joined, part, '+');) {
      const recipe* found = nullptr;
      for (const recipe& r : recipes())
        if (r.name == part)
          found = &r;
      if (!found) {
        std::cerr << "unknown recipe " << part << "; recipes (join them with +):";
        for (const recipe& r : recipes())
          std::cerr << " " << r.name;
        std::cerr << "\n";
        return 2;
      }
      parts.push_back(found);
    }
    chosen.push_back({name, [parts](job_spec& j) {
                        for (const recipe* r : parts)
                          r->apply(j);
                      }});
  }
  nlohmann::json out;
  out["benchmark"] = "time_to_accuracy";
  out["split"] = "fashion-mnist official: 55,000 train, 5,000 validation, 10,000 t10k test";
  out["recipes"] = nlohmann::json::array();
  for (const recipe& r : chosen) {
    nlohmann::json result = run(r, threads, iterations, workspace / r.name);
    std::cerr << result.dump() << "\n";  // each recipe as it ends, for long runs
    out["recipes"].push_back(std::move(result));
  }
  std::error_code ec;
  fs::remove_all(workspace, ec);
  std::cout << out.dump(2) << "\n";
  return 0;
}
