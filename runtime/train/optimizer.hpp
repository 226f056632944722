// The optimizers a job can train with (training_settings::optimizer), built from its resolved
// settings (resolve_recipe: no "auto" left). Internal to the training runtime: includes LibTorch.
#pragma once

#include <memory>
#include <vector>

#include <torch/torch.h>

#include "runtime/core/specs.hpp"

namespace trainyard {

/// adam (L2 weight decay), adamw (decoupled weight decay) or sgd (Nesterov momentum 0.9, L2
/// weight decay), at `settings.learning_rate`; an unknown name is Adam (validate() refuses it
/// first).
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const training_settings& settings,
                                                        std::vector<torch::Tensor> parameters);

/// Sets every parameter group's learning rate.
void set_learning_rate(torch::optim::Optimizer& optimizer, double rate);

}  // namespace trainyard
