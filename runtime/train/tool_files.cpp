// Tool folder text files (see tool_files.hpp), and where a tool's folder is (tool_folder,
// engine.hpp). Specs inside settings.json are written by spec_json's functions, so settings.json
// nests exactly what the store keeps.
#include "runtime/train/tool_files.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include <nlohmann/json.hpp>

#include "runtime/store/json_reads.hpp"
#include "runtime/store/spec_json.hpp"
#include "runtime/train/engine.hpp"

namespace trainyard {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string to_json(const tool_state& r) {
  json j;
  j["tool"] = json::parse(trainyard::to_json(r.tool));
  j["dataset"] = json::parse(trainyard::to_json(r.dataset));
  j["split"] = r.split;
  j["job"] = r.job_name;
  j["job_id"] = r.job;
  j["training"] = json::parse(trainyard::to_json(r.training));
  j["class_names"] = r.class_names;
  j["channels"] = r.channels;
  j["normalization"] = {{"mean", r.norm.mean}, {"std", r.norm.std}};
  j["batch_size"] = r.batch_size;
  j["inference_batch_size"] = r.inference_batch_size;
  j["threads"] = r.threads;
  j["trained_iterations"] = r.completed;
  j["best_iteration"] = r.stopping.best_iteration;
  return j.dump(2) + "\n";
}

expected<tool_state> tool_state_from_json(const std::string& text, const std::string& origin) {
  const auto bad = [&origin](const std::string& what) {
    return make_failure(error_code::storage_failed,
                        origin + " is malformed (" + what +
                            "); train the tool again to rewrite it");
  };
  try {
    const json j = json::parse(text);
    tool_state r;
    auto tool = tool_spec_from_json(j.at("tool").dump());
    if (!tool)
      return bad(tool.error().message);
    r.tool = *tool;
    auto dataset = dataset_spec_from_json(j.at("dataset").dump());
    if (!dataset)
      return bad(dataset.error().message);
    r.dataset = *dataset;
    if (j.contains("training")) {
      auto training = training_settings_from_json(j.at("training").dump());
      if (!training)
        return bad(training.error().message);
      r.training = *training;
    }
    // Numbers are read through json_reads, which refuses what does not fit the field.
    const json_reads::object_reader fields(j, "");
    fields.field("split", r.split);
    fields.field("job", r.job_name);
    fields.field("job_id", r.job);
    r.class_names = j.at("class_names").get<std::vector<std::string>>();
    if (!j.contains("channels"))
      return bad("no channels");
    fields.field("channels", r.channels);
    r.norm.mean = j.at("normalization").at("mean").get<std::vector<double>>();
    r.norm.std = j.at("normalization").at("std").get<std::vector<double>>();
    fields.field("batch_size", r.batch_size);
    fields.field("inference_batch_size", r.inference_batch_size);
    fields.field("threads", r.threads);
    fields.field("trained_iterations", r.completed);
    fields.field("best_iteration", r.stopping.best_iteration);
    if (r.channels != 1 && r.channels != 3)
      return bad("channels must be 1 or 3");
    if (r.norm.mean.size() != static_cast<std::size_t>(r.channels) ||
        r.norm.std.size() != r.norm.mean.size())
      return bad("normalization needs one mean and std per channel");
    if (r.class_names.empty())
      return bad("no class names");
    return r;
  } catch (const json::exception& e) {
    return bad(e.what());
  } catch (const json_reads::read_error& e) {
    return bad(e.what());
  }
}

std::string metrics_csv(const std::vector<metrics_row>& rows) {
  std::ostringstream out;
  out << "iteration,train_loss,val_loss";
  std::vector<std::string> names;
  if (!rows.empty())
    for (const auto& [name, value] : rows.front().validation)
      names.push_back(name);
  for (const std::string& name : names)
    out << ',' << name;
  out << ",images_per_s,seconds,batch_size\n";
  char field[64];
  for (const metrics_row& r : rows) {
    // Enough digits to tell iterations apart; the exact values live in the checkpoint.
    std::snprintf(field, sizeof field, "%d,%.6f,%.6f", r.iteration, r.train_loss, r.val_loss);
    out << field;
    for (const std::string& name : names) {
      const auto it = r.validation.find(name);
      std::snprintf(field, sizeof field, ",%.6f", it == r.validation.end() ? 0.0 : it->second);
      out << field;
    }
    std::snprintf(field, sizeof field, ",%.1f,%.3f,%d\n", r.images_per_s, r.seconds, r.batch_size);
    out << field;
  }
  return out.str();
}


expected<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return make_failure(error_code::storage_failed, "cannot read " + path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void remove_tool_files(const std::string& folder) {
  std::vector<std::string> names = tool_files::all();
  names.push_back(tool_files::task_state);
  for (const std::string& name : names) {
    const fs::path file = fs::path(folder) / name;
    std::error_code ec;
    fs::remove(file, ec);
    // Temporaries a crash may have left: "x.pt.tmp", and "curves.tmp.png" (images keep their
    // extension, which picks the encoder).
    fs::remove(file.string() + ".tmp", ec);
    fs::remove(fs::path(folder) / (file.stem().string() + ".tmp" + file.extension().string()), ec);
  }
}

std::string tool_folder(const std::string& workspace, const std::string& tool) {
  return (fs::path(workspace) / "tools" / tool).string();
}

}  // namespace trainyard
