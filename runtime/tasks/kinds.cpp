// The registry of tool kinds (kinds.hpp): one line per kind.
#include "runtime/tasks/kinds.hpp"

namespace trainyard {

// Each kind's descriptor, defined in runtime/tasks/<kind>/<kind>_kind.cpp.
const tool_kind_info& classify_kind();
const tool_kind_info& locate_kind();
const tool_kind_info& segment_kind();
const tool_kind_info& anomaly_kind();

const std::vector<const tool_kind_info*>& tool_kinds() {
  static const std::vector<const tool_kind_info*> kinds{
      &classify_kind(),
      &locate_kind(),
      &segment_kind(),
      &anomaly_kind(),
  };
  return kinds;
}

const tool_kind_info* find_tool_kind(const std::string& name) {
  for (const tool_kind_info* kind : tool_kinds())
    if (kind->name == name)
      return kind;
  return nullptr;
}

expected<const tool_kind_info*> kind_of(const tool_spec& tool) {
  const std::string name = to_string(tool.kind);
  if (const tool_kind_info* kind = find_tool_kind(name))
    return kind;
  std::string known;
  for (const tool_kind_info* kind : tool_kinds())
    known += (known.empty() ? "" : ", ") + kind->name;
  return make_failure(error_code::invalid_config, "tool " + tool.name + " is of kind " + name +
                                                      ", which this build does not know; kinds: " +
                                                      known);
}

expected<void> check_tool_kind(const tool_spec& tool, const training_settings& settings) {
  auto kind = kind_of(tool);
  if (!kind)
    return kind.error();
  if ((*kind)->check)
    return (*kind)->check(tool, settings);
  return {};
}

}  // namespace trainyard
