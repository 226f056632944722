// The locate kind's descriptor (runtime/tasks/kinds.hpp): boxes from a COCO file, AP50
// monitored. Torch-free.
#include "runtime/tasks/kinds.hpp"

namespace trainyard {

namespace {

expected<void> check_locate(const tool_spec& tool, const training_settings& settings) {
  const augmentation_settings& a = settings.augmentation;
  if (a.rotation != 0 || a.shear != 0)
    return make_failure(error_code::invalid_config,
                        "tool " + tool.name + ": augmentation rotation and shear cannot keep "
                        "boxes exact; set them to 0 for locate tools");
  return {};
}

}  // namespace

const tool_kind_info& locate_kind() {
  static const tool_kind_info kind{"locate", "val_ap50", check_locate,
                                   /*confusion_matrix=*/false, /*boxes=*/true};
  return kind;
}

}  // namespace trainyard
