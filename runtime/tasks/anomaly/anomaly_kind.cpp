// The anomaly kind's descriptor (runtime/tasks/kinds.hpp): good or defect per image, image AUROC
// monitored. Torch-free.
#include "runtime/tasks/kinds.hpp"

namespace trainyard {

const tool_kind_info& anomaly_kind() {
  static const tool_kind_info kind{"anomaly", "val_auroc", nullptr,
                                   /*confusion_matrix=*/false, /*boxes=*/false,
                                   training_recipe{}, /*image_labels=*/false,
                                   /*model_sizes=*/false, /*trains_on_gpu=*/true};
  return kind;
}

}  // namespace trainyard
