#include "runtime/train/weight_average.hpp"

#include <algorithm>
#include <string>

namespace trainyard {

weight_average::weight_average(torch::nn::Module& model, double decay) : decay_(decay) {
  torch::NoGradGuard no_grad;
  for (const torch::Tensor& p : model.parameters())
    live_.push_back(p);
  for (const torch::Tensor& b : model.buffers())
    live_.push_back(b);
  for (const torch::Tensor& t : live_)
    averaged_.push_back(t.detach().clone());
}

void weight_average::update() {
  torch::NoGradGuard no_grad;
  const double t = static_cast<double>(updates_);
  const double d = std::min(decay_, (1.0 + t) / (10.0 + t));
  for (std::size_t i = 0; i < live_.size(); ++i) {
    if (torch::isFloatingType(live_[i].scalar_type()))
      averaged_[i].mul_(d).add_(live_[i].detach(), 1.0 - d);
    else
      averaged_[i].copy_(live_[i].detach());
  }
  ++updates_;
}

void weight_average::swap() {
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < live_.size(); ++i) {
    torch::Tensor raw = live_[i].detach().clone();
    live_[i].detach().copy_(averaged_[i]);
    averaged_[i].copy_(raw);
  }
}

void weight_average::save(torch::serialize::OutputArchive& archive) const {
  archive.write("count", torch::tensor(static_cast<std::int64_t>(averaged_.size())));
  archive.write("updates", torch::tensor(updates_));
  for (std::size_t i = 0; i < averaged_.size(); ++i)
    archive.write("t" + std::to_string(i), averaged_[i]);
}

bool weight_average::load(torch::serialize::InputArchive& archive) {
  torch::Tensor count, updates;
  if (!archive.try_read("count", count) || !archive.try_read("updates", updates) ||
      count.item<std::int64_t>() != static_cast<std::int64_t>(averaged_.size()))
    return false;
  std::vector<torch::Tensor> read(averaged_.size());
  for (std::size_t i = 0; i < averaged_.size(); ++i)
    if (!archive.try_read("t" + std::to_string(i), read[i]) ||
        !read[i].sizes().equals(averaged_[i].sizes()))
      return false;
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < averaged_.size(); ++i)
    averaged_[i].copy_(read[i]);
  updates_ = updates.item<std::int64_t>();
  return true;
}

}  // namespace trainyard
