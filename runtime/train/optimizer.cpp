#include "runtime/train/optimizer.hpp"

namespace trainyard {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const training_settings& settings,
                                                        std::vector<torch::Tensor> parameters) {
  const double lr = settings.learning_rate;
  const double decay = settings.weight_decay > 0 ? settings.weight_decay : 0.0;
  if (settings.optimizer == "adamw")
    return std::make_unique<torch::optim::AdamW>(
        std::move(parameters), torch::optim::AdamWOptions(lr).weight_decay(decay));
  if (settings.optimizer == "sgd")
    return std::make_unique<torch::optim::SGD>(
        std::move(parameters),
        torch::optim::SGDOptions(lr).momentum(0.9).nesterov(true).weight_decay(decay));
  return std::make_unique<torch::optim::Adam>(std::move(parameters),
                                              torch::optim::AdamOptions(lr).weight_decay(decay));
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double rate) {
  for (auto& group : optimizer.param_groups())
    group.options().set_lr(rate);
}

}  // namespace trainyard
