// Trains the locate detector on generated Fashion-MNIST scenes (tests/support/box_scenes.hpp) and
// prints one JSON object: settings, time, throughput, loss per epoch, AP, AP50, AP75, best F1.
// Used to choose the detector's default settings on 2 CPU cores.
//
//   locate_train [--train 2000] [--validation 500] [--size 96] [--width 16] [--epochs 24]
//                [--batch 32] [--lr 0.002] [--threads 0] [--seed 42] [--no-flip] [--no-bn]
//                [--scale 0.25] [--shift 0.15] [--classifier 32]   (0: one stage)
// On a shared 2-core machine pass --threads 1: two OpenMP threads competing with other processes
// ran 5-20x slower than one.
//                [--mnist /usr/share/datasets/fashion-mnist]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include <malloc.h>

#include <nlohmann/json.hpp>

#include "bench/arguments.hpp"
#include "runtime/lab/detector_training.hpp"
#include "tests/support/box_scenes.hpp"

int main(int argc, char** argv) {
  using namespace trainyard;
  // Like the engine: keep LibTorch's activation buffers mapped between steps.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);

  int train_count = 2000, validation_count = 500, size = 96;
  std::string mnist = "/usr/share/datasets/fashion-mnist";
  detector_fit_settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return bench::option_value(argc, argv, i); };
    if (a == "--train") train_count = std::stoi(next());
    else if (a == "--validation") validation_count = std::stoi(next());
    else if (a == "--size") size = std::stoi(next());
    else if (a == "--width") s.model_width = std::stoi(next());
    else if (a == "--epochs") s.epochs = std::stoi(next());
    else if (a == "--batch") s.batch_size = std::stoi(next());
    else if (a == "--lr") s.learning_rate = std::stod(next());
    else if (a == "--threads") s.threads = std::stoi(next());
    else if (a == "--seed") s.seed = std::stoull(next());
    else if (a == "--scale") s.scale = std::stod(next());
    else if (a == "--shift") s.shift = std::stod(next());
    else if (a == "--no-flip") s.flip_horizontal = false;
    else if (a == "--no-bn") s.batch_norm = false;
    else if (a == "--classifier") s.box_classifier_width = std::stoi(next());
    else if (a == "--mnist") mnist = next();
    else {
      std::cerr << "unknown option " << a << " (see the comment at the top of "
                << "bench/locate_train.cpp)\n";
      return 2;
    }
  }

  const auto started = std::chrono::steady_clock::now();
  const auto items = testing::load_items(mnist, "train");
  // Items 0-49,999 for training scenes, 50,000-59,999 for validation ones.
  const detection_set train = testing::make_box_scenes(items, train_count, size, 0, 50000, 1);
  const detection_set validation =
      testing::make_box_scenes(items, validation_count, size, 50000, 10000, 2);
  const double data_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  auto fit = fit_detector(train, validation, 10, s, [](int epoch, double loss) {
    std::fprintf(stderr, "epoch %d loss %.4f\n", epoch, loss);
  });
  if (!fit) {
    std::cerr << fit.error().message << "\n";
    return 1;
  }
  const detection_evaluation& e = fit->validation;
  // Localisation alone: every box of label 0, duplicates across labels suppressed.
  std::vector<std::vector<box>> truth_agnostic = validation.boxes;
  for (auto& boxes : truth_agnostic)
    for (box& b : boxes)
      b.label = 0;
  std::vector<std::vector<scored_box>> found_agnostic = fit->validation_detections;
  for (auto& found : found_agnostic) {
    for (scored_box& d : found)
      d.b.label = 0;
    found = non_maximum_suppression(found, s.nms_iou, s.max_objects);
  }
  const detection_evaluation agnostic = evaluate_detections(truth_agnostic, found_agnostic, 1);
  nlohmann::json out{
      {"train_images", train_count},       {"validation_images", validation_count},
      {"size", size},                      {"model_width", s.model_width},
      {"epochs", s.epochs},                {"batch_size", s.batch_size},
      {"learning_rate", s.learning_rate},  {"threads", s.threads},
      {"flip", s.flip_horizontal},         {"scale", s.scale},
      {"shift", s.shift},         {"batch_norm", s.batch_norm},
      {"parameters", fit->parameters},     {"data_seconds", data_seconds},
      {"train_seconds", fit->train_seconds}, {"images_per_second", fit->images_per_second},
      {"epoch_loss", fit->epoch_loss},     {"ap", e.ap},
      {"ap50", e.ap50},                    {"ap75", e.ap75},
      {"label_ap50", e.label_ap50},        {"best_f1", e.best_f1},
      {"best_f1_threshold", e.best_f1_threshold}, {"ground_truth", e.ground_truth},
      {"detections", e.detections},       {"agnostic_ap", agnostic.ap},
      {"agnostic_ap50", agnostic.ap50},   {"label_accuracy", fit->label_accuracy},
      {"box_classifier_width", s.box_classifier_width}};
  std::cout << out.dump() << std::endl;
  return 0;
}
