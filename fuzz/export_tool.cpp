// Fuzz target: the deploy runtime's tool.json reader (trainyard::deploy::tool::open) on any bytes
// as tool.json, in a folder that holds no model. It must refuse with an error, never crash, and
// never open a tool without its network.
#include <cstddef>
#include <cstdint>
#include <string>

#include "deploy/trainyard_runtime.hpp"
#include "fuzz/fuzz_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& folder = trainyard::fuzz::scratch();
  folder.write("tool.json", data, size);
  std::string error;
  auto tool = trainyard::deploy::tool::open(folder.path().string(), error);
  if (tool || error.empty()) __builtin_trap();  // no model file: it must refuse, and say why
  return 0;
}
