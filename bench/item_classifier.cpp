// Trains the segment tool's second stage alone, the item classifier, on the true items of the
// generated scenes (`trainyard make-datasets`), and prints one JSON object: settings, time,
// crops/s, loss and validation label accuracy per epoch. It isolates the naming half of segment's
// mean IoU (docs/performance.md, "The three annotated tools, measured") so that classifiers can
// be compared in minutes instead of a 30-minute campaign.
//
//   item_classifier [--scenes datasets/scenes] [--train 16000] [--validation 2000]
//                   [--arch small|deep] [--width 32] [--epochs 8] [--views 2] [--batch 32]
//                   [--lr 0.002] [--threads 0] [--seed 42] [--augment]
// Items are cut out exactly as the tool cuts them (crop_items: the item's own pixels on black,
// jittered in frame and outline, two views per item per step), mirrored at random like the
// tool's flip; the validation items are the last `--validation` scenes, cut out exactly and
// mirror-averaged (item_probabilities). Scene augmentation (rotation, shear...) is left out
// unless `--augment`: then each training scene and its mask first go through the tool's own
// augmenter with config/examples/segment.ini's ranges (flip, rotation 10, scale 0.1, shift 0.05,
// shear 5, brightness 0.1, contrast 0.1, noise 0.02), as in the campaign.
// `--arch small` is the classify tool's model (make_box_classifier); `deep` is the item
// classifier with two convolutions in each of its first two stages
// (make_box_classifier's `deep`).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <variant>

#include <malloc.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "bench/arguments.hpp"
#include "runtime/train/augmenter.hpp"
#include "runtime/tasks/common/box_classifier.hpp"

namespace {

using namespace trainyard;
namespace fs = std::filesystem;

/// The first `count` scenes from `first` of a make-datasets folder: images [N, 1, H, W] and
/// masks [N, H, W], both uint8.
std::pair<torch::Tensor, torch::Tensor> load_scenes(const fs::path& root, int first, int count) {
  std::vector<torch::Tensor> images, masks;
  for (int s = first; s < first + count; ++s) {
    char name[32];
    std::snprintf(name, sizeof name, "%06d.png", s);
    cv::Mat image = cv::imread((root / "images" / name).string(), cv::IMREAD_GRAYSCALE);
    cv::Mat mask = cv::imread((root / "masks" / name).string(), cv::IMREAD_UNCHANGED);
    if (image.empty() || mask.empty()) {
      std::cerr << "cannot read scene " << name << " under " << root
                << " (run trainyard make-datasets --out datasets first)\n";
      std::exit(1);
    }
    images.push_back(torch::from_blob(image.data, {1, 1, image.rows, image.cols}, torch::kUInt8)
                         .clone());
    masks.push_back(torch::from_blob(mask.data, {1, mask.rows, mask.cols}, torch::kUInt8).clone());
  }
  return {torch::cat(images), torch::cat(masks)};
}

// The command line's settings (see the comment at the top of this file).
struct settings {
  std::string scenes = "datasets/scenes", arch = "small";
  int train_count = 16000, validation_count = 2000, width = 32, epochs = 8, views = 2, batch = 32,
      threads = 0;
  double lr = 0.002;
  std::uint64_t seed = 42;
  bool augment = false;
};

// The augmentation --augment applies to whole scenes.
augmentation_settings scene_augmentation() {
  augmentation_settings ranges;
  ranges.flip_horizontal = true;
  ranges.rotation = 10;
  ranges.scale = 0.1;
  ranges.shift = 0.05;
  ranges.shear = 5;
  ranges.brightness = 0.1;
  ranges.contrast = 0.1;
  ranges.noise = 0.02;
  return ranges;
}

// The settings, or an exit code after a message on stderr.
std::variant<settings, int> parse(int argc, char** argv) {
  settings o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return bench::option_value(argc, argv, i); };
    if (a == "--scenes") o.scenes = next();
    else if (a == "--train") o.train_count = std::stoi(next());
    else if (a == "--validation") o.validation_count = std::stoi(next());
    else if (a == "--arch") o.arch = next();
    else if (a == "--width") o.width = std::stoi(next());
    else if (a == "--epochs") o.epochs = std::stoi(next());
    else if (a == "--views") o.views = std::stoi(next());
    else if (a == "--batch") o.batch = std::stoi(next());
    else if (a == "--lr") o.lr = std::stod(next());
    else if (a == "--threads") o.threads = std::stoi(next());
    else if (a == "--seed") o.seed = std::stoull(next());
    else if (a == "--augment") o.augment = true;
    else {
      std::cerr << "unknown option " << a << " (see the comment at the top of "
                << "bench/item_classifier.cpp)\n";
      return 2;
    }
  }
  if (o.arch != "small" && o.arch != "deep") {
    std::cerr << "--arch must be small or deep, not " << o.arch << "\n";
    return 2;
  }
  return o;
}

// The run's figures as the JSON line the benchmark prints.
nlohmann::json report(const settings& o, std::int64_t parameters, std::int64_t validation_items,
                      double data_seconds, double train_seconds, std::int64_t crops_seen,
                      const nlohmann::json& epoch_loss, const nlohmann::json& epoch_accuracy) {
  return nlohmann::json{{"arch", o.arch},
                        {"width", o.width},
                        {"parameters", parameters},
                        {"train_scenes", o.train_count},
                        {"validation_items", validation_items},
                        {"epochs", o.epochs},
                        {"views", o.views},
                        {"augment", o.augment},
                        {"batch_scenes", o.batch},
                        {"learning_rate", o.lr},
                        {"threads", torch::get_num_threads()},
                        {"data_seconds", data_seconds},
                        {"train_seconds", train_seconds},
                        {"crops_per_second", static_cast<double>(crops_seen) / train_seconds},
                        {"epoch_loss", epoch_loss},
                        {"label_accuracy", epoch_accuracy}};
}

}  // namespace

int main(int argc, char** argv) {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);

  const auto parsed = parse(argc, argv);
  if (const int* code = std::get_if<int>(&parsed))
    return *code;
  const settings& o = std::get<settings>(parsed);
  const std::string& scenes = o.scenes;
  const std::string& arch = o.arch;
  const int train_count = o.train_count, validation_count = o.validation_count, width = o.width,
            epochs = o.epochs, views = o.views, batch = o.batch, threads = o.threads;
  const double lr = o.lr;
  const std::uint64_t seed = o.seed;
  const bool augment = o.augment;
  torch::set_num_threads(threads > 0 ? threads
                                     : static_cast<int>(std::thread::hardware_concurrency()));
  torch::manual_seed(seed);
  torch::Generator gen = at::detail::createCPUGenerator(seed);

  const auto started = std::chrono::steady_clock::now();
  const auto [train_u8, train_masks] = load_scenes(scenes, 0, train_count);
  const auto [val_u8, val_masks] =
      load_scenes(scenes, 20000 - validation_count, validation_count);
  // Normalised as the tool normalises: the training images' mean and deviation.
  const torch::Tensor train_float = train_u8.to(torch::kFloat);
  const double mean = train_float.mean().item<double>() / 255;
  const double deviation = train_float.std().item<double>() / 255;
  // Pixels on [0, 1], as the augmenter takes them, to the network's input.
  const auto normalise = [&](const torch::Tensor& unit) { return (unit - mean) / deviation; };
  const torch::Tensor black = torch::full({1, 1, 1, 1}, -mean / deviation);
  const double data_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  const augmenter scenes_augmenter(scene_augmentation(), static_cast<int>(train_u8.size(3)),
                                   static_cast<int>(train_u8.size(2)));

  Classifier model = make_box_classifier(1, width, 10, true, arch == "deep");
  model->set_dropout_generator(gen);
  std::int64_t parameters = 0;
  for (const auto& p : model->parameters())
    parameters += p.numel();
  torch::optim::Adam optimiser(model->parameters(), torch::optim::AdamOptions(lr));

  // Validation crops, once.
  torch::Tensor val_parts;
  const auto val_items = mask_items(val_masks, 12, &val_parts, true);
  const torch::Tensor val_crops =
      crop_items(normalise(val_u8.to(torch::kFloat) / 255), val_parts, val_items, black);
  const torch::Tensor val_truth = box_labels(val_items);

  nlohmann::json epoch_loss = nlohmann::json::array(), epoch_accuracy = nlohmann::json::array();
  double train_seconds = 0;
  std::int64_t crops_seen = 0;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    // Cosine to 5% of the rate over the run, as the tool's schedule.
    const double factor = 0.05 + 0.95 * 0.5 * (1 + std::cos(M_PI * epoch / std::max(1, epochs)));
    for (auto& group : optimiser.param_groups())
      static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr * factor);
    const auto t0 = std::chrono::steady_clock::now();
    model->train();
    const torch::Tensor order = torch::randperm(train_count, gen);
    double loss_sum = 0;
    int steps = 0;
    for (int start = 0; start < train_count; start += batch) {
      const torch::Tensor rows = order.narrow(0, start, std::min(batch, train_count - start));
      torch::Tensor masks = train_masks.index_select(0, rows);
      torch::Tensor pixels = train_u8.index_select(0, rows).to(torch::kFloat).div_(255);
      if (augment)
        scenes_augmenter.apply(pixels, gen, &masks);
      torch::Tensor parts;
      const auto items = mask_items(masks, 12, &parts, true);
      const torch::Tensor labels = box_labels(items);
      const std::int64_t m = labels.size(0);
      if (m == 0)
        continue;
      const torch::Tensor x = normalise(pixels);
      std::vector<torch::Tensor> crops;
      for (int v = 0; v < views; ++v) {
        torch::Tensor c = crop_items(x, parts, items, black, crop_jitter(m, &gen),
                                     torch::randint(-1, 2, {m}, gen, torch::kLong));
        if (!augment)  // with --augment the scene was flipped already
          c = torch::where(torch::rand({m}, gen).lt(0.5).view({m, 1, 1, 1}), c.flip({3}), c);
        crops.push_back(c);
      }
      optimiser.zero_grad();
      const torch::Tensor loss = torch::nn::functional::cross_entropy(
          model->forward(torch::cat(crops)), labels.repeat({views}));
      loss.backward();
      optimiser.step();
      loss_sum += loss.item<double>();
      ++steps;
      crops_seen += m * views;
    }
    train_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    model->eval();
    const double accuracy = item_probabilities(*model, val_crops, /*mirror_views=*/true)
                                .argmax(1)
                                .eq(val_truth)
                                .to(torch::kDouble)
                                .mean()
                                .item<double>();
    epoch_loss.push_back(loss_sum / std::max(1, steps));
    epoch_accuracy.push_back(accuracy);
    std::fprintf(stderr, "epoch %d loss %.4f label accuracy %.4f (%.0f s)\n", epoch + 1,
                 loss_sum / std::max(1, steps), accuracy, train_seconds);
  }
  std::cout << report(o, parameters, val_truth.size(0), data_seconds, train_seconds, crops_seen,
                      epoch_loss, epoch_accuracy)
                   .dump()
            << std::endl;
  return 0;
}
