// `trainyard export` (export_tool in engine.hpp): a trained tool's networks as ONNX files and its
// description as tool.json, the folder trainyard_runtime (deploy/) runs without LibTorch.
#include <algorithm>
#include <chrono>
#include <filesystem>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "deploy/trainyard_runtime.hpp"
#include "runtime/core/version.hpp"
#include "runtime/train/engine.hpp"
#include "runtime/train/trained_tool.hpp"

namespace trainyard {

namespace fs = std::filesystem;

namespace {

nlohmann::json describe(const trained_tool& t, std::int64_t batch, int best_batch,
                        const metric_map& metrics, const nlohmann::json& settings) {
  const tool_state& r = t.record;
  nlohmann::json colours = nlohmann::json::array();
  for (const label_colour& c : t.task->setup().colours)
    colours.push_back({c[0], c[1], c[2]});
  nlohmann::json m = nlohmann::json::object();
  for (const auto& [name, value] : metrics)
    if (std::isfinite(value))
      m[name] = value;
  return {{"format", "trainyard-export"},
          {"format_version", deploy::export_format_version},
          {"trainyard_version", trainyard_version},
          {"name", r.tool.name},
          {"kind", r.tool.kind},
          {"input", {{"width", r.tool.input_width},
                     {"height", r.tool.input_height},
                     {"channels", r.channels}}},
          {"normalization", {{"mean", r.norm.mean}, {"std", r.norm.std}}},
          {"class_names", r.class_names},
          {"colours", colours},
          {"batch", batch},
          {"best_batch", best_batch},
          {"metrics", m},
          {"settings", settings}};
}

// Images per second of `tool` at each batch size 1, 2, 4, ..., 64 on noise images of its input
// size, each size run for about a quarter second (at least twice, after one call to warm up).
// Returns the fastest size and its rate.
std::pair<int, double> fastest_batch(deploy::tool& tool) {
  const deploy::tool_info& info = tool.info();
  cv::Mat noise(info.height, info.width, info.channels == 3 ? CV_8UC3 : CV_8UC1);
  cv::RNG rng(1);
  rng.fill(noise, cv::RNG::UNIFORM, 0, 256);
  int best = 1;
  double best_rate = 0;
  for (int batch = 1; batch <= 64; batch *= 2) {
    const std::vector<cv::Mat> images(static_cast<std::size_t>(batch), noise);
    (void)tool.run(images, batch);
    const auto start = std::chrono::steady_clock::now();
    double seconds = 0;
    int runs = 0;
    while (runs < 2 || seconds < 0.25) {
      (void)tool.run(images, batch);
      ++runs;
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    const double rate = batch * runs / seconds;
    if (rate > best_rate) {
      best_rate = rate;
      best = batch;
    }
  }
  return {best, best_rate};
}

}  // namespace

expected<export_summary> export_tool(const std::string& workspace, const std::string& tool,
                                     const std::string& out_folder, std::int64_t batch,
                                     const metric_map& metrics) {
  if (batch < 0 || batch > 65536)
    return make_failure(error_code::invalid_request,
                        "--batch " + std::to_string(batch) +
                            " is out of range; give 1 to 65536, or dynamic");
  auto opened = open_tool(workspace, tool);
  if (!opened)
    return opened.error();
  trained_tool& t = *opened;
  std::error_code ec;
  fs::create_directories(out_folder, ec);
  if (ec)
    return make_failure(error_code::storage_failed,
                        "cannot create the export folder " + out_folder + ": " + ec.message());
  expected<nlohmann::json> settings = make_failure(error_code::none, "");
  try {
    torch::NoGradGuard no_grad;
    settings = t.task->export_onnx(out_folder, batch);
  } catch (const std::exception& e) {
    const std::string text = e.what();
    return make_failure(error_code::invalid_request,
                        "tool " + tool + " could not be exported: " +
                            text.substr(0, text.find('\n')));
  }
  if (!settings)
    return settings.error();
  export_summary out;
  out.folder = out_folder;
  out.kind = t.record.tool.kind;
  out.best_batch = batch > 0 ? static_cast<int>(batch) : 1;
  const std::string description = (fs::path(out_folder) / "tool.json").string();
  const auto write_description = [&] {
    return write_file_atomically(
        description, describe(t, batch, out.best_batch, metrics, *settings).dump(2) + "\n");
  };
  if (auto ok = write_description(); !ok)
    return ok.error();
  out.files.push_back("tool.json");
  for (const auto& [key, value] : settings->items())
    if (value.is_string() && key.size() > 5 && key.compare(key.size() - 5, 5, "_file") == 0)
      out.files.push_back(value.get<std::string>());
  // What was written must run: the folder is opened as a user's program would open it.
  std::string error;
  auto runtime = deploy::tool::open(out_folder, error);
  if (!runtime)
    return make_failure(error_code::invalid_request,
                        "tool " + tool + " was exported to " + out_folder +
                            " but does not load in trainyard_runtime: " + error);
  if (batch == 0) {
    const auto [best, rate] = fastest_batch(*runtime);
    out.best_batch = best;
    out.images_per_second = rate;
    if (auto ok = write_description(); !ok)
      return ok.error();
  }
  return out;
}

}  // namespace trainyard
