// JSON of the specs and reports, for the SQLite store and the tool folder's settings.json,
// metrics.json and probe.json. nlohmann::json is included in the .cpp only.
#pragma once

#include <string>

#include "runtime/core/error.hpp"
#include "runtime/core/reports.hpp"
#include "runtime/core/specs.hpp"

namespace trainyard {

std::string to_json(const dataset_spec& x);
std::string to_json(const split_spec& x);
std::string to_json(const tool_spec& x);
std::string to_json(const training_settings& x);
std::string to_json(const job_spec& x);
std::string to_json(const metric_map& x);
std::string to_json(const probe_result& x);
std::string to_json(const iteration_report& x);

/// Parsers: storage_failed naming what could not be read. Missing fields keep their defaults,
/// so files written by older versions still load.
expected<dataset_spec> dataset_spec_from_json(const std::string& text);
expected<split_spec> split_spec_from_json(const std::string& text);
expected<tool_spec> tool_spec_from_json(const std::string& text);
expected<training_settings> training_settings_from_json(const std::string& text);
expected<job_spec> job_spec_from_json(const std::string& text);
expected<metric_map> metric_map_from_json(const std::string& text);
expected<probe_result> probe_result_from_json(const std::string& text);
expected<iteration_report> iteration_report_from_json(const std::string& text);

}  // namespace trainyard
