// What a trained tool does for the CLI (engine.hpp): evaluate its best weights on a set of a split,
// predict labels of image files; and reading a weights file's raw bytes for tests
// (diagnostics.hpp). Runs on the caller's thread; uses the tool folder's best.pt and settings.json
// only, so it works while another job trains the tool (both files are replaced atomically).
#include <algorithm>
#include <filesystem>
#include <thread>

#include <torch/torch.h>

#include "runtime/dataset_index.hpp"
#include "runtime/torch/classifier.hpp"
#include "runtime/torch/diagnostics.hpp"
#include "runtime/torch/engine.hpp"
#include "runtime/torch/images.hpp"
#include "runtime/torch/tool_files.hpp"

namespace trainyard {

namespace fs = std::filesystem;

namespace {

// A trained tool as predict and evaluate need it: its description and its best weights.
struct trained_tool {
  tool_record record;
  Classifier model{nullptr};
  input_transform transform;
  image_geometry geometry;
  int batch_size = 256;
};

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
  auto record = tool_record_from_json(*text, settings_path);
  if (!record)
    return record.error();
  trained_tool t;
  t.record = std::move(*record);
  t.geometry = image_geometry{t.record.channels, t.record.tool.input_width,
                              t.record.tool.input_height};
  t.transform = input_transform(normalization{t.record.mean, t.record.std});
  if (t.record.inference_batch_size > 0)
    t.batch_size = std::min(t.record.inference_batch_size, 1024);
  t.model = Classifier(classifier_shape{t.record.channels, t.record.tool.input_height,
                                        t.record.tool.input_width,
                                        static_cast<int>(t.record.class_names.size()),
                                        t.record.tool.model_width, t.record.tool.batch_norm,
                                        t.record.tool.dropout});
  try {
    torch::load(t.model, best);
  } catch (const c10::Error& e) {
    return make_failure(error_code::storage_failed,
                        "weights " + best + " do not load (" +
                            std::string(e.what_without_backtrace()).substr(0, 200) +
                            "); train the tool again");
  }
  t.model->eval();
  return t;
}

void use_all_cores() {
  // Per calling thread (OpenMP): a training thread elsewhere in the process keeps its setting.
  torch::set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

failure torch_failure(const std::string& what, const std::exception& e) {
  const std::string text = e.what();
  return make_failure(error_code::training_failed,
                      what + " failed: " + text.substr(0, text.find('\n')));
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
    if (index->class_names != t.record.class_names)
      return make_failure(error_code::invalid_request,
                          "dataset " + dataset.name + " does not have the classes tool " + tool +
                              " was trained on; evaluate it on " + t.record.dataset.name);
    const image_geometry native = dataset_geometry(dataset, t.geometry.width, t.geometry.height);
    if (native.channels != t.geometry.channels)
      return make_failure(error_code::invalid_request,
                          "tool " + tool + " takes " + std::to_string(t.geometry.channels) +
                              "-channel images but dataset " + dataset.name + " gives " +
                              std::to_string(native.channels));
    auto images = load_images(*index, images_in(assignment, set), t.geometry,
                              static_cast<int>(std::thread::hardware_concurrency()));
    if (!images)
      return images.error();
    const set_evaluation e = evaluate_classifier(t.model, *images, t.transform, evaluation_batch_size, true);
    evaluation out;
    out.images = e.images;
    out.accuracy = e.accuracy;
    out.class_names = t.record.class_names;
    out.confusion = e.confusion;
    for (const auto& row : e.confusion) {
      std::int64_t total = 0;
      for (std::int64_t v : row)
        total += v;
      const std::size_t label = out.per_class_accuracy.size();
      out.per_class_accuracy.push_back(
          total > 0 ? static_cast<double>(row[label]) / static_cast<double>(total) : 0.0);
    }
    return out;
  } catch (const std::exception& e) {
    return torch_failure("evaluating tool " + tool, e);
  }
}

expected<std::vector<prediction>> predict_images(const std::string& workspace,
                                                 const std::string& tool,
                                                 const std::vector<std::string>& images) {
  try {
    use_all_cores();
    auto opened = open_tool(workspace, tool);
    if (!opened)
      return opened.error();
    trained_tool& t = *opened;
    std::vector<prediction> out;
    out.reserve(images.size());
    torch::NoGradGuard no_grad;
    const auto count = static_cast<std::int64_t>(images.size());
    for (std::int64_t start = 0; start < count; start += t.batch_size) {
      const std::int64_t m = std::min<std::int64_t>(t.batch_size, count - start);
      // Decoded exactly as training decodes dataset images (images.cpp), so the same file gives
      // the same pixels here as it did there.
      torch::Tensor batch =
          torch::empty({m, t.geometry.channels, t.geometry.height, t.geometry.width}, torch::kUInt8);
      for (std::int64_t i = 0; i < m; ++i) {
        auto decoded = decode_image_file(images[static_cast<std::size_t>(start + i)], t.geometry,
                                         batch[i].data_ptr<std::uint8_t>());
        if (!decoded)
          return decoded.error();
      }
      const torch::Tensor probabilities = torch::softmax(t.model->forward(t.transform(batch)), 1);
      const auto [score, label] = probabilities.max(1);
      const auto scores = score.accessor<float, 1>();
      const auto labels = label.accessor<std::int64_t, 1>();
      for (std::int64_t i = 0; i < m; ++i) {
        prediction p;
        p.image = images[static_cast<std::size_t>(start + i)];
        p.label = static_cast<int>(labels[i]);
        p.label_name = t.record.class_names.at(static_cast<std::size_t>(p.label));
        p.score = scores[i];
        out.push_back(std::move(p));
      }
    }
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
    archive.load_from(path);
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
