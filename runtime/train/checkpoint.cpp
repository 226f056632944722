// The checkpoint format (checkpoint.hpp): one LibTorch archive with the model, the optimizer and
// the tool state as named values; the history's numbers as a tensor, its validation metrics as
// JSON records.
#include "runtime/train/checkpoint.hpp"

#include "runtime/train/failures.hpp"

#include <sstream>
#include <stdexcept>

#include <ATen/CPUGeneratorImpl.h>

#include "runtime/core/reports.hpp"
#include "runtime/store/spec_json.hpp"

namespace trainyard {

namespace {

// The numbers of every row, [rows, 7] (column 3 is unused: the validation metrics are stored
// apart, as JSON lines, because their names depend on the tool kind).
torch::Tensor history_tensor(const std::vector<metrics_row>& rows) {
  torch::Tensor t = torch::empty({static_cast<std::int64_t>(rows.size()), 7}, torch::kDouble);
  auto a = t.accessor<double, 2>();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const metrics_row& r = rows[i];
    const double v[7] = {static_cast<double>(r.iteration), r.train_loss, r.val_loss,
                         0.0, r.images_per_s, r.seconds,
                         static_cast<double>(r.batch_size)};
    for (int k = 0; k < 7; ++k)
      a[static_cast<std::int64_t>(i)][k] = v[k];
  }
  return t;
}

// One JSON object per row, each ended by an ASCII record separator (the JSON spans lines).
constexpr char record_separator = '\x1e';
std::string history_validation(const std::vector<metrics_row>& rows) {
  std::string out;
  for (const metrics_row& r : rows)
    out += to_json(r.validation) + record_separator;
  return out;
}

std::vector<metrics_row> history_rows(const torch::Tensor& t, const std::string& validation) {
  std::vector<metrics_row> rows;
  const auto a = t.accessor<double, 2>();
  std::istringstream lines(validation);
  for (std::int64_t i = 0; i < t.size(0); ++i) {
    std::string line;
    std::getline(lines, line, record_separator);
    auto metrics = metric_map_from_json(line);
    if (!metrics)
      throw std::runtime_error("malformed validation history");
    rows.push_back({static_cast<int>(a[i][0]), a[i][1], a[i][2], std::move(*metrics), a[i][4],
                    a[i][5], static_cast<int>(a[i][6])});
  }
  return rows;
}

torch::Tensor doubles(const std::vector<double>& v) {
  return torch::tensor(v, torch::kDouble);
}
std::vector<double> doubles(const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names)
    out += n + '\n';
  return out;
}
std::vector<std::string> split_names(const std::string& text) {
  std::vector<std::string> names;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    names.push_back(line);
  return names;
}

}  // namespace

void save_checkpoint(const std::string& path, const tool_state& s, torch::nn::Module& model,
                     torch::optim::Optimizer& optimizer, const std::string& optimizer_kind,
                     const weight_average* average) {
  torch::serialize::OutputArchive archive;
  torch::serialize::OutputArchive model_archive;
  model.save(model_archive);
  archive.write("model", model_archive);
  torch::serialize::OutputArchive optimizer_archive;
  optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  archive.write("optimizer_kind", c10::IValue(optimizer_kind));
  if (average) {
    torch::serialize::OutputArchive average_archive;
    average->save(average_archive);
    archive.write("weight_average", average_archive);
  }
  archive.write("format", c10::IValue(std::int64_t{2}));
  archive.write("job_id", c10::IValue(static_cast<std::int64_t>(s.job)));
  archive.write("job_name", c10::IValue(s.job_name));
  archive.write("target_iterations", c10::IValue(std::int64_t{s.target}));
  archive.write("completed_iterations", c10::IValue(std::int64_t{s.completed}));
  archive.write("stopping_has_best", c10::IValue(s.stopping.has_best));
  archive.write("stopping_best_value", c10::IValue(s.stopping.best_value));
  archive.write("stopping_best_iteration", c10::IValue(std::int64_t{s.stopping.best_iteration}));
  archive.write("stopping_counter", c10::IValue(std::int64_t{s.stopping.counter}));
  archive.write("stopping_metric", c10::IValue(s.stopping.metric));
  archive.write("batch_size", c10::IValue(std::int64_t{s.batch_size}));
  archive.write("inference_batch_size", c10::IValue(std::int64_t{s.inference_batch_size}));
  archive.write("threads", c10::IValue(std::int64_t{s.threads}));
  archive.write("split", c10::IValue(s.split));
  archive.write("seed", c10::IValue(static_cast<std::int64_t>(s.seed)));
  archive.write("tool", c10::IValue(to_json(s.tool)));
  archive.write("dataset", c10::IValue(to_json(s.dataset)));
  archive.write("class_names", c10::IValue(join_names(s.class_names)));
  archive.write("channels", c10::IValue(std::int64_t{s.channels}));
  archive.write("norm_mean", doubles(s.norm.mean));
  archive.write("norm_std", doubles(s.norm.std));
  archive.write("history", history_tensor(s.history));
  archive.write("history_validation", c10::IValue(history_validation(s.history)));
  // Not needed to resume (every iteration reseeds), kept so the file is a complete snapshot.
  archive.write("rng_state", at::detail::getDefaultCPUGenerator().get_state());
  save_atomically(
    path, [&archive](std::ostream& out) { archive.save_to(out); },
    (std::filesystem::path(path).parent_path() / tool_files::previous_checkpoint).string());
}

expected<std::unique_ptr<loaded_checkpoint>> read_checkpoint(const std::string& path,
                                                             torch::Device device) {
  auto out = std::make_unique<loaded_checkpoint>();
  try {
    out->archive.load_from(path, device);
    auto& a = out->archive;
    const auto get = [&a](const char* key) {
      c10::IValue v;
      a.read(key, v);
      return v;
    };
    tool_state& s = out->state;
    s.job = static_cast<job_id>(get("job_id").toInt());
    s.job_name = get("job_name").toStringRef();
    s.target = static_cast<int>(get("target_iterations").toInt());
    s.completed = static_cast<int>(get("completed_iterations").toInt());
    s.stopping.has_best = get("stopping_has_best").toBool();
    s.stopping.best_value = get("stopping_best_value").toDouble();
    s.stopping.best_iteration = static_cast<int>(get("stopping_best_iteration").toInt());
    s.stopping.counter = static_cast<int>(get("stopping_counter").toInt());
    c10::IValue stopping_metric;
    if (a.try_read("stopping_metric", stopping_metric))
      s.stopping.metric = stopping_metric.toStringRef();
    s.batch_size = static_cast<int>(get("batch_size").toInt());
    s.inference_batch_size = static_cast<int>(get("inference_batch_size").toInt());
    s.threads = static_cast<int>(get("threads").toInt());
    s.split = get("split").toStringRef();
    s.seed = static_cast<std::uint64_t>(get("seed").toInt());
    auto tool = tool_spec_from_json(get("tool").toStringRef());
    auto dataset = dataset_spec_from_json(get("dataset").toStringRef());
    if (!tool || !dataset)
      throw std::runtime_error("malformed specs");
    s.tool = *tool;
    // Checkpoints from before the name was kept followed their kind's monitored metric.
    if (s.stopping.metric.empty())
      s.stopping.metric = monitored_metric_of(s.tool.kind);
    s.dataset = *dataset;
    s.class_names = split_names(get("class_names").toStringRef());
    s.channels = static_cast<int>(get("channels").toInt());
    torch::Tensor t;
    a.read("norm_mean", t);
    s.norm.mean = doubles(t.cpu());
    a.read("norm_std", t);
    s.norm.std = doubles(t.cpu());
    a.read("history", t);
    s.history = history_rows(t.cpu(), get("history_validation").toStringRef());
  } catch (const std::exception& e) {
    return make_failure(error_code::storage_failed,
                        "checkpoint " + path + " is unreadable (" + first_line(e.what()) +
                            "); delete it to train the tool from scratch");
  }
  return out;
}

expected<std::unique_ptr<loaded_checkpoint>> read_latest_checkpoint(const std::string& latest,
                                                                    const std::string& previous,
                                                                    bool required, std::string& note,
                                                                    torch::Device device) {
  namespace fs = std::filesystem;
  if (!fs::exists(latest) && !fs::exists(previous))
    return std::unique_ptr<loaded_checkpoint>();
  expected<std::unique_ptr<loaded_checkpoint>> loaded =
    make_failure(error_code::storage_failed, "checkpoint " + latest + " is missing");
  if (fs::exists(latest))
    loaded = read_checkpoint(latest, device);
  // A damaged checkpoint.pt costs one iteration: the one before it is used, and said.
  if (!loaded && fs::exists(previous))
    if (auto older = read_checkpoint(previous, device)) {
      const auto& why = loaded.error().message;
      note = why.substr(0, why.find("; delete it")) + "; went on from the checkpoint before it (" +
             previous + ", iteration " + std::to_string((*older)->state.completed) + ")";
      return older;
    }
  if (!loaded && !required)
    return std::unique_ptr<loaded_checkpoint>();
  return loaded;
}

void restore_training(loaded_checkpoint& checkpoint, torch::nn::Module& model,
                      torch::optim::Optimizer& optimizer, const std::string& optimizer_kind) {
  torch::serialize::InputArchive model_archive, optimizer_archive;
  checkpoint.archive.read("model", model_archive);
  model.load(model_archive);
  // Checkpoints written before the optimizer was a setting hold Adam's state.
  c10::IValue kind;
  const std::string saved_kind = checkpoint.archive.try_read("optimizer_kind", kind)
                                     ? kind.toStringRef()
                                     : std::string("adam");
  if (saved_kind == optimizer_kind) {
    checkpoint.archive.read("optimizer", optimizer_archive);
    optimizer.load(optimizer_archive);
  }
  torch::Tensor rng;
  checkpoint.archive.read("rng_state", rng);
  at::Generator default_generator = at::detail::getDefaultCPUGenerator();  // shares the state
  default_generator.set_state(rng.cpu());
}

bool restore_average(loaded_checkpoint& checkpoint, weight_average& average) {
  torch::serialize::InputArchive archive;
  return checkpoint.archive.try_read("weight_average", archive) && average.load(archive);
}

}  // namespace trainyard
