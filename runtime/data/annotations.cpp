// Readers of the annotation files: COCO detection JSON (nlohmann_json) and the label tables of
// masks datasets. Every check names the file, the entry (array index and id) and what to change,
// because these files are usually written by hand or by another tool and then edited. Called by
// the dataset index (runtime/data/dataset_readers.cpp) and the training runtime; pure apart from
// reading files.
#include "runtime/data/annotations.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

namespace trainyard {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// A box may stick out of its image by this many pixels (rounding in the tools that write COCO
// files); it is then clipped to the image.
constexpr double box_tolerance = 1.0;

failure invalid(std::string message) {
  return make_failure(error_code::invalid_config, std::move(message));
}

std::string type_name(const json& v) { return v.type_name(); }

std::string shown(const json& v) {
  std::string s = v.dump();
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

std::string number_text(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

/// The checks of one COCO file; `where` names the entry being read in every message.
class coco_reader {
 public:
  explicit coco_reader(std::string path) : path_(std::move(path)) {}

  failure bad(const std::string& where, const std::string& what) const {
    return invalid(path_ + ": " + where + ": " + what);
  }

  /// The array `key` of the top-level object.
  expected<const json*> array(const json& root, const char* key, const char* what_it_holds) const {
    auto it = root.find(key);
    if (it == root.end()) {
      return invalid(path_ + ": the top-level object has no \"" + key + "\" array; a COCO file "
                     "needs \"" + key + "\": [...] listing " + what_it_holds);
    }
    if (!it->is_array()) {
      return invalid(path_ + ": \"" + key + "\" is a " + type_name(*it) + ", not an array; it "
                     "must list " + what_it_holds);
    }
    return &*it;
  }

  /// A whole number (a JSON integer or a float without fraction, as some exporters write).
  expected<std::int64_t> integer(const json& entry, const std::string& where, const char* key,
                                 bool required = true) const {
    auto it = entry.find(key);
    if (it == entry.end()) {
      if (!required) return std::int64_t{0};
      return bad(where, std::string("missing \"") + key + "\"; add it");
    }
    if (it->is_number_integer()) return it->get<std::int64_t>();
    if (it->is_number_float()) {
      double v = it->get<double>();
      if (std::floor(v) == v && std::fabs(v) < 9e15) return static_cast<std::int64_t>(v);
    }
    return bad(where, std::string("\"") + key + "\" must be a whole number, not " + shown(*it));
  }

  expected<std::string> text(const json& entry, const std::string& where, const char* key) const {
    auto it = entry.find(key);
    if (it == entry.end()) return bad(where, std::string("missing \"") + key + "\"; add it");
    if (!it->is_string()) {
      return bad(where, std::string("\"") + key + "\" must be a string, not " + shown(*it));
    }
    auto s = it->get<std::string>();
    if (s.empty()) return bad(where, std::string("\"") + key + "\" is empty; give it a value");
    return s;
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string entry_name(const char* array, std::size_t i) {
  return std::string(array) + "[" + std::to_string(i) + "]";
}

std::string entry_name(const char* array, std::size_t i, std::int64_t id) {
  return entry_name(array, i) + " (id " + std::to_string(id) + ")";
}

// The parsed COCO file, or why it cannot be read.
expected<json> parse_coco_file(const std::string& json_path) {
  std::error_code ec;
  if (!fs::is_regular_file(json_path, ec)) {
    return make_failure(error_code::dataset_unreadable,
                        "COCO file " + json_path +
                            (fs::exists(json_path, ec) ? " is not a file" : " does not exist") +
                            "; set annotations = <the COCO JSON file of boxes> in the dataset "
                            "section");
  }
  std::ifstream in(json_path, std::ios::binary);
  if (!in) {
    return make_failure(error_code::dataset_unreadable,
                        "cannot open the COCO file " + json_path + "; check its permissions");
  }
  try {
    return json::parse(in);
  } catch (const json::parse_error& e) {
    return invalid(json_path + " is not valid JSON (byte " + std::to_string(e.byte) +
                   "): " + e.what() + "; fix the file or export it again");
  } catch (const json::out_of_range& e) {  // a number too large for a double: 1e400
    return invalid(json_path + " is not valid JSON: " + e.what() +
                   "; fix the file or export it again");
  }
}

// The categories: labels are numbered in ascending category id, whatever order the file uses.
// Fills the labels and category ids of `out`; answers each category id's label.
expected<std::map<std::int64_t, int>> read_categories(const coco_reader& r, const json& categories,
                                                      const std::string& json_path,
                                                      box_dataset& out) {
  std::map<std::int64_t, std::string> by_id;
  std::set<std::string> names;
  for (std::size_t i = 0; i < categories.size(); ++i) {
    const json& c = categories[i];
    std::string where = entry_name("categories", i);
    if (!c.is_object()) return r.bad(where, "is a " + type_name(c) + ", not an object");
    auto id = r.integer(c, where, "id");
    if (!id) return id.error();
    where = entry_name("categories", i, *id);
    auto name = r.text(c, where, "name");
    if (!name) return name.error();
    if (by_id.count(*id)) return r.bad(where, "the id is used by an earlier category; ids must be unique");
    if (!names.insert(*name).second) {
      return r.bad(where, "the name \"" + *name + "\" is used by an earlier category; names must "
                          "be unique");
    }
    by_id.emplace(*id, *name);
  }
  if (by_id.empty()) {
    return invalid(json_path + ": \"categories\" is empty; declare at least one label");
  }
  std::map<std::int64_t, int> label_of;
  for (const auto& [id, name] : by_id) {
    label_of[id] = static_cast<int>(out.labels.size());
    out.labels.push_back(name);
    out.category_ids.push_back(id);
  }
  return label_of;
}

// The images, in file order; answers each image id's place in `out.images`.
expected<std::map<std::int64_t, std::size_t>> read_images(const coco_reader& r, const json& images,
                                                         const std::string& json_path,
                                                         const std::string& image_root,
                                                         box_dataset& out) {
  std::error_code ec;
  std::map<std::int64_t, std::size_t> image_at;
  for (std::size_t i = 0; i < images.size(); ++i) {
    const json& im = images[i];
    std::string where = entry_name("images", i);
    if (!im.is_object()) return r.bad(where, "is a " + type_name(im) + ", not an object");
    auto id = r.integer(im, where, "id");
    if (!id) return id.error();
    where = entry_name("images", i, *id);
    if (image_at.count(*id)) {
      return r.bad(where, "the id is used by images[" + std::to_string(image_at[*id]) +
                              "] too; image ids must be unique");
    }
    auto file = r.text(im, where, "file_name");
    if (!file) return file.error();
    auto width = r.integer(im, where, "width");
    if (!width) return width.error();
    auto height = r.integer(im, where, "height");
    if (!height) return height.error();
    if (*width <= 0 || *height <= 0 || *width > 65535 || *height > 65535) {
      return r.bad(where, "width " + std::to_string(*width) + " x height " +
                              std::to_string(*height) + " is not a valid image size; give the "
                              "image's size in pixels");
    }
    fs::path resolved = fs::path(*file).is_absolute() ? fs::path(*file) : fs::path(image_root) / *file;
    if (!fs::is_regular_file(resolved, ec)) {
      return make_failure(error_code::dataset_unreadable,
                          json_path + ": " + where + ": image file " + resolved.string() +
                              " does not exist; copy it there, fix \"file_name\" or set the "
                              "dataset's path to the folder holding the images");
    }
    box_image bi;
    bi.file = resolved.lexically_normal().string();
    bi.coco_id = *id;
    bi.width = static_cast<int>(*width);
    bi.height = static_cast<int>(*height);
    image_at.emplace(*id, out.images.size());
    out.images.push_back(std::move(bi));
  }
  return image_at;
}

// The boxes, each onto its image (clipped to it within the tolerance).
expected<void> read_annotations(const coco_reader& r, const json& annotations,
                                const std::map<std::int64_t, std::size_t>& image_at,
                                const std::map<std::int64_t, int>& label_of, box_dataset& out) {
  for (std::size_t i = 0; i < annotations.size(); ++i) {
    const json& a = annotations[i];
    std::string where = entry_name("annotations", i);
    if (!a.is_object()) return r.bad(where, "is a " + type_name(a) + ", not an object");
    if (a.contains("id")) {
      auto id = r.integer(a, where, "id");
      if (!id) return id.error();
      where = entry_name("annotations", i, *id);
    }
    auto image_id = r.integer(a, where, "image_id");
    if (!image_id) return image_id.error();
    auto category_id = r.integer(a, where, "category_id");
    if (!category_id) return category_id.error();
    auto image = image_at.find(*image_id);
    if (image == image_at.end()) {
      return r.bad(where, "image_id " + std::to_string(*image_id) +
                              " is not the id of any entry of \"images\"; fix it or add the image");
    }
    auto label = label_of.find(*category_id);
    if (label == label_of.end()) {
      return r.bad(where, "category_id " + std::to_string(*category_id) +
                              " is not the id of any entry of \"categories\"; fix it or add the "
                              "category");
    }
    auto bbox = a.find("bbox");
    if (bbox == a.end()) {
      return r.bad(where, "missing \"bbox\": [x, y, width, height]; a locate dataset needs a box "
                          "for every annotation");
    }
    if (!bbox->is_array() || bbox->size() != 4 ||
        !std::all_of(bbox->begin(), bbox->end(), [](const json& v) { return v.is_number(); })) {
      return r.bad(where, "\"bbox\" must be 4 numbers [x, y, width, height], not " + shown(*bbox));
    }
    double x = (*bbox)[0].get<double>(), y = (*bbox)[1].get<double>();
    double w = (*bbox)[2].get<double>(), h = (*bbox)[3].get<double>();
    box_image& bi = out.images[image->second];
    if (w <= 0 || h <= 0) {
      return r.bad(where, "\"bbox\" " + shown(*bbox) + " has width " + number_text(w) +
                              " and height " + number_text(h) +
                              "; both must be above 0 (COCO boxes are [x, y, width, height], not "
                              "corners)");
    }
    if (x < -box_tolerance || y < -box_tolerance || x + w > bi.width + box_tolerance ||
        y + h > bi.height + box_tolerance) {
      return r.bad(where, "\"bbox\" " + shown(*bbox) + " lies outside its image " + bi.file +
                              " of " + std::to_string(bi.width) + "x" +
                              std::to_string(bi.height) +
                              " pixels (images[" + std::to_string(image->second) +
                              "]); fix the box or the image's width and height");
    }
    // Clip what the tolerance let through.
    double x0 = std::max(0.0, x), y0 = std::max(0.0, y);
    double x1 = std::min<double>(bi.width, x + w), y1 = std::min<double>(bi.height, y + h);
    box b;
    b.label = label->second;
    b.x = static_cast<float>(x0);
    b.y = static_cast<float>(y0);
    b.width = static_cast<float>(x1 - x0);
    b.height = static_cast<float>(y1 - y0);
    bi.boxes.push_back(b);
  }
  return {};
}

}  // namespace

expected<box_dataset> read_coco(const std::string& json_path, const std::string& image_root) {
  auto root = parse_coco_file(json_path);
  if (!root) return root.error();
  coco_reader r(json_path);
  if (!root->is_object()) {
    return invalid(json_path + ": the top level is a " + type_name(*root) +
                   ", not an object with \"images\", \"annotations\" and \"categories\"");
  }
  auto images = r.array(*root, "images", "the images (id, file_name, width, height)");
  if (!images) return images.error();
  auto annotations =
      r.array(*root, "annotations", "the boxes (image_id, category_id, bbox [x, y, width, height])");
  if (!annotations) return annotations.error();
  auto categories = r.array(*root, "categories", "the labels (id, name)");
  if (!categories) return categories.error();

  box_dataset out;
  auto label_of = read_categories(r, **categories, json_path, out);
  if (!label_of) return label_of.error();
  auto image_at = read_images(r, **images, json_path, image_root, out);
  if (!image_at) return image_at.error();
  if (auto ok = read_annotations(r, **annotations, *image_at, *label_of, out); !ok)
    return ok.error();
  return out;
}

namespace {

/// Display colours of labels 1..: distinct hues; label 0 (background) is black.
constexpr std::uint8_t palette[][3] = {
    {230, 25, 75},   {60, 180, 75},   {255, 225, 25}, {0, 130, 200},   {245, 130, 48},
    {145, 30, 180},  {70, 240, 240},  {240, 50, 230}, {210, 245, 60},  {250, 190, 212},
    {0, 128, 128},   {220, 190, 255}, {170, 110, 40}, {255, 250, 200}, {128, 0, 0},
    {170, 255, 195}, {128, 128, 0},   {255, 215, 180}, {0, 0, 128},    {128, 128, 128},
};

bool parse_int(const std::string& s, long& out) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  out = std::stol(s);
  return true;
}

}  // namespace

void default_label_colour(int index, std::uint8_t& r, std::uint8_t& g, std::uint8_t& b) {
  if (index <= 0) {
    r = g = b = 0;
    return;
  }
  const auto& c = palette[(index - 1) % (sizeof palette / sizeof palette[0])];
  r = c[0];
  g = c[1];
  b = c[2];
}

expected<std::vector<mask_label>> read_label_table(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return make_failure(error_code::dataset_unreadable,
                        "label table " + path +
                            (fs::exists(path, ec) ? " is not a file" : " does not exist") +
                            "; set annotations = <a file with one line \"INDEX NAME [R G B]\" per "
                            "label, 0 being the background> in the dataset section");
  }
  std::ifstream in(path);
  if (!in) {
    return make_failure(error_code::dataset_unreadable,
                        "cannot open the label table " + path + "; check its permissions");
  }
  const std::string form = "; each line is \"INDEX NAME\" or \"INDEX NAME R G B\" with INDEX "
                           "0-255 and colours 0-255";
  std::vector<mask_label> labels;
  std::map<long, int> line_of_index;
  std::set<std::string> names;
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    auto hash = line.find('#');
    if (hash != std::string::npos) line.erase(hash);
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string word; words >> word;) w.push_back(word);
    if (w.empty()) continue;
    std::string where = path + ":" + std::to_string(line_no) + ": ";
    if (w.size() != 2 && w.size() != 5) {
      return invalid(where + "\"" + line + "\" has " + std::to_string(w.size()) + " words" + form +
                     " (names cannot contain spaces)");
    }
    long index = 0;
    if (!parse_int(w[0], index) || index > 255) {
      return invalid(where + "index \"" + w[0] + "\" is not a whole number 0-255" + form);
    }
    if (line_of_index.count(index)) {
      return invalid(where + "index " + std::to_string(index) + " is already declared on line " +
                     std::to_string(line_of_index[index]) + "; each index names one label");
    }
    if (!names.insert(w[1]).second) {
      return invalid(where + "the name \"" + w[1] + "\" is already used; names must be unique");
    }
    mask_label l;
    l.index = static_cast<int>(index);
    l.name = w[1];
    if (w.size() == 5) {
      long rgb[3];
      for (int k = 0; k < 3; ++k) {
        if (!parse_int(w[2 + k], rgb[k]) || rgb[k] > 255) {
          return invalid(where + "colour \"" + w[2 + k] + "\" is not a whole number 0-255" + form);
        }
      }
      l.r = static_cast<std::uint8_t>(rgb[0]);
      l.g = static_cast<std::uint8_t>(rgb[1]);
      l.b = static_cast<std::uint8_t>(rgb[2]);
    } else {
      default_label_colour(l.index, l.r, l.g, l.b);
    }
    line_of_index[index] = line_no;
    labels.push_back(std::move(l));
  }
  if (labels.empty()) {
    return invalid(path + " declares no labels" + form + ", e.g. \"0 background\" then \"1 part\"");
  }
  if (!line_of_index.count(0)) {
    return invalid(path + " has no label 0; add a line \"0 background\" (pixels of value 0 are "
                   "the background)");
  }
  // The pixel values are the model's classes, so they must be 0..n-1 without gaps.
  std::sort(labels.begin(), labels.end(),
            [](const mask_label& a, const mask_label& b) { return a.index < b.index; });
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i].index != static_cast<int>(i)) {
      return invalid(path + ": index " + std::to_string(i) + " is missing (line " +
                     std::to_string(line_of_index[labels[i].index]) + " declares " +
                     std::to_string(labels[i].index) +
                     "); number the labels 0, 1, 2, ... without gaps");
    }
  }
  return labels;
}

}  // namespace trainyard
