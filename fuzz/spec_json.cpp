// Fuzz target: the JSON of specs and reports (runtime/store/spec_json.hpp), as the SQLite store
// and a tool folder's settings.json, metrics.json and probe.json hold it. Every parser reads the
// same bytes; each must answer with a value or an error. A value is written back and read again.
#include <cstddef>
#include <cstdint>
#include <string>

#include "runtime/store/spec_json.hpp"

namespace {

// Parses `text`, and when it parses, checks that its JSON reads back.
template <class Parse>
void read_and_round_trip(const std::string& text, Parse parse) {
  auto value = parse(text);
  if (!value) return;
  auto again = parse(trainyard::to_json(*value));
  if (!again) __builtin_trap();  // what the writer wrote, the reader must read
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace trainyard;
  const std::string text(reinterpret_cast<const char*>(data), size);
  read_and_round_trip(text, dataset_spec_from_json);
  read_and_round_trip(text, split_spec_from_json);
  read_and_round_trip(text, tool_spec_from_json);
  read_and_round_trip(text, training_settings_from_json);
  read_and_round_trip(text, job_spec_from_json);
  read_and_round_trip(text, metric_map_from_json);
  read_and_round_trip(text, probe_result_from_json);
  read_and_round_trip(text, iteration_report_from_json);
  return 0;
}
