// The input pipeline (input.hpp): normalisation statistics and transform, dataset images decoded
// into tensors, and the engine's cache of decoded datasets.
#include "runtime/train/input.hpp"

#include <algorithm>
#include <cmath>

#include "runtime/store/spec_json.hpp"

namespace trainyard {

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

input_transform::input_transform(const normalization& n, torch::Device device) : device_(device) {
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
  const auto as_tensor = [channels, device](const std::vector<float>& v) {
    return torch::tensor(v).view({1, channels, 1, 1}).to(device);
  };
  scale_t_ = as_tensor(scale);
  shift_t_ = as_tensor(shift);
  mean_t_ = as_tensor(mean);
  std_t_ = as_tensor(sd);
}

torch::Tensor input_transform::to_device(const torch::Tensor& t) const {
  if (device_.is_cpu() || t.device() == device_)
    return t;
  return t.pin_memory().to(device_, /*non_blocking=*/true);
}

torch::Tensor input_transform::operator()(const torch::Tensor& images) const {
  torch::Tensor x = to_device(images).to(torch::kFloat);
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

}  // namespace trainyard
