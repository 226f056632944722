// trainyard compare: named jobs of a workspace side by side: the settings in which they differ
// (only those), their state, best iteration, and validation and test metrics with the monitored
// one first; as a table or JSON, and optionally their validation curves on one chart. It reads
// the workspace's database only, like queue and evaluate: no scheduler is needed.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>

#include <nlohmann/json.hpp>

#include "config/campaign_keys.hpp"
#include "config/ini_text.hpp"
#include "nodes/commands.hpp"
#include "nodes/workspace_jobs.hpp"
#include "runtime/core/reports.hpp"
#include "runtime/train/images.hpp"

namespace trainyard {

namespace {

// The jobs `names` pick, in the order named, each once: by id, by name, or NAME@ for every
// variant a sweep made of job NAME (in the order they were submitted).
expected<std::vector<const job_record*>> pick_jobs(const workspace_jobs& ws,
                                                   const compare_options& options) {
  std::vector<const job_record*> picked;
  for (const std::string& name : options.jobs) {
    const bool variants = name.size() > 1 && name.back() == '@';
    const bool id = name.find_first_not_of("0123456789") == std::string::npos;
    bool found = false;
    for (const job_record& j : ws.jobs) {
      if (j.spec.name != name && !(id && std::to_string(j.id) == name) &&
          !(variants && j.spec.name.compare(0, name.size(), name) == 0))
        continue;
      found = true;
      if (std::find(picked.begin(), picked.end(), &j) == picked.end())
        picked.push_back(&j);
    }
    if (found)
      continue;
    std::vector<std::string> known;
    for (const job_record& j : ws.jobs)
      known.push_back(j.spec.name);
    return make_failure(error_code::unknown_job,
                        "no job '" + name + "' in workspace '" + options.workspace + "'" +
                          did_you_mean(name, known) +
                          (variants ? std::string(" (NAME@ names the variants a sweep made of "
                                                  "job NAME)")
                                    : std::string()) +
                          "; 'trainyard queue' lists the jobs");
  }
  return picked;
}

// A setting in which the jobs differ: its campaign key and each job's value.
struct setting_column {
  std::string key;
  std::vector<std::string> values;
};

// Every job has the same table of settings, so the k-th setting of each is the same key. The
// tool's name is left out: each sweep variant trains a tool of its own, named after the job.
std::vector<setting_column> differing_settings(const std::vector<const job_record*>& jobs) {
  std::vector<std::vector<std::pair<std::string, std::string>>> all;
  for (const job_record* j : jobs)
    all.push_back(campaign_settings(j->spec));
  std::vector<setting_column> out;
  for (std::size_t k = 0; k < all.front().size(); ++k) {
    if (all.front()[k].first == "tool")
      continue;
    setting_column column{all.front()[k].first, {}};
    for (const auto& settings : all)
      column.values.push_back(settings[k].second);
    if (std::adjacent_find(column.values.begin(), column.values.end(),
                           std::not_equal_to<>()) != column.values.end())
      out.push_back(std::move(column));
  }
  return out;
}

// The metrics shown: the monitored validation metric of each job's kind and its test twin first,
// then the other validation metrics any job has, then the other test metrics.
std::vector<std::string> metric_columns(const std::vector<const job_record*>& jobs) {
  std::vector<std::string> first, validation, test;
  const auto add = [](std::vector<std::string>& to, const std::string& name) {
    if (!name.empty() && std::find(to.begin(), to.end(), name) == to.end())
      to.push_back(name);
  };
  for (const job_record* j : jobs) {
    const std::string monitored = monitored_metric_of(j->spec.tool.kind);
    add(first, monitored);
    add(first, test_metric_of(monitored));
  }
  for (const job_record* j : jobs)
    for (const auto& [name, value] : j->final_metrics) {
      if (std::find(first.begin(), first.end(), name) != first.end())
        continue;
      if (name.rfind("val_", 0) == 0)
        add(validation, name);
      else if (name.rfind("test_", 0) == 0)
        add(test, name);
    }
  first.insert(first.end(), validation.begin(), validation.end());
  first.insert(first.end(), test.begin(), test.end());
  return first;
}

std::string metric_cell(const job_record& j, const std::string& name) {
  auto it = j.final_metrics.find(name);
  if (it == j.final_metrics.end() || !std::isfinite(it->second))
    return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.4f", it->second);
  return text;
}

// Columns padded to their widest cell: the job's name left-aligned, the rest right-aligned.
void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(rows.front().size(), 0);
  for (const auto& row : rows)
    for (std::size_t c = 0; c < row.size(); ++c)
      width[c] = std::max(width[c], row[c].size());
  for (const auto& row : rows) {
    std::string line = row[0] + std::string(width[0] - row[0].size(), ' ');
    for (std::size_t c = 1; c < row.size(); ++c)
      line += "  " + std::string(width[c] - row[c].size(), ' ') + row[c];
    std::printf("%s\n", line.c_str());
  }
}

// Each job's monitored validation metric by iteration, from the store's iteration reports.
expected<void> draw_curves(workspace_jobs& ws, const std::vector<const job_record*>& jobs,
                           const std::string& path) {
  std::vector<named_curve> curves;
  std::vector<std::string> metrics;
  for (const job_record* j : jobs) {
    auto reports = ws.db->load_iterations(j->id);
    if (!reports)
      return reports.error();
    named_curve curve{j->spec.name, {}, {}};
    for (const iteration_report& r : *reports) {
      curve.iterations.push_back(r.iteration);
      curve.values.push_back(r.monitored_value);
      if (std::find(metrics.begin(), metrics.end(), r.monitored_name) == metrics.end())
        metrics.push_back(r.monitored_name);
    }
    curves.push_back(std::move(curve));
  }
  if (metrics.empty())
    return make_failure(error_code::invalid_request,
                        "none of the jobs has finished an iteration, so there are no curves to "
                        "draw; leave out --png or compare jobs that trained");
  std::string label;
  for (const auto& m : metrics)
    label += (label.empty() ? "" : " / ") + m;
  return draw_curve_overlay(curves, "validation curves of " + std::to_string(jobs.size()) +
                                      " jobs", label, path);
}

nlohmann::json as_json(const std::vector<const job_record*>& jobs,
                       const std::vector<setting_column>& settings,
                       const std::vector<std::string>& metrics) {
  nlohmann::json out{{"settings", nlohmann::json::array()}, {"metrics", metrics},
                     {"jobs", nlohmann::json::array()}};
  for (const auto& s : settings)
    out["settings"].push_back(s.key);
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const job_record& j = *jobs[i];
    nlohmann::json one{{"id", j.id},
                       {"job", j.spec.name},
                       {"tool", j.spec.tool.name},
                       {"state", to_string(j.state)},
                       {"best_iteration", j.best_iteration},
                       {"trained_iterations", j.trained_iterations},
                       {"monitored", monitored_metric_of(j.spec.tool.kind)},
                       {"settings", nlohmann::json::object()},
                       {"metrics", nlohmann::json::object()}};
    for (const auto& s : settings)
      one["settings"][s.key] = s.values[i];
    for (const auto& m : metrics)
      if (auto it = j.final_metrics.find(m); it != j.final_metrics.end())
        one["metrics"][m] = it->second;
    out["jobs"].push_back(std::move(one));
  }
  return out;
}

}  // namespace

int compare_command(const compare_options& options) {
  auto ws = load_workspace_jobs(options.workspace);
  if (!ws)
    return print_failure(ws.error());
  auto jobs = pick_jobs(*ws, options);
  if (!jobs)
    return print_failure(jobs.error());
  const auto settings = differing_settings(*jobs);
  const auto metrics = metric_columns(*jobs);
  if (!options.png.empty())
    if (auto drawn = draw_curves(*ws, *jobs, options.png); !drawn)
      return print_failure(drawn.error());
  if (options.json) {
    auto out = as_json(*jobs, settings, metrics);
    if (!options.png.empty())
      out["png"] = options.png;
    std::cout << out.dump() << std::endl;
    return 0;
  }
  std::vector<std::vector<std::string>> rows(1, {"job"});
  for (const auto& s : settings)
    rows[0].push_back(s.key);
  rows[0].insert(rows[0].end(), {"state", "best"});
  rows[0].insert(rows[0].end(), metrics.begin(), metrics.end());
  for (std::size_t i = 0; i < jobs->size(); ++i) {
    const job_record& j = *(*jobs)[i];
    std::vector<std::string> row{j.spec.name};
    for (const auto& s : settings)
      row.push_back(s.values[i]);
    row.push_back(to_string(j.state));
    row.push_back(j.best_iteration > 0 ? std::to_string(j.best_iteration) : "-");
    for (const auto& m : metrics)
      row.push_back(metric_cell(j, m));
    rows.push_back(std::move(row));
  }
  print_table(rows);
  if (settings.empty() && jobs->size() > 1)
    std::printf("(the jobs have the same settings)\n");
  if (!options.png.empty())
    std::printf("curves: %s\n", options.png.c_str());
  return 0;
}

}  // namespace trainyard
