// An exponential moving average of a model's weights (training_settings::weight_averaging): the
// averaged weights are what validation measures and best.pt keeps, while the optimizer goes on
// stepping the raw ones. Short runs end with averaged weights that generalise better than the
// last step's. Internal to the training runtime: includes LibTorch.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace trainyard {

class weight_average {
 public:
  /// Averages `model`'s parameters and floating-point buffers (batch-norm statistics) with
  /// `decay` per update; integer buffers (batch counts) are copied. Starts from the model's
  /// current weights.
  weight_average(torch::nn::Module& model, double decay);

  /// After an optimizer step. The decay ramps up over the first updates, min(decay,
  /// (1 + t) / (10 + t)) at update t, so the average forgets its random start quickly.
  void update();

  /// Swaps the averaged weights into the model for the guard's life (validation, saving best.pt),
  /// then puts the raw ones back.
  class swapped {
   public:
    explicit swapped(weight_average& average) : average_(average) { average_.swap(); }
    ~swapped() { average_.swap(); }
    swapped(const swapped&) = delete;
    swapped& operator=(const swapped&) = delete;

   private:
    weight_average& average_;
  };

  /// Writes and reads the averaged tensors and the update count (checkpoint.pt), so a resumed
  /// job continues the same average bit for bit.
  void save(torch::serialize::OutputArchive& archive) const;
  /// False when the archive holds no average of this model's shape (the checkpoint was written
  /// without one): the average then starts from the model's current weights.
  bool load(torch::serialize::InputArchive& archive);

  std::int64_t updates() const { return updates_; }

 private:
  void swap();

  std::vector<torch::Tensor> live_;      ///< the model's tensors
  std::vector<torch::Tensor> averaged_;  ///< their averages, same order
  double decay_;
  std::int64_t updates_ = 0;
};

}  // namespace trainyard
