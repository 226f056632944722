// Fuzz target: the campaign reader (config/campaign.hpp) on any bytes. It must answer with a
// campaign or an error, never crash or hang.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "config/campaign.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  auto parsed = trainyard::parse_campaign(in, "fuzz.ini");
  (void)parsed;
  return 0;
}
