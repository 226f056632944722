// The CPU LibTorch training engine (engine.hpp): the classify model, decoded dataset images,
// the batch-size probe's trials, the training loop with its checkpoints, and the bare reference
// loop the overhead benchmark compares the engine with. Runs on the worker's training thread, one
// job at a time per engine. What differs between tool kinds (model, targets, loss, metrics, extra
// state) sits behind tool_task (tool_task.hpp); the loop, the probe, checkpoints, determinism and
// the metrics files are the same for every kind.
//
// Determinism: every random draw of an iteration comes from seeds derived from (seed, iteration):
// the default generator (dropout) is reseeded at the start of each iteration, and shuffling and
// augmentation use their own generators seeded the same way. An iteration therefore depends only
// on the state saved in the checkpoint after the previous one, so a resumed job retraces an
// uninterrupted one bit for bit.
#include "runtime/train/engine.hpp"

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "runtime/core/validate.hpp"
#include "runtime/data/dataset_index.hpp"
#include "runtime/data/splits.hpp"
#include "runtime/policy/early_stopping.hpp"
#include "runtime/store/spec_json.hpp"
#include "runtime/train/augmenter.hpp"
#include "runtime/train/classifier.hpp"
#include "runtime/train/data_parallel.hpp"
#include "runtime/train/diagnostics.hpp"
#include "runtime/train/evaluation_count.hpp"
#include "runtime/train/images.hpp"
#include "runtime/train/tool_files.hpp"
#include "runtime/train/tool_task.hpp"

namespace trainyard {

namespace fs = std::filesystem;
namespace F = torch::nn::functional;
using clock_type = std::chrono::steady_clock;

// ================================================================================================
// The model

ClassifierImpl::ClassifierImpl(const classifier_shape& shape) : shape_(shape) { reset(); }

void ClassifierImpl::reset() {
  namespace nn = torch::nn;
  const int w = shape_.model_width;
  // Without batch norm a convolution keeps its bias. BatchNorm2d draws no random numbers, so the
  // convolutions get the same initial weights either way.
  const bool norm = shape_.batch_norm;
  conv1_ = register_module(
      "conv1", nn::Conv2d(nn::Conv2dOptions(shape_.channels, w, 3).padding(1).bias(!norm)));
  if (norm)
    norm1_ = register_module("norm1", nn::BatchNorm2d(w));
  conv2_ = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(w, 2 * w, 3).padding(1).bias(!norm)));
  if (norm)
    norm2_ = register_module("norm2", nn::BatchNorm2d(2 * w));
  conv3_ = register_module("conv3",
                           nn::Conv2d(nn::Conv2dOptions(2 * w, 2 * w, 3).padding(1).bias(!norm)));
  if (norm)
    norm3_ = register_module("norm3", nn::BatchNorm2d(2 * w));
  if (shape_.deep) {
    // The second convolution of each of the first two stages, registered after the others so
    // that those draw the same initial weights either way.
    conv1b_ =
        register_module("conv1b", nn::Conv2d(nn::Conv2dOptions(w, w, 3).padding(1).bias(!norm)));
    conv2b_ = register_module(
        "conv2b", nn::Conv2d(nn::Conv2dOptions(2 * w, 2 * w, 3).padding(1).bias(!norm)));
    if (norm) {
      norm1b_ = register_module("norm1b", nn::BatchNorm2d(w));
      norm2b_ = register_module("norm2b", nn::BatchNorm2d(2 * w));
    }
  }
  // Two 2x2 max-pools; beyond 7x7 the features are averaged down so the first fully connected
  // layer stays small whatever the input size.
  const std::int64_t h = shape_.height / 4, wd = shape_.width / 4;
  adaptive_pool_ = h > 7 || wd > 7;
  pooled_height_ = std::min<std::int64_t>(h, 7);
  pooled_width_ = std::min<std::int64_t>(wd, 7);
  hidden_ = register_module("hidden", nn::Linear(2 * w * pooled_height_ * pooled_width_, 128));
  output_ = register_module("output", nn::Linear(128, shape_.classes));
}

namespace {

// 2x2 max-pooling. ATen's own NCHW kernel is scalar and took a fifth of a training step (11 ms of
// ~50 at batch 128); oneDNN's, through a round trip to its tensor format, trains 10% faster overall
// with identical numbers (a maximum is exact). LibTorch builds without oneDNN use ATen's.
torch::Tensor max_pool_2x2(const torch::Tensor& x) {
  static const bool onednn = at::hasMKLDNN();
  if (onednn && x.scalar_type() == torch::kFloat)
    return torch::mkldnn_max_pool2d(x.to_mkldnn(), {2, 2}, {2, 2}).to_dense();
  return torch::max_pool2d(x, 2);
}

}  // namespace

torch::Tensor ClassifierImpl::forward(torch::Tensor x) {
  const auto normed = [](torch::nn::BatchNorm2d& norm, torch::Tensor t) {
    return norm ? norm->forward(t) : t;
  };
  if (shape_.deep) {
    x = normed(norm1b_, conv1_->forward(x)).relu_();
    x = normed(norm1_, max_pool_2x2(conv1b_->forward(x))).relu_();
    x = normed(norm2b_, conv2_->forward(x)).relu_();
    x = normed(norm2_, max_pool_2x2(conv2b_->forward(x))).relu_();
  } else {
    x = normed(norm1_, max_pool_2x2(conv1_->forward(x))).relu_();
    x = normed(norm2_, max_pool_2x2(conv2_->forward(x))).relu_();
  }
  x = normed(norm3_, conv3_->forward(x)).relu_();
  if (adaptive_pool_)
    x = torch::adaptive_avg_pool2d(x, {pooled_height_, pooled_width_});
  x = hidden_->forward(x.flatten(1)).relu_();
  const double p = shape_.dropout;
  if (p > 0 && is_training() && dropout_generator_.defined()) {
    // What torch::dropout does on the CPU, with the module's own generator.
    torch::Tensor noise = torch::empty_like(x).bernoulli_(1 - p, dropout_generator_);
    x = x * noise.div_(1 - p);
  } else if (p > 0) {
    x = torch::dropout(x, p, is_training());
  }
  return output_->forward(x);
}

// ================================================================================================
// Images as tensors

normalization compute_normalization(const torch::Tensor& images) {
  const torch::Tensor u8 = images.contiguous();
  const std::int64_t n = u8.size(0), c = u8.size(1), plane = u8.size(2) * u8.size(3);
  normalization out;
  const std::uint8_t* data = u8.data_ptr<std::uint8_t>();
  for (std::int64_t ch = 0; ch < c; ++ch) {
    // Integer sums are exact: the statistics do not depend on summation order or threads.
    std::uint64_t sum = 0, squares = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      const std::uint8_t* p = data + (i * c + ch) * plane;
      for (std::int64_t k = 0; k < plane; ++k) {
        sum += p[k];
        squares += static_cast<std::uint64_t>(p[k]) * p[k];
      }
    }
    const double count = std::max<double>(1, static_cast<double>(n * plane));
    const double mean = static_cast<double>(sum) / count / 255.0;
    const double var = static_cast<double>(squares) / count / (255.0 * 255.0) - mean * mean;
    const double sd = std::sqrt(std::max(0.0, var));
    out.mean.push_back(mean);
    out.std.push_back(sd > 1e-6 ? sd : 1.0);  // a constant image set: keep the scale
  }
  return out;
}

input_transform::input_transform(const normalization& n) {
  single_channel_ = n.mean.size() == 1;
  if (single_channel_) {
    mean_ = n.mean[0];
    std_ = n.std[0];
    scale_ = 1.0 / (255.0 * std_);
    shift_ = -mean_ / std_;
    return;
  }
  std::vector<float> scale, shift, mean, sd;
  for (std::size_t c = 0; c < n.mean.size(); ++c) {
    scale.push_back(static_cast<float>(1.0 / (255.0 * n.std[c])));
    shift.push_back(static_cast<float>(-n.mean[c] / n.std[c]));
    mean.push_back(static_cast<float>(n.mean[c]));
    sd.push_back(static_cast<float>(n.std[c]));
  }
  const auto channels = static_cast<std::int64_t>(n.mean.size());
  const auto as_tensor = [channels](const std::vector<float>& v) {
    return torch::tensor(v).view({1, channels, 1, 1});
  };
  scale_t_ = as_tensor(scale);
  shift_t_ = as_tensor(shift);
  mean_t_ = as_tensor(mean);
  std_t_ = as_tensor(sd);
}

torch::Tensor input_transform::operator()(const torch::Tensor& images) const {
  torch::Tensor x = images.to(torch::kFloat);
  if (single_channel_)
    return x.mul_(scale_).add_(shift_);
  return x.mul_(scale_t_).add_(shift_t_);
}

void input_transform::normalize_unit(torch::Tensor& x) const {
  if (single_channel_)
    x.sub_(mean_).div_(std_);
  else
    x.sub_(mean_t_).div_(std_t_);
}

set_evaluation evaluate_classifier(Classifier& model, const labelled_images& set,
                                   const input_transform& transform, int batch_size,
                                   bool confusion) {
  set_evaluation result;
  result.images = set.size();
  const int classes = model->shape().classes;
  if (confusion)
    result.confusion.assign(classes, std::vector<std::int64_t>(classes, 0));
  if (result.images == 0)
    return result;
  const bool was_training = model->is_training();
  model->eval();
  torch::NoGradGuard no_grad;
  double loss_sum = 0;
  std::int64_t correct = 0;
  torch::Tensor counts = torch::zeros({classes * classes}, torch::kLong);
  const std::int64_t n = result.images, step = std::max(1, batch_size);
  for (std::int64_t start = 0; start < n; start += step) {
    const std::int64_t m = std::min(step, n - start);
    const torch::Tensor y = set.labels.narrow(0, start, m);
    const torch::Tensor logits = model->forward(transform(set.images.narrow(0, start, m)));
    loss_sum +=
        F::cross_entropy(logits, y, F::CrossEntropyFuncOptions().reduction(torch::kSum)).item<double>();
    const torch::Tensor predicted = logits.argmax(1);
    correct += predicted.eq(y).sum().item<std::int64_t>();
    if (confusion)
      counts.add_(torch::bincount(y * classes + predicted, {}, classes * classes));
  }
  model->train(was_training);
  result.loss = loss_sum / static_cast<double>(n);
  result.accuracy = static_cast<double>(correct) / static_cast<double>(n);
  if (confusion) {
    const auto c = counts.accessor<std::int64_t, 1>();
    for (int t = 0; t < classes; ++t)
      for (int p = 0; p < classes; ++p)
        result.confusion[t][p] = c[t * classes + p];
  }
  return result;
}

image_geometry dataset_geometry(const dataset_spec& dataset, int width, int height) {
  image_geometry g;
  g.channels = dataset.kind == dataset_kind::image_folder && dataset.color ? 3 : 1;
  g.width = width;
  g.height = height;
  return g;
}

namespace {

torch::Tensor index_tensor(const std::vector<std::int64_t>& images) {
  return torch::from_blob(const_cast<std::int64_t*>(images.data()),
                          {static_cast<std::int64_t>(images.size())}, torch::kLong)
      .clone();
}

torch::Tensor labels_of(const dataset_index& index, const std::vector<std::int64_t>& images) {
  torch::Tensor labels = torch::empty({static_cast<std::int64_t>(images.size())}, torch::kLong);
  auto* out = labels.data_ptr<std::int64_t>();
  for (std::size_t i = 0; i < images.size(); ++i)
    out[i] = index.labels[static_cast<std::size_t>(images[i])];
  return labels;
}

// Every image of an IDX dataset at `geometry`, [N, 1, H, W].
expected<torch::Tensor> load_idx_tensor(const dataset_index& index, const image_geometry& geometry) {
  auto idx = load_idx_images(index.spec);
  if (!idx)
    return idx.error();
  if (static_cast<std::size_t>(idx->count) != index.size())
    return make_failure(error_code::dataset_unreadable,
                        "dataset " + index.spec.name + " has " + std::to_string(idx->count) +
                            " images but " + std::to_string(index.size()) +
                            " labels; reinstall or re-download its files");
  image_geometry raw{1, static_cast<int>(idx->cols), static_cast<int>(idx->rows)};
  std::vector<std::uint8_t> pixels = std::move(idx->pixels);
  if (raw.width != geometry.width || raw.height != geometry.height)
    pixels = resize_images(pixels, idx->count, raw, geometry);
  return torch::from_blob(pixels.data(), {idx->count, 1, geometry.height, geometry.width},
                          torch::kUInt8)
      .clone();
}

expected<void> check_indices(const dataset_index& index, const std::vector<std::int64_t>& images) {
  for (std::int64_t i : images)
    if (i < 0 || static_cast<std::size_t>(i) >= index.size())
      return make_failure(error_code::invalid_request,
                          "image " + std::to_string(i) + " is outside dataset " + index.spec.name +
                              " (" + std::to_string(index.size()) +
                              " images); redraw the split");
  return {};
}

}  // namespace

expected<labelled_images> load_images(const dataset_index& index,
                                      const std::vector<std::int64_t>& images,
                                      const image_geometry& geometry, int threads) {
  if (auto ok = check_indices(index, images); !ok)
    return ok.error();
  labelled_images out;
  out.labels = labels_of(index, images);
  if (index.spec.kind == dataset_kind::fashion_mnist) {
    auto all = load_idx_tensor(index, geometry);
    if (!all)
      return all.error();
    out.images = all->index_select(0, index_tensor(images));
    return out;
  }
  std::vector<std::string> files;
  files.reserve(images.size());
  for (std::int64_t i : images)
    files.push_back(index.files[static_cast<std::size_t>(i)]);
  auto pixels = decode_image_files(files, geometry, threads);
  if (!pixels)
    return pixels.error();
  out.images = torch::from_blob(pixels->data(),
                                {static_cast<std::int64_t>(images.size()), geometry.channels,
                                 geometry.height, geometry.width},
                                torch::kUInt8)
                   .clone();
  return out;
}

expected<labelled_images> image_cache::images(const dataset_index& index,
                                              const std::vector<std::int64_t>& images,
                                              const image_geometry& geometry, int threads) {
  if (auto ok = check_indices(index, images); !ok)
    return ok.error();
  const std::string key = to_json(index.spec) + "@" + std::to_string(geometry.channels) + "x" +
                          std::to_string(geometry.width) + "x" + std::to_string(geometry.height);
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&key](const auto& e) { return e.first == key; });
  if (it == entries_.end()) {
    entries_.emplace_front(key, entry{});
    it = entries_.begin();
  } else {
    entries_.splice(entries_.begin(), entries_, it);  // most recently used first
  }
  entry& e = it->second;

  labelled_images out;
  out.labels = labels_of(index, images);
  if (index.spec.kind == dataset_kind::fashion_mnist) {
    if (!e.pixels.defined() || static_cast<std::size_t>(e.pixels.size(0)) != index.size()) {
      auto all = load_idx_tensor(index, geometry);
      if (!all) {
        entries_.erase(entries_.begin());
        return all.error();
      }
      e.pixels = *all;
    }
    out.images = e.pixels.index_select(0, index_tensor(images));
  } else {
    // Decode only the files this cache has not seen; remember rows by path.
    std::vector<std::string> missing;
    for (std::int64_t i : images) {
      const std::string& file = index.files[static_cast<std::size_t>(i)];
      if (!e.row_of_file.count(file)) {
        e.row_of_file.emplace(file, -1);
        missing.push_back(file);
      }
    }
    if (!missing.empty()) {
      auto pixels = decode_image_files(missing, geometry, threads);
      if (!pixels) {
        for (const std::string& f : missing)
          e.row_of_file.erase(f);
        return pixels.error();
      }
      torch::Tensor decoded =
          torch::from_blob(pixels->data(),
                           {static_cast<std::int64_t>(missing.size()), geometry.channels,
                            geometry.height, geometry.width},
                           torch::kUInt8)
              .clone();
      const std::int64_t first = e.pixels.defined() ? e.pixels.size(0) : 0;
      e.pixels = e.pixels.defined() ? torch::cat({e.pixels, decoded}) : decoded;
      for (std::size_t k = 0; k < missing.size(); ++k)
        e.row_of_file[missing[k]] = first + static_cast<std::int64_t>(k);
    }
    std::vector<std::int64_t> rows;
    rows.reserve(images.size());
    for (std::int64_t i : images)
      rows.push_back(e.row_of_file.at(index.files[static_cast<std::size_t>(i)]));
    out.images = e.pixels.defined()
                     ? e.pixels.index_select(0, index_tensor(rows))
                     : torch::empty({0, geometry.channels, geometry.height, geometry.width},
                                    torch::kUInt8);
  }
  while (entries_.size() > 2)
    entries_.pop_back();
  return out;
}

namespace {

// ================================================================================================
// Seeds, process tuning, memory

// splitmix64: spreads (seed, iteration, stream) over 64 bits so nearby iterations get unrelated
// random streams.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

enum class random_stream : std::uint64_t { dropout = 1, shuffle = 2, augmentation = 3 };

std::uint64_t iteration_seed(std::uint64_t seed, int iteration, random_stream stream) {
  // Generators take 63-bit seeds without complaint; keep them positive for readability.
  return mix(mix(seed) ^ mix(static_cast<std::uint64_t>(iteration) * 131 +
                             static_cast<std::uint64_t>(stream))) >>
         1;
}


std::uint64_t read_kib_field(const char* path, const char* field) {
  std::ifstream in(path);
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(in, line))
    if (line.compare(0, prefix.size(), prefix) == 0)
      return std::strtoull(line.c_str() + prefix.size(), nullptr, 10) * 1024;
  return 0;
}

// The CPU's memory as the probe sees it. The budget is what the process already holds plus the
// job's share of the memory still available; the peak is the process's high-water mark (VmHWM),
// reset through /proc/self/clear_refs. Both count the whole process, so memory kept by the
// allocator between trials is counted on both sides.
class cpu_memory_meter final : public memory_meter {
 public:
  explicit cpu_memory_meter(double share) {
    const std::uint64_t available = read_kib_field("/proc/meminfo", "MemAvailable");
    budget_ = read_kib_field("/proc/self/status", "VmRSS") +
              static_cast<std::uint64_t>(static_cast<double>(available) * std::clamp(share, 0.0, 1.0));
  }
  std::uint64_t budget_bytes() override { return budget_; }
  void reset_peak() override {
    std::ofstream out("/proc/self/clear_refs");
    out << "5";
    out.flush();
    resettable_ = static_cast<bool>(out);
  }
  std::uint64_t peak_bytes() override {
    // Without a resettable high-water mark (old kernels, restricted /proc) the current resident
    // size after the trial is the best available reading.
    return read_kib_field("/proc/self/status", resettable_ ? "VmHWM" : "VmRSS");
  }

 private:
  std::uint64_t budget_ = 0;
  bool resettable_ = false;
};

bool is_allocation_failure(const std::string& what) {
  return what.find("can't allocate") != std::string::npos ||
         what.find("std::bad_alloc") != std::string::npos ||
         what.find("out of memory") != std::string::npos;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// ================================================================================================
// Checkpoint: the tool's state after its last completed iteration

struct tool_state {
  job_id job = 0;
  std::string job_name;
  int target = 0;     ///< the iteration the job that wrote it ends at
  int completed = 0;  ///< iterations the tool has trained, over its whole life
  early_stopping_state stopping;
  int batch_size = 0;
  int inference_batch_size = 0;
  int threads = 0;    ///< intra-op threads it trained with (results depend on the count)
  std::string split;
  std::uint64_t seed = 0;
  tool_spec tool;
  dataset_spec dataset;
  std::vector<std::string> class_names;
  int channels = 1;
  normalization norm;
  std::vector<metrics_row> history;  ///< one row per completed iteration
};

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

// Saves through a temporary file and a rename: a crash leaves the previous file intact.
template <class Save>
void save_atomically(const std::string& path, Save&& save) {
  const std::string temporary = path + ".tmp";
  save(temporary);
  fs::rename(temporary, path);
}

void save_checkpoint(const std::string& path, const tool_state& s, torch::nn::Module& model,
                     torch::optim::Adam& optimizer) {
  torch::serialize::OutputArchive archive;
  torch::serialize::OutputArchive model_archive;
  model.save(model_archive);
  archive.write("model", model_archive);
  torch::serialize::OutputArchive optimizer_archive;
  optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  archive.write("format", c10::IValue(std::int64_t{2}));
  archive.write("job_id", c10::IValue(static_cast<std::int64_t>(s.job)));
  archive.write("job_name", c10::IValue(s.job_name));
  archive.write("target_iterations", c10::IValue(std::int64_t{s.target}));
  archive.write("completed_iterations", c10::IValue(std::int64_t{s.completed}));
  archive.write("stopping_has_best", c10::IValue(s.stopping.has_best));
  archive.write("stopping_best_value", c10::IValue(s.stopping.best_value));
  archive.write("stopping_best_iteration", c10::IValue(std::int64_t{s.stopping.best_iteration}));
  archive.write("stopping_counter", c10::IValue(std::int64_t{s.stopping.counter}));
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
  save_atomically(path, [&archive](const std::string& p) { archive.save_to(p); });
}

// The checkpoint's state and its archive (model and optimizer are read once they exist).
struct loaded_checkpoint {
  tool_state state;
  torch::serialize::InputArchive archive;
};

expected<std::unique_ptr<loaded_checkpoint>> read_checkpoint(const std::string& path) {
  auto out = std::make_unique<loaded_checkpoint>();
  try {
    out->archive.load_from(path);
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
    s.dataset = *dataset;
    s.class_names = split_names(get("class_names").toStringRef());
    s.channels = static_cast<int>(get("channels").toInt());
    torch::Tensor t;
    a.read("norm_mean", t);
    s.norm.mean = doubles(t);
    a.read("norm_std", t);
    s.norm.std = doubles(t);
    a.read("history", t);
    s.history = history_rows(t, get("history_validation").toStringRef());
  } catch (const std::exception& e) {
    return make_failure(error_code::storage_failed,
                        "checkpoint " + path + " is unreadable (" + first_line(e.what()) +
                            "); delete it to train the tool from scratch");
  }
  return out;
}

// ================================================================================================
// The engine

// Outcome of a job that failed; what the user should do is in the message.
training_outcome failed(std::string message, error_code code = error_code::training_failed) {
  training_outcome outcome;
  outcome.state = job_state::failed;
  outcome.message = std::move(message);
  outcome.error = code;
  return outcome;
}
training_outcome failed(const failure& f) { return failed(f.message, f.code); }

// Used where a helper returns expected<> deep inside a job: thrown and caught at train()'s edge.
struct job_failure {
  failure f;
};
template <class T>
T need(expected<T> value) {
  if (!value)
    throw job_failure{value.error()};
  return std::move(*value);
}
inline void need(expected<void> value) {
  if (!value)
    throw job_failure{value.error()};
}

constexpr int deterministic_auto_batch_cap = 128;

class torch_engine final : public training_engine {
 public:
  explicit torch_engine(torch_engine_options options) : options_(std::move(options)) {}

  training_outcome train(const training_request& request, training_observer& observer) override {
    training_outcome outcome = train_or_fail(request, observer);
    // A data-parallel rank that fails tells the others why before its connections close.
    if (outcome.state == job_state::failed && request.parallel.world_size > 1 &&
        observer.rendezvous())
      post_rank_failure(*observer.rendezvous(), request.parallel, outcome.message);
    group_.reset();
    return outcome;
  }

 private:
  training_outcome train_or_fail(const training_request& request, training_observer& observer) {
    try {
      return run(request, observer);
    } catch (const job_failure& e) {
      return failed(e.f);
    } catch (const std::bad_alloc&) {
      return failed("out of memory while training tool " + request.spec.tool.name +
                        "; set a smaller batch_size (or free memory) and run the job again",
                    error_code::out_of_memory);
    } catch (const c10::Error& e) {
      const std::string what = e.what_without_backtrace();
      if (is_allocation_failure(what))
        return failed("out of memory while training tool " + request.spec.tool.name + " (" +
                          first_line(what) + "); set a smaller batch_size and run the job again",
                      error_code::out_of_memory);
      return failed("LibTorch failed while training tool " + request.spec.tool.name + ": " +
                    first_line(what) + "; check the tool's settings and dataset, then retry");
    } catch (const std::exception& e) {
      return failed("training tool " + request.spec.tool.name + " failed: " + first_line(e.what()) +
                    "; check the workspace is writable and retry");
    } catch (...) {
      return failed("training tool " + request.spec.tool.name +
                    " failed with an unknown error; retry, and report it if it persists");
    }
  }

  training_outcome run(const training_request& request, training_observer& observer);
  probe_result choose_batch_size(const training_request& request, const tool_task& task,
                                 const task_data& train_data);

  torch_engine_options options_;
  image_cache cache_;
  std::unique_ptr<data_parallel_group> group_;  ///< the job's group while a devices > 1 job runs
};

expected<void> validate(const training_request& request) {
  // The spec's own rules (bounds, tool kind) are validate()'s; here only what the request adds.
  if (auto ok = trainyard::validate(request.spec, request.dataset); !ok)
    return ok;
  const training_settings& s = request.spec.settings;
  const auto bad = [](std::string m) { return make_failure(error_code::invalid_config, std::move(m)); };
  const rank_assignment& p = request.parallel;
  if (p.world_size < 1 || p.rank < 0 || p.rank >= p.world_size)
    return bad("rank " + std::to_string(p.rank) + " does not fit a data-parallel group of " +
               std::to_string(p.world_size) + " ranks");
  if (s.devices != p.world_size)
    return bad("devices = " + std::to_string(s.devices) +
               " but the request places this rank in a group of " + std::to_string(p.world_size) +
               "; the scheduler starts one rank per device, each with its rank assignment");
  if (p.world_size > 1 && p.group.empty())
    return bad("a data-parallel job (devices = " + std::to_string(s.devices) +
               ") needs a group name in its rank assignment");
  if (request.workspace.empty())
    return bad("no workspace folder given");
  return {};
}

void remove_tool_files(const std::string& folder) {
  std::vector<std::string> names = tool_files::all();
  names.push_back(tool_files::task_state);
  for (const std::string& name : names) {
    const fs::path file = fs::path(folder) / name;
    std::error_code ec;
    fs::remove(file, ec);
    // Temporaries a crash may have left: "x.pt.tmp", and "curves.tmp.png" (images keep their
    // extension, which picks the encoder).
    fs::remove(file.string() + ".tmp", ec);
    fs::remove(fs::path(folder) / (file.stem().string() + ".tmp" + file.extension().string()), ec);
  }
}

probe_result torch_engine::choose_batch_size(const training_request& request,
                                             const tool_task& task,
                                             const task_data& train_data) {
  const training_settings& s = request.spec.settings;
  probe_options po = options_.probe;
  // A batch larger than the training set is never used; do not spend probing time on it.
  int largest = std::max(1, po.min_batch);
  while (largest * 2 <= po.max_batch && largest * 2 <= train_data.size())
    largest *= 2;
  po.max_batch = std::max(largest, po.min_batch);
  const int steps = std::max(1, options_.probe_steps);

  // Trials run on copies of the model with their own optimizer; the job's model and optimizer are
  // untouched. Images are the first training images (repeated when the set is small).
  torch::Generator gen = at::detail::createCPUGenerator(s.seed);
  const auto rows_for = [&train_data](int b) {
    return torch::arange(static_cast<std::int64_t>(b), torch::kLong).remainder(train_data.size());
  };
  const auto guarded = [](auto&& trial) -> trial_result {
    try {
      return trial();
    } catch (const std::bad_alloc&) {
      return {false, 0, "std::bad_alloc"};
    } catch (const c10::Error& e) {
      return {false, 0, first_line(e.what_without_backtrace())};
    } catch (const std::exception& e) {
      return {false, 0, first_line(e.what())};
    }
  };
  const batch_trial train_trial = [&](int b) {
    return guarded([&]() -> trial_result {
      std::unique_ptr<tool_task> copy = task.clone();
      copy->model()->train();
      torch::optim::Adam optimizer(copy->model()->parameters(),
                                   torch::optim::AdamOptions(s.learning_rate));
      const torch::Tensor rows = rows_for(b);
      const auto step = [&] {
        optimizer.zero_grad();
        torch::Tensor loss = copy->batch_loss(train_data, rows, gen);
        loss.backward();
        optimizer.step();
        (void)loss.item<double>();
      };
      step();  // warm-up: first-touch allocations, oneDNN primitive creation
      const auto t0 = clock_type::now();
      for (int k = 0; k < steps; ++k)
        step();
      const double seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
      return {true, static_cast<double>(b) * steps / std::max(seconds, 1e-9), ""};
    });
  };
  const batch_trial infer_trial = [&](int b) {
    return guarded([&]() -> trial_result {
      std::unique_ptr<tool_task> copy = task.clone();
      copy->model()->eval();
      torch::NoGradGuard no_grad;
      const torch::Tensor x = copy->transform()(train_data.images.index_select(0, rows_for(b)));
      copy->infer(x);
      const auto t0 = clock_type::now();
      for (int k = 0; k < steps; ++k)
        copy->infer(x);
      const double seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
      return {true, static_cast<double>(b) * steps / std::max(seconds, 1e-9), ""};
    });
  };

  std::unique_ptr<memory_meter> own_meter;
  memory_meter* meter = options_.meter.get();
  if (!meter) {
    own_meter = std::make_unique<cpu_memory_meter>(s.memory_share);
    meter = own_meter.get();
  }
  probe_result result = probe_batch_sizes(po, *meter, train_trial, infer_trial);
  if (s.deterministic && result.train_batch_size > 0) {
    // The fastest size depends on timing noise; a deterministic job must not. Take the largest
    // fitting size up to a fixed cap instead: the same on every run with enough memory.
    int chosen = 0;
    for (const probe_row& row : result.rows)
      if (row.fits && row.batch_size <= deterministic_auto_batch_cap)
        chosen = std::max(chosen, row.batch_size);
    if (chosen > 0)
      result.train_batch_size = chosen;
  }
  return result;
}

std::string job_label(const training_request& r) {
  return r.spec.name.empty() ? "job " + std::to_string(r.job) : "job " + r.spec.name;
}

training_outcome torch_engine::run(const training_request& request, training_observer& observer) {
  need(validate(request));
  // Data-parallel (devices > 1): rank 0 probes, validates and writes the tool's files; the other
  // ranks train their share of every global batch and take rank 0's decisions.
  const int world = request.parallel.world_size;
  const bool lead = request.parallel.rank == 0;
  if (world > 1 && !observer.rendezvous())
    return failed("devices = " + std::to_string(world) +
                      " needs a rendezvous store for the ranks to meet, and this worker has none; "
                      "run the job through a scheduler that places data-parallel jobs",
                  error_code::invalid_request);
  tune_malloc_for_training();
  const job_spec& spec = request.spec;
  const training_settings& settings = spec.settings;
  const std::string& tool = spec.tool.name;
  const fs::path folder = tool_folder(request.workspace, tool);
  const auto file = [&folder](const char* name) { return (folder / name).string(); };

  // --- what this job does: resume, continue, or start fresh -----------------------------------
  std::unique_ptr<loaded_checkpoint> checkpoint;
  if (fs::exists(file(tool_files::checkpoint))) {
    auto loaded = read_checkpoint(file(tool_files::checkpoint));
    // An unreadable checkpoint matters only to a job that needs it: a fresh job replaces it.
    if (loaded)
      checkpoint = std::move(*loaded);
    else if (spec.continue_training)
      return failed(loaded.error());
  }
  const bool resume = checkpoint && checkpoint->state.job == request.job;
  const bool carry_on = resume || spec.continue_training;
  if (spec.continue_training && !resume) {
    if (!checkpoint)
      return failed("tool " + tool +
                        " has no trained state to continue; run a job without continue first",
                    error_code::unknown_tool);
    if (checkpoint->state.split != spec.split)
      return failed("tool " + tool + " was trained on split " + checkpoint->state.split +
                        "; continue training must use the same split",
                    error_code::split_mismatch);
    const tool_spec& was = checkpoint->state.tool;
    if (was.input_width != spec.tool.input_width || was.input_height != spec.tool.input_height ||
        was.model_width != spec.tool.model_width || was.batch_norm != spec.tool.batch_norm)
      return failed("tool " + tool + " was built with input " + std::to_string(was.input_width) +
                    "x" + std::to_string(was.input_height) + ", model_width " +
                    std::to_string(was.model_width) + " and batch_norm " +
                    (was.batch_norm ? "true" : "false") +
                        "; continue training keeps the architecture, so use those values",
                    error_code::invalid_request);
  }

  tool_state state;
  if (carry_on) {
    state = checkpoint->state;
    if (!resume) {
      state.job = request.job;
      state.job_name = spec.name;
      const int more = settings.iterations > 0 ? settings.iterations : settings.max_iterations;
      state.target = state.completed + more;
    }
  } else {
    checkpoint.reset();
    state.job = request.job;
    state.job_name = spec.name;
    state.target = settings.iterations > 0 ? settings.iterations : settings.max_iterations;
    state.split = spec.split;
    state.seed = settings.seed;
    state.tool = spec.tool;
    state.dataset = request.dataset;
  }
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec)
    return failed("cannot create tool folder " + folder.string() + ": " + ec.message() +
                      "; check the workspace is writable",
                  error_code::storage_failed);

  // --- process settings for this job ---------------------------------------------------------
  // Parallel reductions split work by thread, so the bits of the result depend on the thread
  // count: a deterministic job resumed on another machine keeps the count it started with.
  const int threads =
      resume && settings.deterministic && state.threads > 0 ? state.threads
      : settings.threads > 0 ? settings.threads
                             : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  state.threads = threads;
  torch::set_num_threads(threads);
  at::globalContext().setDeterministicAlgorithms(settings.deterministic, false);

  // --- data --------------------------------------------------------------------------------------
  const dataset_index index = need(load_dataset_index(request.dataset));
  if (index.size() != request.assignment.size())
    return failed("split " + spec.split + " assigns " + std::to_string(request.assignment.size()) +
                  " images but dataset " + request.dataset.name + " has " +
                      std::to_string(index.size()) + "; redraw the split for the current dataset",
                  error_code::invalid_request);
  const std::vector<std::string> class_names = need(task_class_names(state.tool, index));
  const int classes = static_cast<int>(class_names.size());
  const image_geometry geometry =
      dataset_geometry(request.dataset, spec.tool.input_width, spec.tool.input_height);
  if (carry_on && (state.channels != geometry.channels ||
                   state.class_names.size() != class_names.size()))
    return failed("tool " + tool + " was trained with " + std::to_string(state.class_names.size()) +
                  " classes and " + std::to_string(state.channels) +
                  " channels but dataset " + request.dataset.name + " now has " +
                  std::to_string(classes) + " classes and " + std::to_string(geometry.channels) +
                      "; train the tool from scratch",
                  error_code::invalid_request);
  // The process's default generator: two ranks (or jobs) in one process must not draw from it
  // between another's seeding and its model's initial weights. Every model built here draws its
  // initial weights from it, so every construction holds this lock (the first, for targets(),
  // used to run unlocked and shifted a concurrent rank 0's weights in about one run in eight).
  static std::mutex init_mutex;
  // The task's setup before normalisation is known; its targets() needs only tool and labels.
  task_setup setup{state.tool, geometry.channels, class_names,
                   task_colours(request.dataset, class_names.size()), {}, settings.augmentation};
  std::unique_ptr<tool_task> task;
  {
    std::lock_guard<std::mutex> lock(init_mutex);
    task = need(make_tool_task(setup));
  }
  const auto set_data = [&](split_set set) {
    const std::vector<std::int64_t> images = images_in(request.assignment, set);
    return need(task->targets(index, images,
                              need(cache_.images(index, images, geometry, threads)), set));
  };
  const task_data train_data = set_data(train_set);
  const task_data validation = set_data(validation_set);
  const task_data test = set_data(test_set);
  if (train_data.size() == 0 || validation.size() == 0)
    return failed("split " + spec.split + " has " + std::to_string(train_data.size()) +
                  " training and " + std::to_string(validation.size()) +
                      " validation images; training needs both, so give the split a share of each",
                  error_code::invalid_config);
  if (!carry_on) {
    state.class_names = class_names;
    state.channels = geometry.channels;
    state.norm = compute_normalization(train_data.images);
  }

  // --- model and optimizer --------------------------------------------------------------------
  setup.norm = state.norm;
  {
    std::lock_guard<std::mutex> lock(init_mutex);
    torch::manual_seed(state.seed);
    task = need(make_tool_task(setup));
  }
  const std::shared_ptr<torch::nn::Module> model = task->model();
  const std::string monitored = task->monitored_metric();
  torch::optim::Adam optimizer(model->parameters(),
                               torch::optim::AdamOptions(settings.learning_rate));
  if (carry_on) {
    torch::serialize::InputArchive model_archive, optimizer_archive;
    checkpoint->archive.read("model", model_archive);
    model->load(model_archive);
    checkpoint->archive.read("optimizer", optimizer_archive);
    optimizer.load(optimizer_archive);
    // A continued job may bring its own learning rate.
    for (auto& group : optimizer.param_groups())
      static_cast<torch::optim::AdamOptions&>(group.options()).lr(settings.learning_rate);
    torch::Tensor rng;
    checkpoint->archive.read("rng_state", rng);
    at::Generator default_generator = at::detail::getDefaultCPUGenerator();  // shares the state
    default_generator.set_state(rng);
  }
  checkpoint.reset();  // release the archive

  // A fresh job replaces the tool, but only once its data and model are known to be good: a job
  // that fails on a corrupt image leaves the previously trained tool intact.
  if (!carry_on && lead)
    remove_tool_files(folder.string());

  // --- batch size -------------------------------------------------------------------------------
  probe_result probe;
  if (resume || (carry_on && settings.batch_size == 0)) {
    probe.train_batch_size = state.batch_size;
    probe.inference_batch_size = state.inference_batch_size > 0 ? state.inference_batch_size
                                                                 : state.batch_size;
  } else if (settings.batch_size > 0) {
    probe.train_batch_size = settings.batch_size;
    probe.inference_batch_size = settings.batch_size;
  } else if (lead) {
    probe = choose_batch_size(request, *task, train_data);
  } else {  // rank 0 probes; its choice arrives when the group forms, below
    probe.train_batch_size = probe.inference_batch_size = 1;
  }
  // A carried-on tool keeps the probe.json of the job that chose its batch size.
  if (!carry_on && lead)
    need(write_file_atomically(file(tool_files::probe), to_json(probe)));
  if (probe.train_batch_size <= 0) {
    const std::string why = probe.rows.empty() ? "no size was tried" : probe.rows.back().note;
    return failed("out of memory: no batch size fits the memory budget (" + why +
                      "); free memory, raise memory_share, or set a small batch_size explicitly",
                  error_code::out_of_memory);
  }
  // --- data-parallel group: every rank starts from rank 0's batch size and weights ------------
  data_parallel_group* group = nullptr;
  torch::Generator dropout_gen;  // the rank's own dropout draws (ranks may share a process)
  std::uint64_t rank_seed = state.seed;  // dropout and augmentation differ between ranks
  if (world > 1) {
    group_ = need(data_parallel_group::join(request.parallel, *observer.rendezvous(),
                                            options_.parallel));
    group = group_.get();
    const auto from_lead = need(group->broadcast(
        {probe.train_batch_size, probe.inference_batch_size, state.completed, state.target}));
    if (from_lead[2] != state.completed || from_lead[3] != state.target)
      return failed("rank " + std::to_string(group->rank()) + " found tool " + tool +
                        " at iteration " + std::to_string(state.completed) + " of " +
                        std::to_string(state.target) + " but rank 0 at " +
                        std::to_string(from_lead[2]) + " of " + std::to_string(from_lead[3]) +
                        "; the ranks of a data-parallel job must share the workspace folder",
                    error_code::invalid_request);
    probe.train_batch_size = static_cast<int>(from_lead[0]);
    probe.inference_batch_size = static_cast<int>(from_lead[1]);
    need(group->broadcast_module(*model));
    if (!lead)
      rank_seed = mix(state.seed ^ mix(static_cast<std::uint64_t>(group->rank())));
    dropout_gen = at::detail::createCPUGenerator(rank_seed);
    task->set_dropout_generator(dropout_gen);
  }
  state.batch_size = probe.train_batch_size;
  state.inference_batch_size = probe.inference_batch_size;
  if (lead)
    observer.batch_size_chosen(probe);

  const auto record = [&]() {
    tool_record r;
    r.tool = state.tool;
    r.dataset = state.dataset;
    r.split = state.split;
    r.job_name = state.job_name;
    r.job = state.job;
    r.training = settings;
    r.class_names = state.class_names;
    r.channels = state.channels;
    r.mean = state.norm.mean;
    r.std = state.norm.std;
    r.batch_size = state.batch_size;
    r.inference_batch_size = state.inference_batch_size;
    r.threads = state.threads;
    r.trained_iterations = state.completed;
    r.best_iteration = state.stopping.best_iteration;
    return r;
  };
  if (lead)
    need(write_file_atomically(file(tool_files::settings), to_json(record())));

  // --- iterations ---------------------------------------------------------------------------------
  const early_stopping_rule rule{settings.patience, settings.min_delta, /*max_iterations=*/0,
                                 metric_goal::maximize};
  const std::int64_t n = train_data.size();
  const std::int64_t batch = state.batch_size * world;  // a global step: every rank's share
  bool stopped = false;
  // Data-parallel: at the end of an iteration the ranks learn whether any of them asks to stop,
  // and rank 0's best iteration. True: stop here.
  const auto agree_after_iteration = [&] {
    const double best = lead ? state.stopping.best_iteration : 0;
    const auto sums = need(group->sum({observer.stop_requested() ? 1.0 : 0.0, best}));
    state.stopping.best_iteration = static_cast<int>(sums[1]);
    return sums[0] > 0 && state.completed < state.target;
  };
  const std::vector<torch::Tensor> parameters = model->parameters();
  model->train();
  while (state.completed < state.target) {
    if (!group && observer.stop_requested()) {  // data-parallel ranks agree after each step
      stopped = true;
      break;
    }
    const int iteration = state.completed + 1;
    const auto iteration_start = clock_type::now();
    for (auto& param_group : optimizer.param_groups())  // the task's schedule (locate decays)
      static_cast<torch::optim::AdamOptions&>(param_group.options())
          .lr(settings.learning_rate * task->learning_rate_factor(iteration, state.target));
    torch::manual_seed(iteration_seed(state.seed, iteration, random_stream::dropout));
    torch::Generator shuffle_gen =
        at::detail::createCPUGenerator(iteration_seed(state.seed, iteration, random_stream::shuffle));
    torch::Generator augment_gen = at::detail::createCPUGenerator(
        iteration_seed(rank_seed, iteration, random_stream::augmentation));
    if (group)
      dropout_gen.set_current_seed(iteration_seed(rank_seed, iteration, random_stream::dropout));
    const torch::Tensor order = torch::randperm(n, shuffle_gen, torch::kLong);

    // The hot loop: nothing here beyond what a bare LibTorch loop does, plus one atomic load
    // (stop_requested) and the input transform.
    double loss_sum = 0;
    const auto loop_start = clock_type::now();
    for (std::int64_t start = 0; start < n; start += batch) {
      const bool stop_here = observer.stop_requested();
      if (stop_here && !group) {
        stopped = true;
        break;
      }
      const std::int64_t m = std::min(batch, n - start);
      // Data-parallel: this rank's rows of the global batch, its loss weighted by its share, so
      // that the summed gradients are those of the whole batch's mean loss.
      const auto share = group ? group->share_of(m) : data_parallel_group::share{0, m};
      double step_loss = 0;
      optimizer.zero_grad();
      if (share.count > 0) {
        const torch::Tensor rows = order.narrow(0, start + share.offset, share.count);
        torch::Tensor loss = task->batch_loss(train_data, rows, augment_gen);
        if (group)
          loss = loss * (static_cast<double>(share.count) / static_cast<double>(m));
        loss.backward();
        step_loss = loss.item<double>() * static_cast<double>(m);
      }
      if (group) {
        const step_agreement agreed =
            need(group->all_reduce_gradients(parameters, stop_here, step_loss));
        if (agreed.stop) {
          stopped = true;
          break;
        }
        step_loss = agreed.loss_sum;
      }
      optimizer.step();
      loss_sum += step_loss;
    }
    const double loop_seconds = std::chrono::duration<double>(clock_type::now() - loop_start).count();
    // A partial iteration is thrown away: the checkpoint on disk stays the last completed one.
    if (stopped)
      break;
    if (!lead) {
      state.completed = iteration;
      if (agree_after_iteration()) {
        stopped = true;
        break;
      }
      continue;
    }

    task->prepare(train_data);
    metric_map val = task->evaluate(validation, "val_");
    const double monitored_value = val.at(monitored);
    const early_stopping_decision decision =
        observe(rule, state.stopping, iteration, monitored_value);
    if (decision.improved)
      save_atomically(file(tool_files::best), [&model](const std::string& p) { torch::save(model, p); });

    metrics_row row;
    row.iteration = iteration;
    row.train_loss = loss_sum / static_cast<double>(n);
    row.val_loss = val.at("val_loss");
    val.erase("val_loss");
    row.validation = val;
    row.images_per_s = static_cast<double>(n) / std::max(loop_seconds, 1e-9);
    row.batch_size = state.batch_size;
    row.seconds = std::chrono::duration<double>(clock_type::now() - iteration_start).count();
    state.history.push_back(row);
    state.completed = iteration;
    save_checkpoint(file(tool_files::checkpoint), state, *model, optimizer);

    need(write_file_atomically(file(tool_files::metrics_csv), metrics_csv(state.history)));
    std::vector<curve_point> points;
    for (const metrics_row& r : state.history)
      points.push_back({r.iteration, r.train_loss, r.val_loss, r.validation.at(monitored)});
    need(draw_training_curves(points, "tool " + tool + " (" + job_label(request) + ")",
                              file(tool_files::curves), monitored));

    iteration_report report;
    report.job = request.job;
    report.tool = tool;
    report.iteration = iteration;
    report.target_iterations = state.target;
    report.metrics = row.validation;
    report.metrics.insert({{"train_loss", row.train_loss},
                           {"val_loss", row.val_loss},
                           {"images_per_s", row.images_per_s},
                           {"seconds", row.seconds}});
    report.best_iteration = state.stopping.best_iteration;
    report.best_value = state.stopping.best_value;
    report.patience_counter = state.stopping.counter;
    report.batch_size = state.batch_size;
    report.monitored_name = monitored;
    report.monitored_value = monitored_value;
    // Only an auto job (no explicit count, not a continuation) ends on the rule; the others
    // track it to know their best weights.
    report.early_stop = decision.stop && settings.iterations == 0 && !request.spec.continue_training;
    if (report.early_stop)
      report.stop_reason = decision.reason;
    observer.iteration_completed(report);
    if (group && agree_after_iteration()) {
      stopped = true;
      break;
    }
  }

  // --- the end: best weights on the test set ------------------------------------------------------
  training_outcome outcome;
  outcome.state = stopped ? job_state::stopped : job_state::completed;
  outcome.trained_iterations = state.completed;
  outcome.best_iteration = state.stopping.best_iteration;
  outcome.batch_size = state.batch_size;
  if (stopped)
    outcome.message = "stopped on request after iteration " + std::to_string(state.completed);
  if (!lead) {
    outcome.message += std::string(stopped ? "; " : "") + "rank " +
                       std::to_string(request.parallel.rank) + " of " + std::to_string(world) +
                       ": rank 0 reports the metrics and writes the tool";
    return outcome;
  }
  if (!fs::exists(file(tool_files::best))) {
    outcome.message = "stopped before the first iteration completed; the tool has no trained "
                      "weights yet";
    return outcome;
  }
  torch::load(model, file(tool_files::best));
  metric_map final_metrics;
  for (const metrics_row& r : state.history)
    if (r.iteration == state.stopping.best_iteration) {
      final_metrics = r.validation;
      final_metrics["val_loss"] = r.val_loss;
    }
  // State the best weights need beside them (anomaly: memory bank, threshold tuned on validation).
  task->prepare(train_data);
  for (const auto& [name, value] : task->tune(validation))
    final_metrics[name] = value;
  torch::serialize::OutputArchive task_archive;
  if (task->save_state(task_archive))
    save_atomically(file(tool_files::task_state),
                    [&task_archive](const std::string& p) { task_archive.save_to(p); });
  if (test.size() > 0) {
    count_test_evaluation();
    for (const auto& [name, value] : task->evaluate(test, "test_"))
      final_metrics[name] = value;
  }
  final_metrics["trained_iterations"] = state.completed;
  final_metrics["best_iteration"] = state.stopping.best_iteration;
  need(write_file_atomically(file(tool_files::metrics_json), to_json(final_metrics) + "\n"));
  need(write_file_atomically(file(tool_files::settings), to_json(record())));
  outcome.final_metrics = std::move(final_metrics);
  return outcome;
}

}  // namespace

// LibTorch allocates and frees 1-30 MB activation buffers every step; above glibc's default mmap
// threshold each is a fresh mmap/munmap with its page faults (2.5x the system time at batch 256,
// STACK.md). Serving them from the heap and trimming rarely removes that churn. Once per process.
void tune_malloc_for_training() {
  static std::once_flag once;
  std::call_once(once, [] {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    // Training runs on the worker's own thread, which glibc would serve from a secondary arena:
    // those grow and shrink in 64 MiB heaps and churned pages like the main arena did before the
    // settings above (the worker path trained 10-15% slower than the same loop on the main
    // thread; bench/train_overhead). One arena keeps every thread on the tuned main heap.
    mallopt(M_ARENA_MAX, 1);
  });
}

std::unique_ptr<training_engine> make_torch_engine(torch_engine_options options) {
  return std::make_unique<torch_engine>(std::move(options));
}

std::string tool_folder(const std::string& workspace, const std::string& tool) {
  return (fs::path(workspace) / "tools" / tool).string();
}

// ================================================================================================
}  // namespace trainyard
