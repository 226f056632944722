// JSON of the specs and reports (nlohmann::json, kept out of every header). Enums are written as
// their names; readers keep a field's default when it is absent, so older files still load, and
// refuse a field of the wrong type with its dotted path ("settings.augmentation.rotation").
// Doubles that are not finite (a diverged loss) are written as the strings "nan", "inf", "-inf".
#include "runtime/store/spec_json.hpp"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <type_traits>

#include "runtime/core/fields.hpp"
#include "runtime/store/json_reads.hpp"

namespace trainyard {

namespace {

using json = nlohmann::json;
using namespace json_reads;

json number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

// --- writers ------------------------------------------------------------------------------------

// The specs: written and read through their field tables (runtime/core/fields.hpp). Enums are
// written as their names; a reader also takes the names' aliases.

template <class Spec, std::enable_if_t<has_fields_v<Spec>, int> = 0>
json to_j(const Spec& x);

template <class T>
json field_value(const T& v, const field_def<T>& def) {
  if constexpr (has_fields_v<T>) {
    return to_j(v);
  } else if constexpr (std::is_enum_v<T>) {
    return name_of(*def.choices, v);
  } else if constexpr (std::is_floating_point_v<T>) {
    return number(v);
  } else {
    return v;
  }
}

template <class Spec, std::enable_if_t<has_fields_v<Spec>, int>>
json to_j(const Spec& x) {
  json j = json::object();
  fields_of(
      [&j](const char*, const auto&... defs) {
        ((j[defs.key] = field_value(*defs.value, defs)), ...);
      },
      x);
  return j;
}

json to_j(const metric_map& x) {
  json j = json::object();
  for (const auto& [key, value] : x) j[key] = number(value);
  return j;
}

json to_j(const probe_row& x) {
  return {{"batch_size", x.batch_size},
          {"train_images_per_s", number(x.train_images_per_s)},
          {"infer_images_per_s", number(x.infer_images_per_s)},
          {"peak_bytes", x.peak_bytes},
          {"fits", x.fits},
          {"note", x.note}};
}

json to_j(const probe_result& x) {
  json rows = json::array();
  for (const auto& row : x.rows) rows.push_back(to_j(row));
  return {{"rows", rows},
          {"train_batch_size", x.train_batch_size},
          {"inference_batch_size", x.inference_batch_size},
          {"budget_bytes", x.budget_bytes},
          {"margin", number(x.margin)}};
}

json to_j(const iteration_report& x) {
  return {{"job", x.job},
          {"tool", x.tool},
          {"iteration", x.iteration},
          {"target_iterations", x.target_iterations},
          {"metrics", to_j(x.metrics)},
          {"best_iteration", x.best_iteration},
          {"best_value", number(x.best_value)},
          {"patience_counter", x.patience_counter},
          {"batch_size", x.batch_size},
          {"monitored_name", x.monitored_name},
          {"monitored_value", number(x.monitored_value)},
          {"early_stop", x.early_stop},
          {"stop_reason", x.stop_reason}};
}

// --- readers ------------------------------------------------------------------------------------

template <class Spec, std::enable_if_t<has_fields_v<Spec>, int> = 0>
void from_j(const json& j, const std::string& where, Spec& x);

template <class T>
void read_field(const object_reader& r, const field_def<T>& def) {
  if constexpr (has_fields_v<T>) {
    r.object(def.key, *def.value,
             [](const json& v, const std::string& w, T& out) { from_j(v, w, out); });
  } else if constexpr (std::is_enum_v<T>) {
    const auto& choices = *def.choices;
    auto parse = [&choices](const std::string& text, T& out) {
      for (const auto& c : choices)
        if (text == c.name) {
          out = c.value;
          return true;
        }
      return false;
    };
    r.name(def.key, *def.value, parse, names_of(choices).c_str());
  } else {
    r.field(def.key, *def.value);
  }
}

template <class Spec, std::enable_if_t<has_fields_v<Spec>, int>>
void from_j(const json& j, const std::string& where, Spec& x) {
  object_reader r(j, where);
  fields([&r](const char*, auto... defs) { (read_field(r, defs), ...); }, x);
}

void from_j(const json& j, const std::string& where, metric_map& x) {
  if (!j.is_object()) {
    throw read_error((where.empty() ? std::string("the document") : where) +
                     ": expected an object of metric values, found " + type_of(j));
  }
  x.clear();
  for (auto it = j.begin(); it != j.end(); ++it) {
    double v = 0;
    read_value(it.value(), join(where, it.key()), v);
    x[it.key()] = v;
  }
}

void from_j(const json& j, const std::string& where, probe_row& x) {
  object_reader r(j, where);
  r.field("batch_size", x.batch_size);
  r.field("train_images_per_s", x.train_images_per_s);
  r.field("infer_images_per_s", x.infer_images_per_s);
  r.field("peak_bytes", x.peak_bytes);
  r.field("fits", x.fits);
  r.field("note", x.note);
}

void from_j(const json& j, const std::string& where, probe_result& x) {
  object_reader r(j, where);
  r.object("rows", x.rows, [](const json& v, const std::string& w, std::vector<probe_row>& rows) {
    if (!v.is_array()) throw read_error(w + ": expected an array, found " + type_of(v));
    rows.clear();
    for (std::size_t i = 0; i < v.size(); ++i) {
      probe_row row;
      from_j(v[i], w + "[" + std::to_string(i) + "]", row);
      rows.push_back(std::move(row));
    }
  });
  r.field("train_batch_size", x.train_batch_size);
  r.field("inference_batch_size", x.inference_batch_size);
  r.field("budget_bytes", x.budget_bytes);
  r.field("margin", x.margin);
}

void from_j(const json& j, const std::string& where, iteration_report& x) {
  object_reader r(j, where);
  r.field("job", x.job);
  r.field("tool", x.tool);
  r.field("iteration", x.iteration);
  r.field("target_iterations", x.target_iterations);
  r.object("metrics", x.metrics,
           [](const json& v, const std::string& w, metric_map& m) { from_j(v, w, m); });
  r.field("best_iteration", x.best_iteration);
  r.field("best_value", x.best_value);
  r.field("patience_counter", x.patience_counter);
  r.field("batch_size", x.batch_size);
  r.field("monitored_name", x.monitored_name);
  r.field("monitored_value", x.monitored_value);
  r.field("early_stop", x.early_stop);
  r.field("stop_reason", x.stop_reason);
  // Reports saved before the monitored metric was a field carried it as the "monitored" key.
  if (auto old = x.metrics.find("monitored"); old != x.metrics.end()) {
    if (x.monitored_name.empty()) x.monitored_value = old->second;
    x.metrics.erase(old);
  }
}

/// Parses `text` into a default-constructed T; any failure is storage_failed naming `what`.
template <class T>
expected<T> parse(const std::string& text, const char* what) {
  try {
    json j = json::parse(text);
    T out{};
    from_j(j, "", out);
    return out;
  } catch (const json::exception& e) {
    return make_failure(error_code::storage_failed,
                        std::string("cannot read the ") + what + " JSON: " + e.what());
  } catch (const read_error& e) {
    return make_failure(error_code::storage_failed,
                        std::string("cannot read the ") + what + " JSON: " + e.what());
  }
}

std::string dump(const json& j) {
  // Indented: the same text goes into settings.json and metrics.json, which people read.
  // Invalid UTF-8 in a name or path is replaced rather than thrown: writing must not fail.
  return j.dump(2, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::string to_json(const dataset_spec& x) { return dump(to_j(x)); }
std::string to_json(const split_spec& x) { return dump(to_j(x)); }
std::string to_json(const tool_spec& x) { return dump(to_j(x)); }
std::string to_json(const training_settings& x) { return dump(to_j(x)); }
std::string to_json(const job_spec& x) { return dump(to_j(x)); }
std::string to_json(const metric_map& x) { return dump(to_j(x)); }
std::string to_json(const probe_result& x) { return dump(to_j(x)); }
std::string to_json(const iteration_report& x) { return dump(to_j(x)); }

expected<dataset_spec> dataset_spec_from_json(const std::string& text) {
  return parse<dataset_spec>(text, "dataset spec");
}
expected<split_spec> split_spec_from_json(const std::string& text) {
  return parse<split_spec>(text, "split spec");
}
expected<tool_spec> tool_spec_from_json(const std::string& text) {
  return parse<tool_spec>(text, "tool spec");
}
expected<training_settings> training_settings_from_json(const std::string& text) {
  return parse<training_settings>(text, "training settings");
}
expected<job_spec> job_spec_from_json(const std::string& text) {
  return parse<job_spec>(text, "job spec");
}
expected<metric_map> metric_map_from_json(const std::string& text) {
  return parse<metric_map>(text, "metrics");
}
expected<probe_result> probe_result_from_json(const std::string& text) {
  return parse<probe_result>(text, "batch-size probe");
}
expected<iteration_report> iteration_report_from_json(const std::string& text) {
  return parse<iteration_report>(text, "iteration report");
}

}  // namespace trainyard
