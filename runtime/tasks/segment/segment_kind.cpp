// The segment kind's descriptor (runtime/tasks/kinds.hpp): a label per pixel from a label table,
// mean IoU monitored. Torch-free.
#include "runtime/tasks/kinds.hpp"

namespace trainyard {

namespace {

expected<void> check_segment(const tool_spec& tool, const training_settings&) {
  if (tool.input_width < 8 || tool.input_height < 8)
    return make_failure(error_code::invalid_config,
                        "tool " + tool.name + ": a segment tool needs input_width and "
                        "input_height of at least 8 pixels (its U-Net halves the image three "
                        "times); raise them");
  return {};
}

}  // namespace

const tool_kind_info& segment_kind() {
  static const tool_kind_info kind{"segment", "val_mean_iou", check_segment,
                                   /*confusion_matrix=*/false, /*boxes=*/false};
  return kind;
}

}  // namespace trainyard
