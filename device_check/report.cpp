// JSON and tables of the device check (report.hpp).
#include "device_check/report.hpp"

#include <cmath>
#include <cstdio>
#include <iterator>

namespace trainyard::device_check {

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

json_object& json_object::text(const std::string& key, const std::string& value) {
  return raw(key, json_string(value));
}

json_object& json_object::number(const std::string& key, double value) {
  if (!std::isfinite(value))
    return raw(key, "null");
  char formatted[40];
  std::snprintf(formatted, sizeof formatted, "%.6g", value);
  return raw(key, formatted);
}

json_object& json_object::integer(const std::string& key, std::int64_t value) {
  return raw(key, std::to_string(value));
}

json_object& json_object::flag(const std::string& key, bool value) {
  return raw(key, value ? "true" : "false");
}

json_object& json_object::raw(const std::string& key, const std::string& json) {
  fields_.push_back(json_string(key) + ":" + json);
  return *this;
}

std::string json_object::str() const {
  std::string out = "{";
  for (std::size_t i = 0; i < fields_.size(); ++i)
    out += (i ? "," : "") + fields_[i];
  return out + "}";
}

std::string json_array(const std::vector<std::string>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i)
    out += (i ? "," : "") + values[i];
  return out + "]";
}

std::string probe_json(const probe_result& probe) {
  std::vector<std::string> rows;
  for (const probe_row& row : probe.rows)
    rows.push_back(json_object()
                       .integer("batch_size", row.batch_size)
                       .number("train_images_per_s", row.train_images_per_s)
                       .number("infer_images_per_s", row.infer_images_per_s)
                       .integer("peak_bytes", static_cast<std::int64_t>(row.peak_bytes))
                       .flag("fits", row.fits)
                       .text("note", row.note)
                       .str());
  return json_object()
      .integer("budget_bytes", static_cast<std::int64_t>(probe.budget_bytes))
      .number("margin", probe.margin)
      .integer("train_batch_size", probe.train_batch_size)
      .integer("inference_batch_size", probe.inference_batch_size)
      .raw("rows", json_array(rows))
      .str();
}

void print_probe_table(const probe_result& probe, std::ostream& out) {
  out << "batch-size probe: budget " << format_bytes(probe.budget_bytes) << ", margin "
      << static_cast<int>(probe.margin * 100 + 0.5) << "%\n";
  char line[160];
  std::snprintf(line, sizeof line, "  %6s %14s %14s %12s %5s  %s\n", "size", "train img/s",
                "infer img/s", "peak", "fits", "note");
  out << line;
  for (const probe_row& row : probe.rows) {
    std::snprintf(line, sizeof line, "  %6d %14.0f %14.0f %12s %5s  ", row.batch_size,
                  row.train_images_per_s, row.infer_images_per_s,
                  format_bytes(row.peak_bytes).c_str(), row.fits ? "yes" : "no");
    out << line << row.note << "\n";
  }
  out << "  chosen: training " << probe.train_batch_size << ", inference "
      << probe.inference_batch_size << "\n";
}

}  // namespace trainyard::device_check
