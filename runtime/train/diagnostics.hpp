// Torch-free entry points for tests: reading the weights a tool saved. Not part of the
// runtime's public face (engine.hpp); nothing else should call these.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "runtime/core/error.hpp"
#include "runtime/core/specs.hpp"

namespace trainyard {

/// Raw bytes of every parameter and buffer of a weights file the engine wrote (best.pt), by
/// dotted name ("conv1.weight", "norm1.running_mean"): two runs are bit-identical when these are.
expected<std::map<std::string, std::string>> read_weight_bytes(const std::string& path);

}  // namespace trainyard
