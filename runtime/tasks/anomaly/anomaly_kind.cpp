// The anomaly kind's descriptor (runtime/tasks/kinds.hpp): good or defect per image, image AUROC
// monitored; early stopping and the best weights follow the autoencoder's validation loss, the
// part of the tool that training changes. Torch-free.
#include "runtime/tasks/kinds.hpp"

namespace trainyard {

const tool_kind_info& anomaly_kind() {
  static const tool_kind_info kind{"anomaly", "val_auroc", nullptr,
                                   /*confusion_matrix=*/false, /*boxes=*/false,
                                   training_recipe{}, /*image_labels=*/false,
                                   /*model_sizes=*/false, /*trains_on_gpu=*/true,
                                   /*stopping_metric=*/"val_loss", metric_goal::minimize};
  return kind;
}

}  // namespace trainyard
