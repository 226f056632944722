#include "runtime/core/reports.hpp"

#include <cstdio>

#include "runtime/tasks/kinds.hpp"

namespace trainyard {

std::string monitored_metric_of(const std::string& kind) {
  const tool_kind_info* info = find_tool_kind(kind);
  return info ? info->monitored_metric : "val_loss";
}

std::string test_metric_of(const std::string& monitored) {
  return monitored.rfind("val_", 0) == 0 ? "test_" + monitored.substr(4) : std::string{};
}

std::string metric_text(const std::string& name, double value) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), " %.4f", value);
  return name + buf;
}

}  // namespace trainyard
