// Training on few images, through the real engine on Fashion-MNIST, one run after another in one
// process. Two parts (--part small|pretrained|both):
//
// small: classify tools on 25, 50, 100 and 1,000 training images (drawn seeded and stratified
// from the 60,000 training images; 1,000 validation images likewise; the official 10,000 t10k
// images as the test set), each trained three ways: iterations = auto (the length rule of
// runtime/policy/job_length.hpp), a fixed 12 iterations (a count a user would guess), and the
// previous auto rule (early stopping with patience 3 and a cap of 30). Reports test accuracy,
// iterations trained and wall seconds.
//
// pretrained: a tool trained on classes 0-4 (2,000 training images per class), then tools for
// classes 5-9 on 25, 100 and 500 training images (500 validation and 1,000 test images of those
// classes), each from scratch and with initialize_from the first tool, both iterations = auto.
// The images are written as PNG folders (a folder dataset per class range) under --workspace.
//
//   ./build/few_images [--part small|pretrained|both] [--workspace DIR]
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/arguments.hpp"
#include "runtime/data/dataset_index.hpp"
#include "runtime/data/splits.hpp"
#include "runtime/train/engine.hpp"
#include "runtime/train/images.hpp"

using namespace trainyard;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

// Stops a job when the engine's early-stopping rule says so, as the scheduler's early-stopping
// actor does for a user's auto job.
class stopping_observer final : public training_observer {
 public:
  void iteration_completed(const iteration_report& report) override {
    stop_ = stop_ || report.early_stop;
  }
  bool stop_requested() const override { return stop_; }

 private:
  bool stop_ = false;
};

struct trained {
  training_outcome outcome;
  double seconds = 0;
};

trained train(const training_request& request) {
  stopping_observer observer;
  const auto start = clock_type::now();
  trained out;
  out.outcome = make_torch_engine()->train(request, observer);
  out.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  return out;
}

nlohmann::json result(const std::string& label, const trained& t) {
  nlohmann::json j;
  j["run"] = label;
  if (t.outcome.state != job_state::completed && t.outcome.state != job_state::stopped) {
    j["error"] = t.outcome.message;
    return j;
  }
  // The pretraining split has no test set: its validation accuracy stands for it.
  for (const char* key : {"test_accuracy", "val_accuracy"})
    if (t.outcome.final_metrics.count(key))
      j[key] = t.outcome.final_metrics.at(key);
  j["iterations"] = t.outcome.trained_iterations;
  j["stopped_early"] = t.outcome.state == job_state::stopped;
  j["best_iteration"] = t.outcome.best_iteration;
  j["seconds"] = t.seconds;
  return j;
}

training_request base_request(job_id id, const std::string& tool, const dataset_spec& dataset,
                              const std::vector<std::uint8_t>& assignment,
                              const fs::path& workspace) {
  training_request r;
  r.job = id;
  r.spec.name = tool;
  r.spec.tool.name = tool;
  r.spec.tool.dataset = dataset.name;
  r.spec.split = "bench";
  r.spec.settings.augmentation.flip_horizontal = true;
  r.dataset = dataset;
  r.assignment = assignment;
  r.workspace = workspace.string();
  return r;
}

nlohmann::json small_sets(const fs::path& workspace) {
  nlohmann::json out = nlohmann::json::array();
  dataset_spec fashion;
  fashion.name = "fashion";
  fashion.path = "/usr/share/datasets/fashion-mnist";
  const auto index = load_dataset_index(fashion);
  if (!index)
    return {{"error", index.error().message}};
  job_id id = 1;
  for (const int images : {25, 50, 100, 1000}) {
    split_spec split;
    split.name = "bench";
    split.dataset = "fashion";
    split.mode = split_mode::official;
    split.validation = 1000;
    split.train = images;
    const auto assignment = make_split(*index, split);
    if (!assignment)
      return {{"error", assignment.error().message}};
    const std::string n = std::to_string(images);
    training_request automatic = base_request(id++, "auto-" + n, fashion, *assignment, workspace);
    training_request fixed = base_request(id++, "fixed12-" + n, fashion, *assignment, workspace);
    fixed.spec.settings.iterations = 12;
    training_request before = base_request(id++, "cap30-" + n, fashion, *assignment, workspace);
    before.spec.settings.max_iterations = 30;
    before.spec.settings.patience = 3;
    nlohmann::json row;
    row["training_images"] = images;
    row["runs"] = {result("auto", train(automatic)), result("fixed 12", train(fixed)),
                   result("auto before (patience 3, cap 30)", train(before))};
    std::cerr << row.dump() << "\n";
    out.push_back(row);
  }
  return out;
}

// A folder dataset root/<class>/<n>.png of the IDX images of `labels`, at most `per_class` per
// class from `part` (the 60,000 training images, or the 10,000 test ones) appended.
expected<void> write_classes(const idx_images& pixels, const std::vector<std::int32_t>& labels,
                             std::int64_t begin, std::int64_t end, int first_class,
                             int last_class, int per_class, const fs::path& root,
                             const std::string& prefix) {
  std::vector<int> written(10, 0);
  for (std::int64_t i = begin; i < end; ++i) {
    const int label = labels[static_cast<std::size_t>(i)];
    if (label < first_class || label > last_class || written[label] >= per_class)
      continue;
    const fs::path folder = root / ("class" + std::to_string(label));
    fs::create_directories(folder);
    const fs::path file = folder / (prefix + std::to_string(written[label]++) + ".png");
    if (auto ok = write_png(file.string(), image_geometry{1, 28, 28},
                            pixels.pixels.data() + i * 784);
        !ok)
      return ok;
  }
  return {};
}

nlohmann::json pretrained(const fs::path& workspace) {
  dataset_spec fashion;
  fashion.name = "fashion";
  fashion.path = "/usr/share/datasets/fashion-mnist";
  const auto index = load_dataset_index(fashion);
  const auto pixels = load_idx_images(fashion);
  if (!index || !pixels)
    return {{"error", "Fashion-MNIST does not load"}};
  const fs::path first_root = workspace / "images-0-4", second_root = workspace / "images-5-9";
  // Classes 0-4: 2,400 training images each (2,000 train, 400 validation). Classes 5-9: 400
  // training-part images each for train and validation, 200 t10k images each for test.
  if (!write_classes(*pixels, index->labels, 0, 60000, 0, 4, 2400, first_root, "train") ||
      !write_classes(*pixels, index->labels, 0, 60000, 5, 9, 400, second_root, "train") ||
      !write_classes(*pixels, index->labels, 60000, 70000, 5, 9, 200, second_root, "test"))
    return {{"error", "cannot write the PNG folders under " + workspace.string()}};
  dataset_spec first = fashion, second = fashion;
  first.name = "classes-0-4";
  first.kind = second.kind = dataset_kind::image_folder;
  first.path = first_root.string();
  second.name = "classes-5-9";
  second.path = second_root.string();
  const auto first_index = load_dataset_index(first);
  const auto second_index = load_dataset_index(second);
  if (!first_index || !second_index)
    return {{"error", "the PNG folders do not load"}};
  split_spec split;
  split.name = "bench";
  split.mode = split_mode::count;
  split.train = 10000;
  split.validation = 2000;
  split.test = 0;
  const auto first_assignment = make_split(*first_index, split);
  if (!first_assignment)
    return {{"error", first_assignment.error().message}};
  nlohmann::json out;
  const trained base = train(base_request(1, "classes-0-4", first, *first_assignment, workspace));
  out["pretraining"] = result("classes 0-4, 10,000 images, auto", base);
  std::cerr << out.dump() << "\n";
  out["fine_tuning"] = nlohmann::json::array();
  job_id id = 2;
  for (const int images : {25, 100, 500}) {
    // The second dataset's order is class by class, train files before test files; the split
    // draws stratified counts from all of it.
    split.train = images;
    split.validation = 500;
    split.test = 1000;
    const auto assignment = make_split(*second_index, split);
    if (!assignment)
      return {{"error", assignment.error().message}};
    const std::string n = std::to_string(images);
    training_request scratch = base_request(id++, "scratch-" + n, second, *assignment, workspace);
    training_request tuned = base_request(id++, "tuned-" + n, second, *assignment, workspace);
    tuned.spec.initialize_from = "classes-0-4";
    nlohmann::json row;
    row["training_images"] = images;
    row["runs"] = {result("from scratch", train(scratch)),
                   result("initialize_from classes-0-4", train(tuned))};
    std::cerr << row.dump() << "\n";
    out["fine_tuning"].push_back(row);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string part = "both";
  fs::path workspace = fs::temp_directory_path() / ("trainyard-few-" + std::to_string(getpid()));
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--part")
      part = bench::option_value(argc, argv, i);
    else if (a == "--workspace")
      workspace = bench::option_value(argc, argv, i);
    else {
      std::cerr << "unknown option " << a << "; options: --part small|pretrained|both "
                << "--workspace DIR\n";
      return 2;
    }
  }
  nlohmann::json out;
  out["benchmark"] = "few_images";
  if (part == "small" || part == "both")
    out["small_sets"] = small_sets(workspace / "small");
  if (part == "pretrained" || part == "both")
    out["pretrained"] = pretrained(workspace / "pretrained");
  std::error_code ec;
  fs::remove_all(workspace, ec);
  std::cout << out.dump(2) << "\n";
  return 0;
}
