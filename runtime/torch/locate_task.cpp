// The locate tool's place in the engine: the hook its model, loss, decoding and metrics plug into
// once they are merged (they are written apart, with their own API, and not wired yet).
//
// What wiring takes (a locate_task : tool_task in this file):
//   targets     read_coco(dataset.annotations, dataset.path) boxes for the images of the set,
//               scaled to the tool's input size; labels = image has a box.
//   batch_loss  the locate model's forward on training_batch(...) and its loss against the
//               batch's boxes (geometric augmentation must move boxes too: until then refuse
//               rotation and shear in validate(), as DESIGN.md says).
//   evaluate    decode + NMS (tool.detection_threshold, tool.max_objects), then AP, AP50,
//               per-label AP, best F1; monitored metric "val_ap50".
//   predict     boxes per image (scored_box), label_name = best box's label, score = its score;
//               optionally an overlay PNG with the boxes drawn.
//   model/clone as the other tasks (a Cloneable module).
// Until then a locate tool fails at once with a message saying so.
#include "runtime/torch/tool_task.hpp"

namespace trainyard {

expected<std::unique_ptr<tool_task>> make_locate_task(const task_setup& setup) {
  return make_failure(error_code::invalid_config,
                      "tool " + setup.tool.name +
                          " is a locate tool, which this build cannot train yet; use a classify, "
                          "segment or anomaly tool");
}

}  // namespace trainyard
