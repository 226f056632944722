// trainyard-infer: runs a tool exported by `trainyard export` on image files, with
// trainyard_runtime alone (OpenCV; no LibTorch): the program a vision engineer writes to put a
// trained tool on an inspection line, in a few lines.
//
//   trainyard-infer EXPORT_FOLDER IMAGE... [--masks DIR]
//
// Prints one line per image: the file, the label and the score; locate adds each box
// (x y width height label score); segment and anomaly write their label mask or anomaly map as
// a PNG into DIR when --masks is given. Exit code 0, or 1 when an image could not be used, 2
// when the folder does not open.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>

#include "deploy/trainyard_runtime.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> files;
  std::string masks;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--masks" && i + 1 < argc)
      masks = argv[++i];
    else
      files.push_back(arg);
  }
  if (argc < 3 || files.empty()) {
    std::fprintf(stderr, "usage: trainyard-infer EXPORT_FOLDER IMAGE... [--masks DIR]\n");
    return 2;
  }
  std::string error;
  const auto tool = trainyard::deploy::tool::open(argv[1], error);
  if (!tool) {
    std::fprintf(stderr, "trainyard-infer: %s\n", error.c_str());
    return 2;
  }
  if (!masks.empty())
    std::filesystem::create_directories(masks);
  int exit_code = 0;
  const auto results = tool->run_files(files);
  for (std::size_t i = 0; i < files.size(); ++i) {
    const trainyard::deploy::result& r = results[i];
    if (!r.error.empty()) {
      std::fprintf(stderr, "trainyard-infer: %s\n", r.error.c_str());
      exit_code = 1;
      continue;
    }
    std::printf("%s\t%s\t%.4f", files[i].c_str(), r.label_name.c_str(), r.score);
    for (const auto& b : r.boxes)
      std::printf("\t%.1f %.1f %.1f %.1f %s %.3f", b.x, b.y, b.width, b.height,
                  b.label_name.c_str(), b.score);
    std::printf("\n");
    const std::string stem = std::filesystem::path(files[i]).stem().string();
    if (!masks.empty() && !r.labels.empty())
      cv::imwrite(masks + "/" + stem + "_mask.png", r.labels);
    if (!masks.empty() && !r.anomaly_map.empty()) {
      cv::Mat scaled;
      r.anomaly_map.convertTo(scaled, CV_8U, 255.0 / std::max(1e-12, cv::norm(r.anomaly_map,
                                                                             cv::NORM_INF)));
      cv::imwrite(masks + "/" + stem + "_map.png", scaled);
    }
  }
  return exit_code;
}
