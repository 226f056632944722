// The classify kind's descriptor (runtime/tasks/kinds.hpp): one label per image, accuracy
// monitored. Torch-free.
#include "runtime/tasks/kinds.hpp"

namespace trainyard {

const tool_kind_info& classify_kind() {
  static const tool_kind_info kind{"classify",
                                   "val_accuracy",
                                   nullptr,
                                   /*confusion_matrix=*/true,
                                   /*boxes=*/false,
                                   training_recipe{"adamw", 5e-4, "one_cycle", 0.25, 0.1, 0.999, 4e-3},
                                   /*image_labels=*/true,
                                   /*model_sizes=*/true,
                                   /*trains_on_gpu=*/true, /*stopping_metric=*/"",
                                   metric_goal::maximize};
  return kind;
}

}  // namespace trainyard
