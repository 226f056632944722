// Augmentation of whole training batches on [0, 1] pixels, before normalisation, and the one
// function that turns rows of a decoded training set into a model's input batch. Shared by every
// tool task (tool_task.hpp); label masks (segment) go through the same geometric warp as their
// images, with nearest sampling so labels stay labels. Internal to the training runtime
// (runtime/train/, runtime/tasks/): includes LibTorch.
#pragma once

#include <torch/torch.h>

#include "runtime/core/specs.hpp"
#include "runtime/train/input.hpp"

namespace trainyard {

/// Random flips, affine warps and photometric changes of a batch, drawn from a given generator
/// (the engine seeds it per iteration, so augmentation is part of the deterministic state).
class augmenter {
 public:
  augmenter() = default;
  augmenter(const augmentation_settings& s, int width, int height);
  bool enabled() const { return geometric_ || flips_ || photometric_; }

  /// x: float [B, C, H, W] on [0, 1], modified or replaced. `masks` (optional, uint8 [B, H, W])
  /// get the same flips and warps (nearest, 0 = background outside the image); photometric
  /// changes leave them alone. Draws the same random numbers with or without masks.
  void apply(torch::Tensor& x, torch::Generator& gen, torch::Tensor* masks = nullptr) const;

 private:
  torch::Tensor affine_theta(std::int64_t b, torch::Generator& gen) const;

  augmentation_settings s_;
  double aspect_ = 1;
  bool geometric_ = false, flips_ = false, photometric_ = false;
};

/// One batch of training input: gather `rows` of 8-bit `images`, augment on [0, 1] pixels when
/// asked, normalise. `masks` (optional, uint8 [N, H, W]) receives the gathered masks, warped
/// like their images.
torch::Tensor training_batch(const torch::Tensor& images, const torch::Tensor& rows,
                             const input_transform& transform, const augmenter& augment,
                             torch::Generator& gen, const torch::Tensor* all_masks = nullptr,
                             torch::Tensor* masks = nullptr);

}  // namespace trainyard
