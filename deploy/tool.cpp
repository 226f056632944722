// trainyard_runtime's tool (trainyard_runtime.hpp): reads an export folder's tool.json, turns
// images into the networks' input as `trainyard predict` does, and hands batches to the kind.
#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "deploy/image_file.hpp"
#include "deploy/kind_runtime.hpp"

namespace trainyard::deploy {

namespace {

using json = nlohmann::json;

// The first line of an OpenCV error, without its file and line.
std::string short_message(const cv::Exception& e) {
  std::string text = e.err.empty() ? e.what() : e.err;
  return text.substr(0, text.find('\n'));
}

// Reads tool.json into `out` and `j`; false with `error` saying what is wrong and what to do.
bool read_description(const std::string& folder, tool_description& out, json& j,
                      std::string& error) {
  const std::string path = folder + "/tool.json";
  std::ifstream in(path);
  if (!in) {
    error = "no tool.json in " + folder + ": not a folder written by `trainyard export`; export " +
            "the tool with `trainyard export TOOL --out " + folder + "`";
    return false;
  }
  std::stringstream text;
  text << in.rdbuf();
  try {
    j = json::parse(text.str());
  } catch (const json::exception& e) {
    error = path + " is not valid JSON (" + e.what() + "); export the tool again";
    return false;
  }
  // Read as a value only when it is a string: value() throws on another type.
  const auto format = j.is_object() ? j.find("format") : j.end();
  if (!j.is_object() || format == j.end() || !format->is_string() ||
      format->get<std::string>() != "trainyard-export") {
    error = path + " is not a trainyard export description (its \"format\" is not " +
            "\"trainyard-export\"); export the tool again with `trainyard export`";
    return false;
  }
  try {
    const int version = number_as<int>(j.at("format_version"));
    if (version != export_format_version) {
      error = folder + " was exported in format version " + std::to_string(version) +
              " (by trainyard " + j.value("trainyard_version", "?") +
              ") but this trainyard_runtime reads version " +
              std::to_string(export_format_version) +
              "; export the tool again with this trainyard, or use the runtime of that version";
      return false;
    }
    tool_info& info = out.info;
    info.name = j.at("name").get<std::string>();
    info.kind = j.at("kind").get<std::string>();
    info.trainyard_version = j.at("trainyard_version").get<std::string>();
    info.width = number_as<int>(j.at("input").at("width"));
    info.height = number_as<int>(j.at("input").at("height"));
    info.channels = number_as<int>(j.at("input").at("channels"));
    info.class_names = j.at("class_names").get<std::vector<std::string>>();
    for (const json& c : j.at("colours"))
      info.colours.push_back({number_as<std::uint8_t>(c.at(0)), number_as<std::uint8_t>(c.at(1)),
                              number_as<std::uint8_t>(c.at(2))});
    if (j.contains("best_batch"))
      info.best_batch = std::max(1, number_as<int>(j.at("best_batch")));
    out.settings = j.at("settings");
    out.mirror_views = out.settings.value("mirror_views", false);
    out.folder = folder;
  } catch (const std::exception& e) {  // json::exception, or number_as's out_of_range
    error = path + " lacks what the runtime needs (" + e.what() + "); export the tool again";
    return false;
  }
  const tool_info& info = out.info;
  if (info.width < 1 || info.height < 1 || (info.channels != 1 && info.channels != 3) ||
      info.class_names.empty()) {
    error = path + " describes an impossible input (" + std::to_string(info.width) + "x" +
            std::to_string(info.height) + ", " + std::to_string(info.channels) +
            " channels, " + std::to_string(info.class_names.size()) +
            " labels); export the tool again";
    return false;
  }
  return true;
}

// An 8-bit image in the tool's channels (RGB for colour) at its input size; empty with `error`.
cv::Mat convert(const cv::Mat& image, const tool_info& info, std::string& error) {
  if (image.empty()) {
    error = "the image is empty";
    return {};
  }
  if (image.depth() != CV_8U || (image.channels() != 1 && image.channels() != 3 &&
                                 image.channels() != 4)) {
    error = "the image is not 8-bit gray, BGR or BGRA; convert it first";
    return {};
  }
  static const int to_gray[] = {-1, -1, -1, cv::COLOR_BGR2GRAY, cv::COLOR_BGRA2GRAY};
  static const int to_rgb[] = {-1, cv::COLOR_GRAY2RGB, -1, cv::COLOR_BGR2RGB, cv::COLOR_BGRA2RGB};
  cv::Mat out = image;
  const int code = info.channels == 1 ? to_gray[image.channels()] : to_rgb[image.channels()];
  if (code >= 0)
    cv::cvtColor(image, out, code);
  if (out.cols != info.width || out.rows != info.height)
    cv::resize(out, out, cv::Size(info.width, info.height), 0, 0, cv::INTER_AREA);
  return out;
}

// Normalised floats [N, C, H, W] of converted images: pixel * 1 / (255 std) - mean / std per
// channel, in single precision as the training runtime computes it.
cv::Mat to_blob(const std::vector<const cv::Mat*>& images, const tool_info& info,
                const std::vector<double>& mean, const std::vector<double>& std) {
  const int n = static_cast<int>(images.size()), c = info.channels;
  const int size[] = {n, c, info.height, info.width};
  cv::Mat blob(4, size, CV_32F);
  const std::size_t plane = static_cast<std::size_t>(info.height) * info.width;
  for (int i = 0; i < n; ++i)
    for (int ch = 0; ch < c; ++ch) {
      const auto scale = static_cast<float>(1.0 / (255.0 * std[ch]));
      const auto shift = static_cast<float>(-mean[ch] / std[ch]);
      float* out = blob.ptr<float>() + (static_cast<std::size_t>(i) * c + ch) * plane;
      for (int y = 0; y < info.height; ++y) {
        const std::uint8_t* row = images[i]->ptr<std::uint8_t>(y);
        for (int x = 0; x < info.width; ++x)
          *out++ = static_cast<float>(row[x * c + ch]) * scale + shift;
      }
    }
  return blob;
}

}  // namespace

cv::dnn::Net load_network(const tool_description& tool, const std::string& file,
                          std::string& error) {
  const std::string path = tool.folder + "/" + file;
  if (file.empty() || !std::ifstream(path)) {
    error = (file.empty() ? std::string("a network file") : file) + " is missing from " +
            tool.folder + "; export the tool again";
    return {};
  }
  try {
    cv::dnn::Net net = cv::dnn::readNetFromONNX(path);
    if (net.empty()) {
      error = path + " holds no network; export the tool again";
      return {};
    }
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    return net;
  } catch (const cv::Exception& e) {
    error = path + " does not load as an ONNX model (" + short_message(e) +
            "); the file may be truncated or damaged: export the tool again";
    return {};
  }
}

bool load_stage_networks(const tool_description& tool, const std::string& model_file,
                         const std::string& items_file, bool two_stage, cv::dnn::Net& model,
                         cv::dnn::Net& items, std::string& error) {
  model = load_network(tool, model_file, error);
  if (model.empty())
    return false;
  if (two_stage)
    items = load_network(tool, items_file, error);
  return !two_stage || !items.empty();
}

tool::~tool() = default;

std::unique_ptr<tool> tool::open(const std::string& folder, std::string& error) {
  tool_description description;
  json j;
  if (!read_description(folder, description, j, error))
    return nullptr;
  std::unique_ptr<tool> out(new tool());
  out->info_ = description.info;
  try {
    out->mean_ = j.at("normalization").at("mean").get<std::vector<double>>();
    out->std_ = j.at("normalization").at("std").get<std::vector<double>>();
  } catch (const json::exception& e) {
    error = folder + "/tool.json has no usable normalization (" + e.what() +
            "); export the tool again";
    return nullptr;
  }
  if (out->mean_.size() != static_cast<std::size_t>(out->info_.channels) ||
      out->std_.size() != out->mean_.size() ||
      std::any_of(out->std_.begin(), out->std_.end(), [](double s) { return !(s > 0); })) {
    error = folder + "/tool.json's normalization does not match its " +
            std::to_string(out->info_.channels) + " channels; export the tool again";
    return nullptr;
  }
  description.normalization_mean = out->mean_;
  description.normalization_std = out->std_;
  using factory = std::unique_ptr<kind_runtime> (*)(const tool_description&, std::string&);
  static const std::pair<const char*, factory> kinds[] = {{"classify", make_classify_runtime},
                                                          {"locate", make_locate_runtime},
                                                          {"segment", make_segment_runtime},
                                                          {"anomaly", make_anomaly_runtime}};
  for (const auto& [name, make] : kinds)
    if (description.info.kind == name) {
      // A setting of the wrong JSON type throws from the kind's reader: that is a bad file too.
      try {
        out->kind_ = make(description, error);
      } catch (const std::exception& e) {
        error = folder + "/tool.json has a setting of the wrong type (" + std::string(e.what()) +
                "); export the tool again";
        return nullptr;
      }
      return out->kind_ ? std::move(out) : nullptr;
    }
  error = folder + " holds a tool of kind '" + description.info.kind +
          "', which this trainyard_runtime does not run (classify, locate, segment, anomaly)";
  return nullptr;
}

std::vector<result> tool::run(const std::vector<cv::Mat>& images, int batch) {
  std::vector<result> results(images.size());
  std::vector<cv::Mat> converted(images.size());
  std::vector<cv::Size> sizes(images.size());
  for (std::size_t i = 0; i < images.size(); ++i) {
    converted[i] = convert(images[i], info_, results[i].error);
    sizes[i] = images[i].size();
  }
  return run_converted(converted, sizes, std::move(results), batch);
}

std::vector<result> tool::run_files(const std::vector<std::string>& files, int batch) {
  std::vector<result> results(files.size());
  std::vector<cv::Mat> converted(files.size());
  std::vector<cv::Size> sizes(files.size());
  for (std::size_t i = 0; i < files.size(); ++i) {
    // Decoded as predict decodes: straight to the tool's channels, RGB for colour, and bounded
    // by the size the file's header declares.
    std::ifstream in(files[i], std::ios::binary);
    if (!in) {
      results[i].error = "cannot read image " + files[i] + "; check that it exists";
      continue;
    }
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
    cv::Mat image = decode_bounded(
      bytes, files[i], info_.channels == 3 ? cv::IMREAD_COLOR : cv::IMREAD_GRAYSCALE,
      results[i].error);
    if (image.empty())
      continue;
    sizes[i] = image.size();
    converted[i] = convert(image, info_, results[i].error);
  }
  return run_converted(converted, sizes, std::move(results), batch);
}

std::vector<result> tool::run_converted(const std::vector<cv::Mat>& images,
                                        const std::vector<cv::Size>& sizes,
                                        std::vector<result> results, int batch) {
  const std::size_t step = static_cast<std::size_t>(batch > 0 ? batch : info_.best_batch);
  std::vector<std::size_t> usable;
  for (std::size_t i = 0; i < images.size(); ++i)
    if (results[i].error.empty())
      usable.push_back(i);
  for (std::size_t start = 0; start < usable.size(); start += step) {
    const std::size_t end = std::min(usable.size(), start + step);
    std::vector<const cv::Mat*> batch_images;
    std::vector<cv::Size> batch_sizes;
    std::vector<result*> batch_results;
    for (std::size_t k = start; k < end; ++k) {
      batch_images.push_back(&images[usable[k]]);
      batch_sizes.push_back(sizes[usable[k]]);
      batch_results.push_back(&results[usable[k]]);
    }
    try {
      kind_->run(to_blob(batch_images, info_, mean_, std_), batch_sizes, batch_results);
    } catch (const cv::Exception& e) {
      for (result* r : batch_results)
        r->error = "the network failed: " + short_message(e);
    }
  }
  return results;
}

}  // namespace trainyard::deploy
