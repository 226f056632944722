// What a trained tool does for the CLI (engine.hpp), for every tool kind through its tool_task:
// evaluate its best weights on a set of a split, predict for image files; and reading a weights
// file's raw bytes for tests (diagnostics.hpp). Runs on the caller's thread; uses the tool folder's best.pt and settings.json
// only, so it works while another job trains the tool (both files are replaced atomically).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <thread>

#include <torch/torch.h>

#include "runtime/data/dataset_index.hpp"
#include "runtime/data/splits.hpp"
#include "runtime/data/dataset_readers.hpp"
#include "runtime/metrics/class_scores.hpp"
#include "runtime/metrics/detection_results.hpp"
#include "runtime/tasks/kinds.hpp"
#include "runtime/tasks/classify/classifier.hpp"
#include "runtime/train/diagnostics.hpp"
#include "runtime/train/engine.hpp"
#include "runtime/train/evaluation_count.hpp"
#include "runtime/train/images.hpp"
#include "runtime/train/tool_files.hpp"
#include "runtime/train/tool_task.hpp"
#include "runtime/train/trained_tool.hpp"

namespace trainyard {

namespace fs = std::filesystem;

expected<trained_tool> open_tool(const std::string& workspace, const std::string& tool) {
  const fs::path folder = tool_folder(workspace, tool);
  const std::string best = (folder / tool_files::best).string();
  if (!fs::exists(best))
    return make_failure(error_code::unknown_tool, "tool " + tool + " has no trained weights in " +
                                                      workspace + "; train it first");
  const std::string settings_path = (folder / tool_files::settings).string();
  auto text = read_text_file(settings_path);
  if (!text)
    return make_failure(error_code::storage_failed,
                        "tool " + tool + " has weights but no readable " + settings_path +
                            "; train the tool again to rewrite it");
  auto record = tool_state_from_json(*text, settings_path);
  if (!record)
    return record.error();
  trained_tool t;
  t.record = std::move(*record);
  auto kind = kind_of(t.record.tool);
  if (!kind)
    return kind.error();
  t.kind = *kind;
  t.folder = folder.string();
  t.geometry = image_geometry{t.record.channels, t.record.tool.input_width,
                              t.record.tool.input_height};
  if (t.record.inference_batch_size > 0)
    t.batch_size = std::min(t.record.inference_batch_size, 1024);
  task_setup setup{t.record.tool,
                   t.record.channels,
                   t.record.class_names,
                   task_colours(t.record.dataset, t.record.class_names.size()),
                   t.record.norm,
                   t.record.training.augmentation};
  auto task = make_tool_task(setup);
  if (!task)
    return task.error();
  t.task = std::move(*task);
  const std::string state = (folder / tool_files::task_state).string();
  try {
    std::shared_ptr<torch::nn::Module> model = t.task->model();
    torch::load(model, best, torch::kCPU);  // a GPU job's weights too
    if (fs::exists(state)) {
      torch::serialize::InputArchive archive;
      archive.load_from(state, torch::kCPU);
      t.task->load_state(archive);
    }
  } catch (const c10::Error& e) {
    return make_failure(error_code::storage_failed,
                        "weights " + best + " or " + state + " do not load (" +
                            std::string(e.what_without_backtrace()).substr(0, 200) +
                            "); train the tool again");
  }
  t.task->model()->eval();
  return t;
}

namespace {

void use_all_cores() {
  // Per calling thread (OpenMP): a training thread elsewhere in the process keeps its setting.
  torch::set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

failure torch_failure(const std::string& what, const std::exception& e) {
  const std::string text = e.what();
  return make_failure(error_code::training_failed,
                      what + " failed: " + text.substr(0, text.find('\n')));
}

// A locate tool's predictions as one COCO result file, <outputs>/detections.json. Image and
// category ids come from the tool's COCO dataset when it is still readable (a file that is one
// of its images keeps its id); otherwise categories are label + 1 and images are numbered on.
expected<void> write_detections(const tool_state& record, const std::vector<prediction>& found,
                                const std::string& outputs) {
  std::vector<std::int64_t> categories;
  std::map<std::string, std::int64_t> known;
  std::int64_t next_id = 1;
  if (auto boxes = load_boxes(record.dataset);
      boxes && boxes->category_ids.size() == record.class_names.size()) {
    categories = boxes->category_ids;
    for (const box_image& image : boxes->images) {
      std::error_code ec;
      const fs::path canonical = fs::weakly_canonical(image.file, ec);
      known[ec ? image.file : canonical.string()] = image.coco_id;
      next_id = std::max(next_id, image.coco_id + 1);
    }
  } else {
    for (std::size_t label = 0; label < record.class_names.size(); ++label)
      categories.push_back(static_cast<std::int64_t>(label) + 1);
  }
  std::vector<std::int64_t> ids;
  std::vector<std::vector<scored_box>> detections;
  for (const prediction& p : found) {
    if (!p.error.empty())
      continue;  // no image, no detections
    std::error_code ec;
    const fs::path canonical = fs::weakly_canonical(p.image, ec);
    const auto it = known.find(ec ? p.image : canonical.string());
    ids.push_back(it != known.end() ? it->second : next_id++);
    detections.push_back(p.boxes);
  }
  std::error_code ec;
  fs::create_directories(outputs, ec);
  return write_coco_results((fs::path(outputs) / "detections.json").string(), ids, detections,
                            categories);
}

}  // namespace

expected<evaluation> evaluate_tool(const std::string& workspace, const std::string& tool,
                                   const dataset_spec& dataset,
                                   const std::vector<std::uint8_t>& assignment, split_set set) {
  try {
    use_all_cores();
    auto opened = open_tool(workspace, tool);
    if (!opened)
      return opened.error();
    trained_tool& t = *opened;
    auto index = load_dataset_index(dataset);
    if (!index)
      return index.error();
    if (index->size() != assignment.size())
      return make_failure(error_code::invalid_request,
                          "the split assigns " + std::to_string(assignment.size()) +
                              " images but dataset " + dataset.name + " has " +
                              std::to_string(index->size()) + "; redraw the split");
    auto names = task_class_names(t.record.tool, *index);
    if (!names)
      return names.error();
    if (*names != t.record.class_names)
      return make_failure(error_code::invalid_request,
                          "dataset " + dataset.name + " does not have the classes tool " + tool +
                              " was trained on; evaluate it on " + t.record.dataset.name);
    const image_geometry native = dataset_geometry(dataset, t.geometry.width, t.geometry.height);
    if (native.channels != t.geometry.channels)
      return make_failure(error_code::invalid_request,
                          "tool " + tool + " takes " + std::to_string(t.geometry.channels) +
                              "-channel images but dataset " + dataset.name + " gives " +
                              std::to_string(native.channels));
    const std::vector<std::int64_t> rows = images_in(assignment, set);
    auto images = load_images(*index, rows, t.geometry,
                              static_cast<int>(std::thread::hardware_concurrency()));
    if (!images)
      return images.error();
    // The set as evaluated: an anomaly tool's training set keeps its defects here (the task
    // drops them only to train), so evaluate sees the set the user named.
    auto data = task_targets(t.task->setup(), *index, rows, *images,
                             set == train_set ? validation_set : set);
    if (!data)
      return data.error();
    if (set == test_set)
      count_test_evaluation();
    evaluation out;
    out.kind = t.record.tool.kind;
    out.images = data->size();
    out.class_names = t.record.class_names;
    if (!t.kind->confusion_matrix) {
      out.metrics = t.task->evaluate(*data, "");
    } else {
      auto model = std::dynamic_pointer_cast<ClassifierImpl>(t.task->model());
      Classifier classifier(model);
      const set_evaluation e =
          evaluate_classifier(classifier, *images, t.task->transform(), evaluation_batch_size, true,
                              mirror_views(t.task->setup().augmentation));
      out.accuracy = e.accuracy;
      out.metrics = {{"accuracy", e.accuracy}, {"loss", e.loss}};
      out.confusion = e.confusion;
      // A class without images in the set has no accuracy (NaN; JSON null), not 0.
      const class_scores scores = class_scores_of(e.confusion);
      out.per_class_accuracy = scores.recall;
      out.per_class_precision = scores.precision;
      out.per_class_f1 = scores.f1;
      for (const auto& [name, value] : {std::pair<const char*, double>{"macro_precision",
                                                                        scores.macro_precision},
                                        {"macro_recall", scores.macro_recall},
                                        {"macro_f1", scores.macro_f1}})
        if (!std::isnan(value))
          out.metrics[name] = value;
    }
    return out;
  } catch (const std::exception& e) {
    return torch_failure("evaluating tool " + tool, e);
  }
}

expected<std::vector<prediction>> predict_images(const std::string& workspace,
                                                 const std::string& tool,
                                                 const std::vector<std::string>& images,
                                                 const std::string& output_folder) {
  try {
    use_all_cores();
    auto opened = open_tool(workspace, tool);
    if (!opened)
      return opened.error();
    trained_tool& t = *opened;
    const std::string outputs =
        output_folder.empty() ? (fs::path(t.folder) / "predictions").string() : output_folder;
    std::vector<prediction> out;
    out.reserve(images.size());
    torch::NoGradGuard no_grad;
    const auto count = static_cast<std::int64_t>(images.size());
    for (std::int64_t start = 0; start < count; start += t.batch_size) {
      const std::int64_t m = std::min<std::int64_t>(t.batch_size, count - start);
      // Decoded exactly as training decodes dataset images (images.cpp), so the same file gives
      // the same pixels here as it did there. An image that does not decode gets its error and
      // the others of the batch go on.
      torch::Tensor batch =
          torch::empty({m, t.geometry.channels, t.geometry.height, t.geometry.width}, torch::kUInt8);
      std::vector<std::string> files;
      std::vector<prediction> unreadable;
      std::vector<bool> decoded_ok(static_cast<std::size_t>(m), false);
      for (std::int64_t i = 0; i < m; ++i) {
        const std::string& file = images[static_cast<std::size_t>(start + i)];
        const auto row = static_cast<std::int64_t>(files.size());
        if (auto decoded = decode_image_file(file, t.geometry, batch[row].data_ptr<std::uint8_t>());
            !decoded) {
          prediction failed;
          failed.image = file;
          failed.error = decoded.error().message;
          unreadable.push_back(std::move(failed));
          continue;
        }
        files.push_back(file);
        decoded_ok[static_cast<std::size_t>(i)] = true;
      }
      std::vector<prediction> predicted;
      if (!files.empty()) {
        auto p = t.task->predict(batch.narrow(0, 0, static_cast<std::int64_t>(files.size())),
                                 files, outputs);
        if (!p)
          return p.error();
        predicted = std::move(*p);
      }
      // Back in the order given.
      std::size_t next_ok = 0, next_bad = 0;
      for (bool ok : decoded_ok)
        out.push_back(ok ? std::move(predicted[next_ok++]) : std::move(unreadable[next_bad++]));
    }
    if (t.kind->boxes)
      if (auto written = write_detections(t.record, out, outputs); !written)
        return written.error();
    return out;
  } catch (const std::exception& e) {
    return torch_failure("predicting with tool " + tool, e);
  }
}

namespace {

void collect_weights(torch::serialize::InputArchive& archive, const std::string& prefix,
                     std::map<std::string, std::string>& out) {
  for (const std::string& key : archive.keys()) {
    const std::string name = prefix.empty() ? key : prefix + "." + key;
    torch::Tensor tensor;
    if (archive.try_read(key, tensor) || archive.try_read(key, tensor, /*is_buffer=*/true)) {
      const torch::Tensor c = tensor.contiguous();
      out[name] = std::string(static_cast<const char*>(c.data_ptr()), c.nbytes());
      continue;
    }
    torch::serialize::InputArchive nested;
    if (archive.try_read(key, nested))
      collect_weights(nested, name, out);
  }
}

}  // namespace

expected<std::map<std::string, std::string>> read_weight_bytes(const std::string& path) {
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path, torch::kCPU);
    std::map<std::string, std::string> out;
    collect_weights(archive, "", out);
    return out;
  } catch (const std::exception& e) {
    return make_failure(error_code::storage_failed,
                        "cannot read weights " + path + ": " +
                            std::string(e.what()).substr(0, std::string(e.what()).find('\n')));
  }
}

}  // namespace trainyard
