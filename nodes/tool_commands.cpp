// evaluate, predict and queue: read the workspace directly (no actors needed). compare lives in
// compare_command.cpp.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>

#include <glob.h>

#include <nlohmann/json.hpp>

#include "nodes/commands.hpp"
#include "nodes/workspace_jobs.hpp"
#include "runtime/data/dataset_readers.hpp"
#include "runtime/data/splits.hpp"
#include "runtime/store/store.hpp"
#include "runtime/tasks/kinds.hpp"
#include "runtime/train/engine.hpp"

namespace trainyard {

namespace {

expected<std::unique_ptr<store>> open_workspace(const std::string& workspace) {
  auto path = workspace + "/trainyard.db";
  if (!std::filesystem::exists(path))
    return make_failure(error_code::storage_failed,
                        "no workspace at '" + workspace + "' (no trainyard.db there); pass the "
                        "folder a campaign ran in with --workspace");
  return store::open(path);
}

}  // namespace

expected<workspace_jobs> load_workspace_jobs(const std::string& workspace) {
  auto db = open_workspace(workspace);
  if (!db)
    return db.error();
  auto jobs = (*db)->load_jobs();
  if (!jobs)
    return jobs.error();
  return workspace_jobs{std::move(*db), std::move(*jobs)};
}

int print_failure(const failure& f) {
  std::cerr << "trainyard: " << f.message << std::endl;
  return exit_code_of(f.code);
}

void print_evaluation(const std::string& tool, const std::string& set, const evaluation& e,
                      bool json) {
  if (json) {
    nlohmann::json j;
    j["tool"] = tool;
    j["kind"] = e.kind;
    j["set"] = set;
    j["images"] = e.images;
    j["metrics"] = e.metrics;
    j["class_names"] = e.class_names;
    if (reports_confusion_matrix(e.kind)) {
      j["accuracy"] = e.accuracy;
      j["per_class_accuracy"] = e.per_class_accuracy;
      j["per_class_precision"] = e.per_class_precision;
      j["per_class_f1"] = e.per_class_f1;
      j["confusion"] = e.confusion;
    }
    std::cout << j.dump() << std::endl;
    return;
  }
  // A score as a cell: "-" where undefined.
  const auto cell = [](const std::vector<double>& v, std::size_t c) {
    char text[16] = "        -";
    if (c < v.size() && !std::isnan(v[c]))
      std::snprintf(text, sizeof text, "%9.4f", v[c]);
    return std::string(text);
  };
  if (!reports_confusion_matrix(e.kind)) {
    std::printf("%s (%s) on the %s set, %lld images\n", tool.c_str(), e.kind.c_str(),
                set.c_str(), static_cast<long long>(e.images));
    // Per-label precision, recall and F1 (segment: of pixels, locate: of boxes) as a table.
    const auto score = [&e](const std::string& name) {
      const auto it = e.metrics.find(name);
      return it != e.metrics.end() ? it->second : std::nan("");
    };
    std::set<std::string> tabled;
    if (e.metrics.count("macro_f1")) {
      std::printf("  %-14s %9s %9s %9s\n", "label", "precision", "recall", "F1");
      for (const auto& label : e.class_names) {
        std::vector<double> row;
        for (const char* part : {"precision_", "recall_", "f1_"}) {
          row.push_back(score(part + label));
          tabled.insert(part + label);
        }
        if (std::isnan(row[0]) && std::isnan(row[1]))
          continue;  // segment's background, a label absent from the set
        std::printf("  %-14s %s %s %s\n", label.c_str(), cell(row, 0).c_str(),
                    cell(row, 1).c_str(), cell(row, 2).c_str());
      }
      const std::vector<double> macro{score("macro_precision"), score("macro_recall"),
                                      score("macro_f1")};
      std::printf("  %-14s %s %s %s\n", "macro mean", cell(macro, 0).c_str(),
                  cell(macro, 1).c_str(), cell(macro, 2).c_str());
      tabled.insert({"macro_precision", "macro_recall", "macro_f1"});
    }
    for (const auto& [name, value] : e.metrics)
      if (!tabled.count(name))
        std::printf("  %-24s %9.4f\n", name.c_str(), value);
    return;
  }
  std::printf("%s on the %s set: accuracy %.4f (%lld images)\n", tool.c_str(), set.c_str(),
              e.accuracy, static_cast<long long>(e.images));
  if (e.per_class_accuracy.empty() && e.confusion.empty()) {
    // What a job reported: its metrics, without the per-class figures `evaluate` computes.
    for (const auto& [name, value] : e.metrics)
      if (name != "accuracy")
        std::printf("  %-24s %9.4f\n", name.c_str(), value);
    return;
  }
  // A class's accuracy is its recall: the share of its images named right.
  std::printf("  %-14s %9s %9s %9s\n", "class", "accuracy", "precision", "F1");
  for (std::size_t c = 0; c < e.class_names.size() && c < e.per_class_accuracy.size(); ++c)
    if (std::isnan(e.per_class_accuracy[c]))
      std::printf("  %-14s  no images in this set\n", e.class_names[c].c_str());
    else
      std::printf("  %-14s %9.4f %s %s\n", e.class_names[c].c_str(), e.per_class_accuracy[c],
                  cell(e.per_class_precision, c).c_str(), cell(e.per_class_f1, c).c_str());
  const auto macro = [&e](const char* name) {
    const auto it = e.metrics.find(name);
    return std::vector<double>{it != e.metrics.end() ? it->second : std::nan("")};
  };
  std::printf("  %-14s %s %s %s\n", "macro mean", cell(macro("macro_recall"), 0).c_str(),
              cell(macro("macro_precision"), 0).c_str(), cell(macro("macro_f1"), 0).c_str());
  std::printf("  confusion matrix (rows: true class, columns: predicted)\n");
  for (std::size_t r = 0; r < e.confusion.size(); ++r) {
    std::printf("  %-14s", r < e.class_names.size() ? e.class_names[r].c_str() : "?");
    for (auto n : e.confusion[r])
      std::printf(" %5lld", static_cast<long long>(n));
    std::printf("\n");
  }
}

int evaluate_command(const evaluate_options& options) {
  auto ws = load_workspace_jobs(options.workspace);
  if (!ws)
    return print_failure(ws.error());
  auto& db = ws->db;
  auto* jobs = &ws->jobs;
  // The tool's split is the one its (latest) training job used.
  const job_record* trained = nullptr;
  for (const auto& j : *jobs)
    if (j.spec.tool.name == options.tool && j.trained_iterations > 0 &&
        (!trained || j.run_order > trained->run_order))
      trained = &j;
  if (!trained)
    return print_failure(make_failure(error_code::unknown_tool,
                                      "no trained tool named '" + options.tool +
                                        "' in workspace '" + options.workspace +
                                        "' (see 'trainyard queue')"));
  auto split = db->load_split(trained->spec.split);
  if (!split)
    return print_failure(split.error());
  if (!*split)
    return print_failure(make_failure(error_code::unknown_split,
                                      "split '" + trained->spec.split +
                                        "' is missing from the workspace"));
  auto datasets = db->load_datasets();
  if (!datasets)
    return print_failure(datasets.error());
  auto ds = std::find_if(datasets->begin(), datasets->end(),
                         [&](const dataset_spec& d) { return d.name == (*split)->spec.dataset; });
  if (ds == datasets->end())
    return print_failure(make_failure(error_code::unknown_dataset,
                                      "dataset '" + (*split)->spec.dataset +
                                        "' is missing from the workspace"));
  auto set = options.set == "train"        ? train_set
             : options.set == "validation" ? validation_set
                                           : test_set;
  // An empty set has no metrics: printing zeros would read as a result.
  if (images_in((*split)->assignment, set).empty())
    return print_failure(make_failure(
      error_code::invalid_request,
      "split '" + trained->spec.split + "' of tool '" + options.tool + "' has no " +
        options.set + " images, so there is nothing to evaluate; evaluate another set (--split " +
        (set == test_set ? "validation" : "test") + ")"));
  auto e = evaluate_tool(options.workspace, options.tool, *ds, (*split)->assignment, set);
  if (!e)
    return print_failure(e.error());
  print_evaluation(options.tool, options.set, *e, options.json);
  return 0;
}

namespace {

namespace fs = std::filesystem;

// The files a glob pattern (`*`, `?`, `[...]`) matches, in path order; an error when none.
expected<std::vector<std::string>> files_matching(const std::string& pattern) {
  glob_t found{};
  const int status = ::glob(pattern.c_str(), 0, nullptr, &found);
  std::vector<std::string> out;
  for (std::size_t i = 0; status == 0 && i < found.gl_pathc; ++i)
    if (fs::is_regular_file(found.gl_pathv[i]))
      out.emplace_back(found.gl_pathv[i]);
  globfree(&found);
  if (out.empty())
    return make_failure(error_code::invalid_request,
                        "no image files match " + pattern + "; check the pattern (quote it so "
                        "the shell passes it on)");
  return out;
}

// The images a predict names: a file stands for itself, a folder for the image files below it
// (png, jpg, jpeg, bmp; hidden ones skipped), in path order; a pattern with *, ? or [ that is
// not a file's name for the files it matches, in path order. A folder without images or a
// pattern matching nothing is an error.
expected<std::vector<std::string>> images_named(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (const std::string& arg : args) {
    std::error_code ec;
    if (arg.find_first_of("*?[") != std::string::npos && !fs::exists(arg, ec)) {
      auto matched = files_matching(arg);
      if (!matched)
        return matched.error();
      out.insert(out.end(), matched->begin(), matched->end());
      continue;
    }
    if (!fs::is_directory(arg, ec)) {
      out.push_back(arg);
      continue;
    }
    std::vector<std::string> found;
    for (auto it = fs::recursive_directory_iterator(arg, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
      if (it->is_regular_file() && !is_hidden(it->path()) && is_image_file(it->path()))
        found.push_back(it->path().string());
    if (ec)
      return make_failure(error_code::dataset_unreadable,
                          "cannot list the folder " + arg + ": " + ec.message());
    if (found.empty())
      return make_failure(error_code::invalid_request,
                          "the folder " + arg + " holds no images (png, jpg, jpeg or bmp files)");
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos)
    return text;
  std::string quoted = "\"";
  for (char c : text)
    quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

// Predictions as CSV on stdout: a header, then a row per image in the order given; an image that
// could not be predicted has its error and empty other fields. Boxes: "x y width height label
// score" each, separated by ";"; files by ";".
void print_predictions_csv(const std::vector<prediction>& predictions) {
  std::printf("image,label,label_name,score,boxes,files,error\n");
  for (const prediction& p : predictions) {
    if (!p.error.empty()) {
      std::printf("%s,,,,,,%s\n", csv_field(p.image).c_str(), csv_field(p.error).c_str());
      continue;
    }
    std::string boxes, files;
    char one[160];
    for (const scored_box& b : p.boxes) {
      std::snprintf(one, sizeof one, "%s%.1f %.1f %.1f %.1f %d %.4f", boxes.empty() ? "" : ";",
                    b.b.x, b.b.y, b.b.width, b.b.height, b.b.label, b.score);
      boxes += one;
    }
    for (const std::string& f : p.files)
      files += (files.empty() ? "" : ";") + f;
    std::printf("%s,%d,%s,%.6f,%s,%s,\n", csv_field(p.image).c_str(), p.label,
                csv_field(p.label_name).c_str(), p.score, csv_field(boxes).c_str(),
                csv_field(files).c_str());
  }
}

}  // namespace

int predict_command(const predict_options& options) {
  auto images = images_named(options.images);
  if (!images)
    return print_failure(images.error());
  auto predictions = options.runtime == "onnx"
                         ? predict_with_runtime(options, *images)
                         : predict_images(options.workspace, options.tool, *images);
  if (!predictions)
    return print_failure(predictions.error());
  // An image that could not be predicted is said (and makes the exit code 1); the others are
  // predicted all the same.
  int exit_code = 0;
  for (const auto& p : *predictions)
    if (!p.error.empty()) {
      std::cerr << "trainyard predict: " << p.error << std::endl;
      exit_code = 1;
    }
  if (options.csv) {
    print_predictions_csv(*predictions);
    return exit_code;
  }
  if (options.json) {
    auto j = nlohmann::json::array();
    for (const auto& p : *predictions) {
      if (!p.error.empty()) {
        j.push_back({{"image", p.image}, {"error", p.error}});
        continue;
      }
      nlohmann::json one{{"image", p.image}, {"label", p.label}, {"label_name", p.label_name},
                         {"score", p.score}, {"files", p.files}};
      if (!p.boxes.empty() || p.label_name == "(no objects)") {
        auto boxes = nlohmann::json::array();
        for (const scored_box& b : p.boxes)
          boxes.push_back({{"label", b.b.label}, {"bbox", {b.b.x, b.b.y, b.b.width, b.b.height}},
                           {"score", b.score}});
        one["boxes"] = boxes;
      }
      j.push_back(one);
    }
    std::cout << j.dump() << std::endl;
    return exit_code;
  }
  for (const auto& p : *predictions) {
    if (!p.error.empty())
      continue;  // said on stderr
    std::printf("%s\t%s\t%.4f", p.image.c_str(), p.label_name.c_str(), p.score);
    for (const std::string& f : p.files)
      std::printf("\t%s", f.c_str());
    std::printf("\n");
  }
  return exit_code;
}

int queue_command(const queue_options& options) {
  auto ws = load_workspace_jobs(options.workspace);
  if (!ws)
    return print_failure(ws.error());
  auto* jobs = &ws->jobs;
  // Queued jobs in queue order first, then the others in the order they ran.
  std::stable_sort(jobs->begin(), jobs->end(), [](const job_record& a, const job_record& b) {
    auto key = [](const job_record& j) {
      return j.state == job_state::queued ? std::make_pair(0, j.queue_position)
                                          : std::make_pair(j.run_order > 0 ? 1 : 2, j.run_order);
    };
    return key(a) < key(b);
  });
  // The store keeps sort keys; users see 0-based queue positions.
  std::int64_t next_position = 0;
  for (auto& r : *jobs)
    r.queue_position = r.state == job_state::queued ? next_position++ : -1;
  if (options.json) {
    auto j = nlohmann::json::array();
    for (const auto& r : *jobs)
      j.push_back({{"id", r.id}, {"name", r.spec.name}, {"tool", r.spec.tool.name},
                   {"split", r.spec.split}, {"state", to_string(r.state)},
                   {"queue_position", r.queue_position}, {"run_order", r.run_order},
                   {"trained_iterations", r.trained_iterations},
                   {"best_iteration", r.best_iteration}, {"batch_size", r.batch_size},
                   {"final_metrics", r.final_metrics}, {"message", r.message},
                   {"error", to_string(r.error)}});
    std::cout << j.dump() << std::endl;
    return 0;
  }
  const int name_width = column_width(*jobs, 18, [](const job_record& r) { return r.spec.name; });
  const int tool_width =
    column_width(*jobs, 14, [](const job_record& r) { return r.spec.tool.name; });
  std::printf("%4s  %-*s %-*s %-10s %5s %4s %6s %6s  %-20s  %s\n", "id", name_width, "job",
              tool_width, "tool", "state", "queue", "ran", "iters", "batch", "test (monitored)",
              "message");
  for (const auto& r : *jobs) {
    // The test-set twin of the metric the tool's kind monitors: test_accuracy, test_ap50, ...
    const std::string test_metric = test_metric_of(monitored_metric_of(r.spec.tool.kind));
    auto test = r.final_metrics.find(test_metric);
    std::printf("%4llu  %-*s %-*s %-10s %5s %4s %6d %6d  %-20s  %s\n",
                static_cast<unsigned long long>(r.id), name_width, r.spec.name.c_str(),
                tool_width, r.spec.tool.name.c_str(), to_string(r.state),
                r.queue_position >= 0 ? std::to_string(r.queue_position + 1).c_str() : "-",
                r.run_order > 0 ? std::to_string(r.run_order).c_str() : "-", r.trained_iterations,
                r.batch_size,
                test != r.final_metrics.end() ? metric_text(test_metric, test->second).c_str()
                                              : "-",
                r.message.c_str());
  }
  return 0;
}

}  // namespace trainyard
