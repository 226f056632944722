// `trainyard export` and `trainyard predict --runtime onnx`: a tool's deployable form, and
// predictions through it (trainyard_runtime, OpenCV DNN) instead of LibTorch.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "deploy/trainyard_runtime.hpp"
#include "nodes/commands.hpp"
#include "nodes/workspace_jobs.hpp"
#include "runtime/train/engine.hpp"
#include "runtime/train/tool_files.hpp"

namespace trainyard {

namespace {

namespace fs = std::filesystem;

// The final metrics of the last completed job that trained `tool` (validation and test
// metrics); empty when the workspace has no database or no such job.
metric_map last_metrics(const std::string& workspace, const std::string& tool) {
  auto ws = load_workspace_jobs(workspace);
  if (!ws)
    return {};
  const job_record* last = nullptr;
  for (const job_record& j : ws->jobs)
    if (j.spec.tool.name == tool && j.state == job_state::completed &&
        (last == nullptr || j.run_order > last->run_order))
      last = &j;
  return last != nullptr ? last->final_metrics : metric_map{};
}

}  // namespace

int export_command(const export_options& options) {
  const std::int64_t batch = options.batch == "dynamic" ? 0 : std::stoll(options.batch);
  auto summary = export_tool(options.workspace, options.tool, options.out, batch,
                             last_metrics(options.workspace, options.tool));
  if (!summary)
    return print_failure(summary.error());
  if (options.json) {
    std::cout << nlohmann::json{{"tool", options.tool},
                                {"kind", summary->kind},
                                {"folder", summary->folder},
                                {"files", summary->files},
                                {"best_batch", summary->best_batch},
                                {"images_per_second", summary->images_per_second}}
                     .dump()
              << std::endl;
    return 0;
  }
  std::printf("exported %s tool %s to %s:", summary->kind.c_str(), options.tool.c_str(),
              summary->folder.c_str());
  for (const std::string& f : summary->files)
    std::printf(" %s", f.c_str());
  if (summary->images_per_second > 0)
    std::printf("\nfastest batch through OpenCV DNN on this machine: %d images (%.0f images/s)",
                summary->best_batch, summary->images_per_second);
  std::printf("\n");
  return 0;
}

expected<std::vector<prediction>> predict_with_runtime(const predict_options& options,
                                                       const std::vector<std::string>& images) {
  std::string folder = options.export_folder;
  if (folder.empty()) {
    // The tool folder's own export, written again when the weights are newer than it.
    const fs::path tool = tool_folder(options.workspace, options.tool);
    folder = (tool / "export").string();
    std::error_code ec, ec2;
    const auto weights = fs::last_write_time(tool / tool_files::best, ec);
    const auto exported = fs::last_write_time(fs::path(folder) / "tool.json", ec2);
    if (ec2 || (!ec && exported < weights)) {
      auto summary = export_tool(options.workspace, options.tool, folder, 0,
                                 last_metrics(options.workspace, options.tool));
      if (!summary)
        return summary.error();
      std::cerr << "trainyard predict: exported tool " << options.tool << " to " << folder
                << " for --runtime onnx" << std::endl;
    }
  }
  std::string error;
  auto runtime = deploy::tool::open(folder, error);
  if (!runtime)
    return make_failure(error_code::invalid_request, error);
  std::vector<prediction> out;
  for (deploy::result& r : runtime->run_files(images)) {
    prediction p;
    p.image = images[out.size()];
    p.error = std::move(r.error);
    p.label = r.label;
    p.label_name = std::move(r.label_name);
    p.score = r.score;
    for (const deploy::found_box& b : r.boxes)
      p.boxes.push_back(scored_box{box{b.label, b.x, b.y, b.width, b.height}, b.score});
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace trainyard
