// Kinds whose runtime is not written yet: opening their export folders says so.
#include "deploy/kind_runtime.hpp"

namespace trainyard::deploy {

namespace {

std::unique_ptr<kind_runtime> not_yet(const tool_description& tool, std::string& error) {
  error = "this trainyard_runtime does not run " + tool.info.kind + " tools yet";
  return nullptr;
}

}  // namespace

std::unique_ptr<kind_runtime> make_segment_runtime(const tool_description& tool,
                                                   std::string& error) {
  return not_yet(tool, error);
}

}  // namespace trainyard::deploy
