// The locate kind's descriptor (runtime/tasks/kinds.hpp): boxes from a COCO file, AP50
// monitored. Torch-free.
#include "runtime/tasks/kinds.hpp"

namespace trainyard {

namespace {

std::optional<spec_problem> check_locate(const tool_spec&, const training_settings& settings,
                                         const dataset_spec* dataset) {
  if (dataset && dataset->kind != dataset_kind::coco)
    return spec_problem{"tool", {"dataset"},
                        "a locate tool needs a coco dataset (boxes in a COCO file): dataset '" +
                          dataset->name + "' is " + to_string(dataset->kind) +
                          "; set its kind to coco and its annotations to the COCO file"};
  const augmentation_settings& a = settings.augmentation;
  if (a.rotation != 0 || a.shear != 0)
    return spec_problem{"job", {a.rotation != 0 ? "rotation" : "shear"},
                        "augmentation rotation and shear cannot keep boxes exact; set them to 0 "
                        "for locate tools"};
  return std::nullopt;
}

}  // namespace

const tool_kind_info& locate_kind() {
  // Adam with a cosine decay from the first step (the schedule its network was tuned with; at a
  // constant rate it levelled off lower).
  static const tool_kind_info kind{"locate", "val_ap50", check_locate,
                                   /*confusion_matrix=*/false, /*boxes=*/true,
                                   training_recipe{"adam", 0, "cosine", 0, 0, 0},
                                   /*image_labels=*/false, /*model_sizes=*/false,
                                   /*trains_on_gpu=*/true, /*stopping_metric=*/"",
                                   metric_goal::maximize};
  return kind;
}

}  // namespace trainyard
