// COCO result files (see detection_results.hpp).
#include "runtime/metrics/detection_results.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

namespace trainyard {

namespace fs = std::filesystem;

expected<void> write_coco_results(const std::string& path,
                                  const std::vector<std::int64_t>& image_ids,
                                  const std::vector<std::vector<scored_box>>& detections,
                                  const std::vector<std::int64_t>& category_ids) {
  if (image_ids.size() != detections.size())
    return make_failure(error_code::invalid_request,
                        "write_coco_results: " + std::to_string(detections.size()) +
                            " images of detections but " + std::to_string(image_ids.size()) +
                            " image ids");
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t i = 0; i < detections.size(); ++i) {
    for (const scored_box& d : detections[i]) {
      if (d.b.label < 0 || static_cast<std::size_t>(d.b.label) >= category_ids.size())
        return make_failure(error_code::invalid_request,
                            "write_coco_results: label " + std::to_string(d.b.label) +
                                " has no COCO category id (" +
                                std::to_string(category_ids.size()) + " categories)");
      out.push_back({{"image_id", image_ids[i]},
                     {"category_id", category_ids[static_cast<std::size_t>(d.b.label)]},
                     {"bbox", {d.b.x, d.b.y, d.b.width, d.b.height}},
                     {"score", d.score}});
    }
  }
  const fs::path target(path);
  const fs::path temporary = target.string() + ".tmp";
  {
    std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
    file << out.dump() << '\n';
    if (!file)
      return make_failure(error_code::storage_failed,
                          "cannot write " + temporary.string() +
                              "; check that the folder exists and is writable");
  }
  std::error_code ec;
  fs::rename(temporary, target, ec);
  if (ec)
    return make_failure(error_code::storage_failed,
                        "cannot rename " + temporary.string() + " to " + path + ": " +
                            ec.message());
  return {};
}

expected<void> write_coco_results(const std::string& path, const std::vector<box_image>& images,
                                  const std::vector<std::vector<scored_box>>& detections,
                                  const std::vector<std::int64_t>& category_ids) {
  std::vector<std::int64_t> ids;
  ids.reserve(images.size());
  for (const box_image& image : images)
    ids.push_back(image.coco_id);
  return write_coco_results(path, ids, detections, category_ids);
}

expected<std::vector<std::vector<scored_box>>> read_coco_results(
    const std::string& path, const std::vector<std::int64_t>& image_ids,
    const std::vector<std::int64_t>& category_ids) {
  std::ifstream file(path, std::ios::binary);
  if (!file)
    return make_failure(error_code::dataset_unreadable,
                        "cannot open the COCO result file " + path);
  nlohmann::json in;
  try {
    in = nlohmann::json::parse(file);
  } catch (const nlohmann::json::exception& e) {
    return make_failure(error_code::invalid_config,
                        path + " is not valid JSON (" + e.what() + ")");
  }
  if (!in.is_array())
    return make_failure(error_code::invalid_config,
                        path + " must hold a JSON array of detections, as COCO result files do");
  std::map<std::int64_t, std::size_t> image_of;
  for (std::size_t i = 0; i < image_ids.size(); ++i)
    image_of[image_ids[i]] = i;
  std::map<std::int64_t, int> label_of;
  for (std::size_t l = 0; l < category_ids.size(); ++l)
    label_of[category_ids[l]] = static_cast<int>(l);

  std::vector<std::vector<scored_box>> out(image_ids.size());
  for (std::size_t k = 0; k < in.size(); ++k) {
    const nlohmann::json& entry = in[k];
    const std::string where = path + ", entry " + std::to_string(k);
    try {
      const auto image = image_of.find(entry.at("image_id").get<std::int64_t>());
      if (image == image_of.end())
        return make_failure(error_code::invalid_config,
                            where + ": image_id " + entry.at("image_id").dump() +
                                " is not an image of this set");
      const auto label = label_of.find(entry.at("category_id").get<std::int64_t>());
      if (label == label_of.end())
        return make_failure(error_code::invalid_config,
                            where + ": category_id " + entry.at("category_id").dump() +
                                " is not a category of this dataset");
      const nlohmann::json& bbox = entry.at("bbox");
      if (!bbox.is_array() || bbox.size() != 4)
        return make_failure(error_code::invalid_config,
                            where + ": bbox must be [x, y, width, height]");
      scored_box d;
      d.b = box{label->second, bbox[0].get<float>(), bbox[1].get<float>(), bbox[2].get<float>(),
                bbox[3].get<float>()};
      d.score = entry.at("score").get<float>();
      out[image->second].push_back(d);
    } catch (const nlohmann::json::exception& e) {
      return make_failure(error_code::invalid_config,
                          where + " needs image_id, category_id, bbox and score (" + e.what() +
                              ")");
    }
  }
  return out;
}

}  // namespace trainyard
