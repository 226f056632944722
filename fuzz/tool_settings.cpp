// Fuzz target: a tool folder's settings.json (tool_state_from_json in
// runtime/train/tool_files.hpp). It must answer with a tool state or an error; a state it reads
// is written back and must read again.
#include <cstddef>
#include <cstdint>
#include <string>

#include "runtime/train/tool_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto state = trainyard::tool_state_from_json(text, "settings.json");
  if (!state) return 0;
  auto again = trainyard::tool_state_from_json(trainyard::to_json(*state), "settings.json");
  if (!again) __builtin_trap();  // what the writer wrote, the reader must read
  return 0;
}
