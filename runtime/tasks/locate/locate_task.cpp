// The locate tool as a tool_task: the CenterNet-style detector of detector.hpp trained on a COCO
// dataset's boxes (load_boxes, in the index's file order), COCO-style detection metrics
// (detection_metrics.hpp) with AP50 monitored, and predictions as scored boxes drawn on the image.
//
// Boxes: read in the stored image's pixels and scaled to the tool's input size, where the model
// and the metrics work (IoU, hence AP, does not change when both axes are scaled); predictions
// are scaled back to the stored image's pixels.
//
// Augmentation: the box-aware per-image transform of annotation_augment.hpp (flips, zoom, shift,
// then brightness, contrast, noise), seeded from the engine's augmentation generator so it stays
// part of the deterministic state. Rotation and shear would turn axis-aligned boxes: the kind's
// settings check (locate_kind.cpp) refuses them before the job is queued or trained.
//
// Learning rate: the kind's recipe (locate_kind.cpp) is Adam with a cosine from the job's rate
// to 5% of it, as fit_detector trains; at a constant rate AP levels off far lower.
//
// Metrics (names prefixed "val_", "test_", or none for evaluate):
//   loss                  the detector's training loss (heatmap focal + size + offset)
//   ap, ap50, ap75        COCO AP over IoU 0.50:0.95, at 0.5 and at 0.75, mean over labels with
//                         ground truth; detections decoded at score >= 0.05, at most 100 per
//                         image (AP ranks them all)
//   ap_<label>            per label, IoU 0.50:0.95 (labels with ground truth in the set)
//   best_f1               best F1 over score thresholds at IoU 0.5, labels pooled, with
//   best_f1_threshold     the least score counted at that F1, and its
//   precision, recall     precision and recall
//   label_accuracy        the share of the true boxes the box classifier names right (labels
//                         apart from finding the boxes)
//   precision_<label>, recall_<label>, f1_<label>, macro_precision, macro_recall, macro_f1
//                         evaluate only: per label at IoU 0.5, of the boxes predict reports
//                         (score >= the tool's threshold, at most its max_objects per image)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <stdexcept>

#include "runtime/data/dataset_readers.hpp"
#include "runtime/metrics/class_scores.hpp"
#include "runtime/metrics/detection_metrics.hpp"
#include "runtime/train/annotation_augment.hpp"
#include "runtime/tasks/locate/box_drawing.hpp"
#include "runtime/tasks/locate/detector.hpp"
#include "runtime/train/images.hpp"
#include "runtime/train/tool_task.hpp"

namespace trainyard {

namespace {

namespace fs = std::filesystem;

// Least score and most boxes per image of the detections AP ranks (as fit_detector; 100 is
// COCO's maxDets: tool.max_objects and tool.detection_threshold are for predictions a person
// reads), and the class-aware NMS overlap.
constexpr float evaluation_threshold = 0.05f;
constexpr int evaluation_max_objects = 100;
constexpr float nms_iou = 0.5f;

bool augments(const augmentation_settings& s) {
  return s.flip_horizontal || s.flip_vertical || s.scale > 0 || s.shift > 0 ||
         s.brightness > 0 || s.contrast > 0 || s.noise > 0;
}

class locate_task final : public task_with_net<locate_task, Detector> {
 public:
  explicit locate_task(const task_setup& s)
      : task_with_net(s, Detector(detector_shape{
                             s.channels, s.tool.input_height, s.tool.input_width,
                             static_cast<int>(s.class_names.size()), s.tool.model_width,
                             s.tool.batch_norm, box_classifier_width(s.tool.model_width),
                             mirror_views(s.augmentation)})),
        augmented_(augments(s.augmentation)) {}

  void set_dropout_generator(torch::Generator generator) override {
    model_->set_dropout_generator(std::move(generator));
  }

  torch::Tensor batch_loss(const task_data& train, const torch::Tensor& rows,
                           torch::Generator& gen) override {
    const torch::Tensor picked = rows.to(torch::kLong).contiguous();
    const std::int64_t b = picked.size(0);
    const auto at = picked.accessor<std::int64_t, 1>();
    std::vector<std::vector<box>> boxes(static_cast<std::size_t>(b));
    for (std::int64_t i = 0; i < b; ++i)
      boxes[static_cast<std::size_t>(i)] = train.boxes.at(static_cast<std::size_t>(at[i]));
    torch::Tensor u8 = train.images.index_select(0, picked).contiguous();
    if (augmented_) {
      // One seed per image from the engine's generator; the draw and the noise follow from it.
      const torch::Tensor seeds =
          torch::randint(std::numeric_limits<std::int64_t>::max(), {b}, gen, torch::kLong);
      const auto seed = seeds.accessor<std::int64_t, 1>();
      const int c = static_cast<int>(u8.size(1)), h = static_cast<int>(u8.size(2)),
                w = static_cast<int>(u8.size(3));
      for (std::int64_t i = 0; i < b; ++i) {
        const augmentation_draw draw =
            draw_augmentation(setup_.augmentation, static_cast<std::uint64_t>(seed[i]));
        auto ok = apply_augmentation(draw, image_ref{w, h, c, u8[i].data_ptr<std::uint8_t>()},
                                     nullptr, &boxes[static_cast<std::size_t>(i)]);
        if (!ok)
          throw std::runtime_error(ok.error().message);
      }
    }
    const torch::Tensor x = transform_(u8);
    return detector_loss(*model_, x, model_->forward(x), boxes, &gen).total;
  }

  // Inference as `predict` runs it (the tool's threshold and most boxes): at AP's low threshold
  // every image sends up to 100 weak boxes through the box classifier, which is evaluation's
  // cost, not a user's.
  void infer(const torch::Tensor& x) override {
    (void)detect_boxes(*model_, x, model_->forward(x),
                       static_cast<float>(setup_.tool.detection_threshold), setup_.tool.max_objects,
                       nms_iou);
  }

  metric_map evaluate(const task_data& set, const std::string& prefix) override {
    const bool was_training = model_->is_training();
    model_->eval();
    torch::NoGradGuard no_grad;
    const std::int64_t n = set.size();
    std::vector<std::vector<scored_box>> found;
    found.reserve(static_cast<std::size_t>(n));
    double loss_sum = 0;
    std::int64_t labels_right = 0, labels_asked = 0;
    for (std::int64_t start = 0; start < n; start += task_evaluation_batch) {
      const std::int64_t m = std::min<std::int64_t>(task_evaluation_batch, n - start);
      const torch::Tensor x = transform_(set.images.narrow(0, start, m));
      const std::vector<std::vector<box>> truth(set.boxes.begin() + start,
                                                set.boxes.begin() + start + m);
      // One forward for both the loss and the boxes.
      const detection_heads heads = model_->forward(x);
      loss_sum += detector_loss(*model_, x, heads, truth, nullptr).total.item<double>() *
                  static_cast<double>(m);
      const auto [right, asked] = count_right_labels(*model_, x, truth);
      labels_right += right;
      labels_asked += asked;
      for (auto& boxes :
           detect_boxes(*model_, x, heads, evaluation_threshold, evaluation_max_objects, nms_iou))
        found.push_back(std::move(boxes));
    }
    model_->train(was_training);

    const auto classes = static_cast<int>(setup_.class_names.size());
    const detection_evaluation e = evaluate_detections(set.boxes, found, classes);
    metric_map out;
    out[prefix + "loss"] = n > 0 ? loss_sum / static_cast<double>(n) : 0.0;
    out[prefix + "ap"] = e.ap;
    out[prefix + "ap50"] = e.ap50;
    out[prefix + "ap75"] = e.ap75;
    for (int label = 0; label < classes; ++label)
      if (static_cast<std::size_t>(label) < e.label_ground_truth.size() &&
          e.label_ground_truth[static_cast<std::size_t>(label)] > 0)
        out[prefix + "ap_" + setup_.class_names[static_cast<std::size_t>(label)]] =
            e.label_ap[static_cast<std::size_t>(label)];
    out[prefix + "best_f1"] = e.best_f1;
    out[prefix + "best_f1_threshold"] = e.best_f1_threshold;
    out[prefix + "precision"] = e.precision_at_best_f1;
    out[prefix + "recall"] = e.recall_at_best_f1;
    if (labels_asked > 0)
      out[prefix + "label_accuracy"] =
          static_cast<double>(labels_right) / static_cast<double>(labels_asked);
    if (prefix.empty()) {
      // evaluate: per label, the boxes predict reports (the tool's threshold and most boxes).
      std::vector<std::vector<scored_box>> kept(found.size());
      for (std::size_t i = 0; i < found.size(); ++i)
        for (const auto& b : found[i])
          if (b.score >= setup_.tool.detection_threshold &&
              kept[i].size() < static_cast<std::size_t>(setup_.tool.max_objects))
            kept[i].push_back(b);
      put_class_scores(detection_confusion(set.boxes, kept, classes,
                                           static_cast<float>(setup_.tool.detection_threshold)),
                       setup_.class_names, 0, out);
    }
    return out;
  }

  // The detector's networks and what predict's decoding uses: the tool's threshold and most
  // boxes, the NMS overlap (export_detector).
  expected<nlohmann::json> export_onnx(const std::string& folder, std::int64_t batch) override {
    model_->eval();
    return export_detector(*model_, folder, batch,
                           static_cast<float>(setup_.tool.detection_threshold),
                           setup_.tool.max_objects, nms_iou);
  }

  expected<std::vector<prediction>> predict(const torch::Tensor& images,
                                            const std::vector<std::string>& files,
                                            const std::string& output_folder) override {
    torch::NoGradGuard no_grad;
    model_->eval();
    const torch::Tensor x = transform_(images);
    const auto found =
        detect_boxes(*model_, x, model_->forward(x),
                     static_cast<float>(setup_.tool.detection_threshold), setup_.tool.max_objects,
                     nms_iou);
    std::error_code ec;
    fs::create_directories(output_folder, ec);
    const int channels = static_cast<int>(images.size(1));
    std::vector<prediction> out;
    for (std::int64_t i = 0; i < images.size(0); ++i) {
      const std::string& file = files[static_cast<std::size_t>(i)];
      // Boxes and the drawing in the stored image's pixels: its size from the file itself.
      image_geometry stored{channels, setup_.tool.input_width, setup_.tool.input_height};
      if (auto summary = summarize_image(file)) {
        stored.width = summary->width;
        stored.height = summary->height;
      }
      const float sx = static_cast<float>(stored.width) / static_cast<float>(setup_.tool.input_width);
      const float sy =
          static_cast<float>(stored.height) / static_cast<float>(setup_.tool.input_height);
      prediction p;
      p.image = file;
      for (scored_box d : found[static_cast<std::size_t>(i)]) {
        d.b.x *= sx;
        d.b.width *= sx;
        d.b.y *= sy;
        d.b.height *= sy;
        p.boxes.push_back(d);
      }
      if (p.boxes.empty()) {
        p.label = -1;
        p.label_name = "(no objects)";
        p.score = 0;
      } else {
        p.label = p.boxes.front().b.label;
        p.label_name = setup_.class_names.at(static_cast<std::size_t>(p.label));
        p.score = p.boxes.front().score;
      }
      std::vector<std::uint8_t> pixels(stored.bytes());
      if (auto decoded = decode_image_file(file, stored, pixels.data()); !decoded)
        return decoded.error();
      auto png = draw_boxes(pixels.data(), stored.width, stored.height, channels, p.boxes,
                            setup_.class_names);
      if (!png)
        return png.error();
      const std::string drawn =
          (fs::path(output_folder) / (fs::path(file).stem().string() + "_boxes.png")).string();
      if (auto written = write_bytes(drawn, *png); !written)
        return written.error();
      p.files = {drawn};
      out.push_back(std::move(p));
    }
    return out;
  }

 private:
  static expected<void> write_bytes(const std::string& path, const std::vector<std::uint8_t>& b) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr)
      return make_failure(error_code::storage_failed,
                          "cannot write " + path + "; check the output folder is writable");
    const bool ok = std::fwrite(b.data(), 1, b.size(), f) == b.size();
    if (std::fclose(f) != 0 || !ok)
      return make_failure(error_code::storage_failed,
                          "cannot write " + path + "; check the disk has space");
    return {};
  }

  bool augmented_ = false;
};

expected<std::unique_ptr<tool_task>> make_locate_task(const task_setup& setup) {
  if (setup.class_names.empty())
    return make_failure(error_code::invalid_config,
                        "locate tool " + setup.tool.name + " has no box labels; its COCO file "
                        "needs at least one category");
  return std::unique_ptr<tool_task>(std::make_unique<locate_task>(setup));
}

expected<task_data> locate_targets(const task_setup& setup, const dataset_index& index,
                                   const std::vector<std::int64_t>& images, labelled_images decoded,
                                   split_set) {
  auto boxes = load_boxes(index.spec);
  if (!boxes)
    return boxes.error();
  if (boxes->images.size() != index.size())
    return make_failure(error_code::invalid_request,
                        "COCO file " + index.spec.annotations + " lists " +
                            std::to_string(boxes->images.size()) + " images but dataset " +
                            index.spec.name + " has " + std::to_string(index.size()) +
                            "; redraw the split for the current dataset");
  const auto classes = static_cast<int>(setup.class_names.size());
  const float input_w = static_cast<float>(setup.tool.input_width);
  const float input_h = static_cast<float>(setup.tool.input_height);
  task_data d;
  d.images = std::move(decoded.images);
  d.labels = torch::zeros({static_cast<std::int64_t>(images.size())}, torch::kLong);
  d.boxes.reserve(images.size());
  for (std::size_t i = 0; i < images.size(); ++i) {
    const box_image& image = boxes->images.at(static_cast<std::size_t>(images[i]));
    const float sx = image.width > 0 ? input_w / static_cast<float>(image.width) : 1.0f;
    const float sy = image.height > 0 ? input_h / static_cast<float>(image.height) : 1.0f;
    std::vector<box> scaled;
    for (const box& b : image.boxes) {
      if (b.label < 0 || b.label >= classes)
        return make_failure(error_code::invalid_config,
                            "a box of " + image.file + " has label " + std::to_string(b.label) +
                                " but tool " + setup.tool.name + " knows " +
                                std::to_string(classes) + "; train the tool from scratch");
      scaled.push_back(box{b.label, b.x * sx, b.y * sy, b.width * sx, b.height * sy});
    }
    d.labels[static_cast<std::int64_t>(i)] = scaled.empty() ? 0 : 1;
    d.boxes.push_back(std::move(scaled));
  }
  return d;
}

expected<std::vector<std::string>> locate_class_names(const tool_spec& tool,
                                                      const dataset_index& index) {
  if (index.spec.kind != dataset_kind::coco)
    return make_failure(error_code::invalid_config,
                        "locate tool " + tool.name + " needs a coco dataset (boxes in a COCO "
                        "file): dataset " + index.spec.name + " is not one; set its kind to "
                        "coco and its annotations to the COCO file");
  auto boxes = load_boxes(index.spec);
  if (!boxes)
    return boxes.error();
  if (boxes->labels.empty())
    return make_failure(error_code::invalid_config,
                        "COCO file " + index.spec.annotations +
                            " has no categories; a locate tool needs at least one");
  return boxes->labels;
}

}  // namespace

const task_kind& locate_task_kind() {
  static const task_kind kind{"locate", locate_class_names, locate_targets, make_locate_task};
  return kind;
}

}  // namespace trainyard
