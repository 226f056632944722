// The input pipeline of every tool kind: decoded dataset images as 8-bit tensors (loaded once,
// or kept between jobs by image_cache) and their normalisation into the model's float input.
// Internal to the training runtime (runtime/train/, runtime/tasks/): includes LibTorch.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "runtime/core/error.hpp"
#include "runtime/data/dataset_index.hpp"
#include "runtime/train/images.hpp"
#include "runtime/train/tool_files.hpp"

namespace trainyard {

/// Mean and standard deviation per channel of 8-bit images [N, C, H, W], computed exactly (integer
/// sums), so they are the same on every machine.
normalization compute_normalization(const torch::Tensor& images);

/// Turns 8-bit images into the model's float input on the model's device: (pixel / 255 - mean) /
/// std per channel. Images are decoded and augmented on the CPU; a batch crosses to a GPU once,
/// as 8-bit pixels where it can (a quarter of the bytes of floats).
class input_transform {
 public:
  input_transform() = default;
  explicit input_transform(const normalization& n, torch::Device device = torch::kCPU);
  /// New float tensor on the device from an 8-bit batch (on the CPU).
  torch::Tensor operator()(const torch::Tensor& images) const;
  /// In place: [0, 1] floats (on the device) to normalised ones (after augmentation).
  void normalize_unit(torch::Tensor& x) const;
  /// `t` on the device: itself on the CPU; on a GPU a copy from pinned memory that does not
  /// wait for the copy (work queued behind it on the device's stream waits instead).
  torch::Tensor to_device(const torch::Tensor& t) const;
  const torch::Device& device() const { return device_; }

 private:
  torch::Device device_ = torch::kCPU;
  bool single_channel_ = true;
  double scale_ = 1, shift_ = 0;           // one channel: x * scale + shift
  torch::Tensor scale_t_, shift_t_;        // several: broadcast [1, C, 1, 1]
  torch::Tensor mean_t_, std_t_;
  double mean_ = 0, std_ = 1;
};

/// 8-bit images with their labels.
struct labelled_images {
  torch::Tensor images;  ///< uint8 [N, C, H, W]
  torch::Tensor labels;  ///< int64 [N]
  std::int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

/// Images per evaluation step, in training (validation, test) and in evaluate_tool alike: one
/// fixed size keeps their numbers identical, whatever batch size probing chose.
inline constexpr int evaluation_batch_size = 256;

/// Geometry of a dataset's images for a tool: IDX images are gray, folders gray or RGB.
image_geometry dataset_geometry(const dataset_spec& dataset, int width, int height);

/// Decodes the listed images of a dataset (indices into `index`) at `geometry`.
expected<labelled_images> load_images(const dataset_index& index,
                                      const std::vector<std::int64_t>& images,
                                      const image_geometry& geometry, int threads);

/// Decoded datasets kept between the jobs of one engine, so consecutive jobs on the same dataset
/// do not decode 70,000 images again. Keyed by the dataset spec and the geometry; folder images
/// are remembered by path, so a rescanned folder reuses what it still holds. Holds the two most
/// recently used datasets. Used by one thread at a time, like the engine.
class image_cache {
 public:
  expected<labelled_images> images(const dataset_index& index,
                                   const std::vector<std::int64_t>& images,
                                   const image_geometry& geometry, int threads);

 private:
  struct entry {
    torch::Tensor pixels;                             ///< uint8 [rows, C, H, W]
    std::map<std::string, std::int64_t> row_of_file;  ///< folders: path → row of pixels
  };
  std::list<std::pair<std::string, entry>> entries_;  ///< most recently used first
};

}  // namespace trainyard
