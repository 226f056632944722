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
  if (kind->check)
    return kind->check(tool, settings, dataset);
  return std::nullopt;
}

}  // namespace trainyard
