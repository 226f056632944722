// The registry of tool kinds (kinds.hpp): the descriptors of the kinds in kind_list.hpp.
#include "runtime/tasks/kinds.hpp"

namespace trainyard {

// Each kind's descriptor, defined in runtime/tasks/<kind>/<kind>_kind.cpp.
#define TRAINYARD_KIND(name) const tool_kind_info& name##_kind();
#include "runtime/tasks/kind_list.hpp"
#undef TRAINYARD_KIND

const std::vector<const tool_kind_info*>& tool_kinds() {
#define TRAINYARD_KIND(name) &name##_kind(),
  static const std::vector<const tool_kind_info*> kinds{
#include "runtime/tasks/kind_list.hpp"
  };
#undef TRAINYARD_KIND
  return kinds;
}

const tool_kind_info* find_tool_kind(const std::string& name) {
  for (const tool_kind_info* kind : tool_kinds())
    if (kind->name == name)
      return kind;
  return nullptr;
}

bool reports_confusion_matrix(const std::string& kind) {
  const tool_kind_info* info = find_tool_kind(kind);
  return info && info->confusion_matrix;
}

std::pair<std::string, metric_goal> stopping_metric_of(const std::string& kind) {
  const tool_kind_info* info = find_tool_kind(kind);
  if (!info)
    return {"val_loss", metric_goal::minimize};
  if (info->stopping_metric.empty())
    return {info->monitored_metric, metric_goal::maximize};
  return {info->stopping_metric, info->stopping_goal};
}

bool trains_on_gpu(const std::string& kind) {
  const tool_kind_info* info = find_tool_kind(kind);
  return info && info->trains_on_gpu;
}

namespace {

std::string kind_names() {
  std::string known;
  for (const tool_kind_info* kind : tool_kinds())
    known += (known.empty() ? "" : ", ") + kind->name;
  return known;
}

}  // namespace

expected<const tool_kind_info*> kind_of(const tool_spec& tool) {
  if (const tool_kind_info* kind = find_tool_kind(tool.kind))
    return kind;
  return make_failure(error_code::invalid_config,
                      "tool " + tool.name + " is of kind " + tool.kind +
                        ", which this build does not know; kinds: " + kind_names());
}

std::optional<spec_problem> tool_kind_problem(const tool_spec& tool,
                                              const training_settings& settings,
                                              const dataset_spec* dataset) {
  const tool_kind_info* kind = find_tool_kind(tool.kind);
  if (!kind)
    return spec_problem{"tool", {"kind"},
                        "expected one of " + kind_names() + ", got '" + tool.kind + "'"};
  if (!kind->image_labels && settings.label_smoothing > 0)
    return spec_problem{"job", {"label_smoothing"},
                        "a " + kind->name + " tool has no image labels to smooth; remove "
                        "label_smoothing (or set 0) for this job"};
  if (!kind->model_sizes && tool.model != "normal")
    return spec_problem{"tool", {"model"},
                        "a " + kind->name + " tool has one network size; remove model (or set "
                        "normal): small, medium and large are classify's"};
  if (kind->check)
    return kind->check(tool, settings, dataset);
  return std::nullopt;
}

training_settings resolve_recipe(const tool_spec& tool, training_settings settings) {
  const tool_kind_info* kind = find_tool_kind(tool.kind);
  if (!kind)
    return settings;
  const training_recipe& r = kind->recipe;
  if (settings.optimizer == "auto")
    settings.optimizer = r.optimizer;
  if (settings.schedule == "auto")
    settings.schedule = r.schedule;
  const auto pick = [](double& value, double recipe) {
    if (value < 0)
      value = recipe;
  };
  pick(settings.weight_decay, r.weight_decay);
  pick(settings.warmup, r.warmup);
  pick(settings.label_smoothing, r.label_smoothing);
  pick(settings.weight_averaging, r.weight_averaging);
  pick(settings.learning_rate, r.learning_rate);
  return settings;
}

}  // namespace trainyard
