#include "runtime/policy/job_length.hpp"

#include <algorithm>

namespace trainyard {

job_length length_of_job(const training_settings& settings, std::int64_t training_images,
                         bool pretrained) {
  job_length out;
  out.patience = settings.patience;
  if (settings.iterations > 0) {
    out.iterations = settings.iterations;
    return out;
  }
  if (settings.max_iterations > 0) {  // a length the user set keeps the patience they set
    out.iterations = settings.max_iterations;
    return out;
  }
  const std::int64_t n = std::max<std::int64_t>(1, training_images);
  const std::int64_t images = pretrained ? auto_images_seen_pretrained : auto_images_seen;
  const std::int64_t seen = (images + n - 1) / n;
  out.iterations =
      static_cast<int>(std::clamp<std::int64_t>(seen, auto_minimum_iterations, 100000));
  const std::int64_t scaled = static_cast<std::int64_t>(settings.patience) * out.iterations /
                              auto_minimum_iterations;
  out.patience = static_cast<int>(std::max<std::int64_t>(settings.patience, scaled));
  return out;
}

}  // namespace trainyard
