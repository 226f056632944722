// How the device check reports: one JSON object (for the machine that reads the results) and
// readable tables on stderr (for the log). A small JSON writer of its own, since the GPU machine
// has no JSON library and the output is a handful of flat objects.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "runtime/core/reports.hpp"
#include "runtime/policy/batch_size_probe.hpp"  // format_bytes

namespace trainyard::device_check {

/// Builds one JSON object field by field, in the order given. Non-finite numbers become null.
class json_object {
 public:
  json_object& text(const std::string& key, const std::string& value);
  json_object& number(const std::string& key, double value);
  json_object& integer(const std::string& key, std::int64_t value);
  json_object& flag(const std::string& key, bool value);
  /// `json` is written as it is: an object or array built with these helpers.
  json_object& raw(const std::string& key, const std::string& json);
  /// The object, "{...}".
  std::string str() const;

 private:
  std::vector<std::string> fields_;
};

/// "[a,b,...]" of JSON values.
std::string json_array(const std::vector<std::string>& values);

/// `text` as a JSON string literal, quotes included.
std::string json_string(const std::string& text);

/// The probe's result as JSON: budget, margin, the choices and every row.
std::string probe_json(const probe_result& probe);

/// The probe's table, one row per size tried, with its choice below.
void print_probe_table(const probe_result& probe, std::ostream& out);

}  // namespace trainyard::device_check
