// The segment kind's descriptor (runtime/tasks/kinds.hpp): a label per pixel from a label table,
// mean IoU monitored. Torch-free.
#include "runtime/tasks/kinds.hpp"

namespace trainyard {

namespace {

std::optional<spec_problem> check_segment(const tool_spec& tool, const training_settings&,
                                          const dataset_spec* dataset) {
  if (tool.input_width < 8 || tool.input_height < 8)
    return spec_problem{"tool", {"input_width", "input_height"},
                        "a segment tool needs width and height of at least 8 pixels (its "
                        "U-Net halves the image three times); raise them"};
  if (dataset && (dataset->annotations.empty() || dataset->masks.empty()))
    return spec_problem{"tool", {"dataset"},
                        "a segment tool needs a dataset with label masks: dataset '" +
                          dataset->name + "' must name its label table (annotations) and "
                          "mask folder (masks)"};
  return std::nullopt;
}

}  // namespace

const tool_kind_info& segment_kind() {
  // Adam with a cosine decay from the first step (the schedule its network was tuned with; at a
  // constant rate it levelled off lower).
  static const tool_kind_info kind{"segment", "val_mean_iou", check_segment,
                                   /*confusion_matrix=*/false, /*boxes=*/false,
                                   training_recipe{"adam", 0, "cosine", 0, 0, 0},
                                   /*image_labels=*/false, /*model_sizes=*/false,
                                   /*trains_on_gpu=*/true, /*stopping_metric=*/"",
                                   metric_goal::maximize};
  return kind;
}

}  // namespace trainyard
