// Indexes of the coco, masks and anomaly dataset kinds, and a zlib-only PNG reader for label
// masks. Called by load_dataset_index on the dataset actor's thread; pure apart from reading
// files. Folders are listed with std::filesystem and sorted, so an index is the same on every
// machine.
#include "runtime/data/dataset_readers.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

namespace trainyard {

namespace fs = std::filesystem;

namespace {

std::string dataset_label(const dataset_spec& spec) {
  return spec.name.empty() ? std::string("dataset") : "dataset '" + spec.name + "'";
}

failure unreadable(std::string message) {
  return make_failure(error_code::dataset_unreadable, std::move(message));
}


/// The image files directly in `dir`, sorted by name. A missing folder is an empty list when
/// `optional`, else dataset_unreadable with `hint`.
expected<std::vector<std::string>> list_images(const dataset_spec& spec, const fs::path& dir,
                                               bool optional, const std::string& hint) {
  std::error_code ec;
  std::vector<std::string> files;
  if (!fs::is_directory(dir, ec)) {
    if (optional && !fs::exists(dir, ec)) return files;
    return unreadable(dataset_label(spec) + ": folder " + dir.string() +
                      (fs::exists(dir, ec) ? " is not a folder" : " does not exist") + hint);
  }
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && !is_hidden(it->path()) && is_image_file(it->path())) {
      files.push_back(it->path().string());
    }
  }
  if (ec) return unreadable(dataset_label(spec) + ": cannot list " + dir.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

fs::path mask_path_for(const std::string& masks_dir, const std::string& image) {
  return fs::path(masks_dir) / (fs::path(image).stem().string() + ".png");
}

std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

}  // namespace

expected<gray_image> read_gray_png(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return unreadable("cannot open " + path + "; check that the file exists and is readable");
  std::vector<unsigned char> bytes{std::istreambuf_iterator<char>(in),
                                   std::istreambuf_iterator<char>()};
  auto corrupt = [&](const std::string& what) {
    return make_failure(error_code::image_corrupt,
                        path + " " + what +
                            "; a mask must be an 8-bit single-channel (grayscale) PNG whose pixel "
                            "values are label indices");
  };
  static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (bytes.size() < 8 || std::memcmp(bytes.data(), signature, 8) != 0) {
    return corrupt("is not a PNG file");
  }
  gray_image out;
  std::vector<unsigned char> compressed;
  bool header = false, ended = false;
  for (std::size_t at = 8; at + 12 <= bytes.size() && !ended;) {
    std::uint32_t length = be32(&bytes[at]);
    if (length > bytes.size() - at - 12) return corrupt("is truncated (a chunk runs past the end)");
    std::string type(reinterpret_cast<const char*>(&bytes[at + 4]), 4);
    const unsigned char* data = &bytes[at + 8];
    if (type == "IHDR") {
      if (length != 13) return corrupt("has a malformed header");
      out.width = static_cast<int>(be32(data));
      out.height = static_cast<int>(be32(data + 4));
      int depth = data[8], colour = data[9], interlace = data[12];
      if (colour != 0) {
        return corrupt(std::string("is a ") + (colour == 3 ? "palette" : "colour") + " PNG");
      }
      if (depth != 8) return corrupt("has " + std::to_string(depth) + "-bit pixels");
      if (interlace != 0) return corrupt("is interlaced; save it without interlacing");
      if (out.width <= 0 || out.height <= 0 || out.width > 65535 || out.height > 65535) {
        return corrupt("declares a size of " + std::to_string(out.width) + "x" +
                       std::to_string(out.height));
      }
      header = true;
    } else if (type == "IDAT") {
      compressed.insert(compressed.end(), data, data + length);
    } else if (type == "IEND") {
      ended = true;
    }
    at += 12 + length;
  }
  if (!header) return corrupt("has no header");
  const std::size_t stride = static_cast<std::size_t>(out.width);
  const std::size_t raw_bytes = (stride + 1) * static_cast<std::size_t>(out.height);
  // Deflate expands at most 1032-fold: a header declaring more pixels than the data can hold
  // is refused before the buffer for them is allocated (65535x65535 would be 4 GB).
  if (raw_bytes / 1032 > compressed.size()) {
    return corrupt("declares " + std::to_string(out.width) + "x" + std::to_string(out.height) +
                   " pixels but holds only " + std::to_string(compressed.size()) +
                   " bytes of pixel data");
  }
  std::vector<unsigned char> raw(raw_bytes);
  uLongf raw_size = static_cast<uLongf>(raw.size());
  int ret = uncompress(raw.data(), &raw_size, compressed.data(), static_cast<uLong>(compressed.size()));
  if (ret != Z_OK || raw_size != raw.size()) return corrupt("has corrupt or short pixel data");
  out.pixels.resize(stride * static_cast<std::size_t>(out.height));
  for (int y = 0; y < out.height; ++y) {
    const unsigned char* line = &raw[static_cast<std::size_t>(y) * (stride + 1)];
    unsigned char filter = line[0];
    const unsigned char* src = line + 1;
    std::uint8_t* dst = &out.pixels[static_cast<std::size_t>(y) * stride];
    const std::uint8_t* up = y > 0 ? dst - stride : nullptr;
    for (std::size_t x = 0; x < stride; ++x) {
      int a = x > 0 ? dst[x - 1] : 0;
      int b = up ? up[x] : 0;
      int c = (up && x > 0) ? up[x - 1] : 0;
      int predicted = 0;
      switch (filter) {
        case 0: predicted = 0; break;
        case 1: predicted = a; break;
        case 2: predicted = b; break;
        case 3: predicted = (a + b) / 2; break;
        case 4: {
          int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
          predicted = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c);
          break;
        }
        default:
          return corrupt("has an unknown row filter " + std::to_string(filter));
      }
      dst[x] = static_cast<std::uint8_t>(src[x] + predicted);
    }
  }
  return out;
}

expected<box_dataset> load_boxes(const dataset_spec& spec) {
  if (spec.annotations.empty()) {
    return make_failure(error_code::invalid_config,
                        "coco " + dataset_label(spec) +
                            " has no annotations file; set annotations = <COCO JSON file>");
  }
  auto boxes = read_coco(spec.annotations, spec.path);
  if (!boxes) return boxes.error();
  std::stable_sort(boxes->images.begin(), boxes->images.end(),
                   [](const box_image& a, const box_image& b) { return a.file < b.file; });
  for (std::size_t i = 1; i < boxes->images.size(); ++i) {
    if (boxes->images[i].file == boxes->images[i - 1].file) {
      return make_failure(error_code::invalid_config,
                          spec.annotations + ": images with ids " +
                              std::to_string(boxes->images[i - 1].coco_id) + " and " +
                              std::to_string(boxes->images[i].coco_id) + " are the same file " +
                              boxes->images[i].file + "; list each image once");
    }
  }
  return boxes;
}

expected<dataset_index> load_coco_index(const dataset_spec& spec) {
  auto boxes = load_boxes(spec);
  if (!boxes) return boxes.error();
  if (boxes->images.empty()) {
    return unreadable("coco " + dataset_label(spec) + ": " + spec.annotations +
                      " lists no images; add them to its \"images\" array");
  }
  dataset_index index;
  index.spec = spec;
  index.class_names = boxes->labels;
  const auto no_objects = static_cast<std::int32_t>(boxes->labels.size());
  for (const auto& image : boxes->images) {
    index.files.push_back(image.file);
    index.labels.push_back(image.boxes.empty() ? no_objects : image.boxes.front().label);
  }
  if (std::count(index.labels.begin(), index.labels.end(), no_objects) > 0) {
    index.class_names.push_back("(no objects)");
  }
  return index;
}

expected<dataset_index> load_masks_index(const dataset_spec& spec) {
  const std::string hint =
      "; a masks dataset is path = <folder of images>, masks = <folder of label PNGs with the "
      "same file names>, annotations = <label table>";
  if (spec.path.empty()) return unreadable("masks " + dataset_label(spec) + " has no path" + hint);
  if (spec.masks.empty()) return unreadable("masks " + dataset_label(spec) + " has no masks folder" + hint);
  if (spec.annotations.empty()) {
    return make_failure(error_code::invalid_config,
                        "masks " + dataset_label(spec) +
                            " has no label table; set annotations = <file with one line \"INDEX "
                            "NAME [R G B]\" per label, 0 being the background>");
  }
  auto table = read_label_table(spec.annotations);
  if (!table) return table.error();
  auto files = list_images(spec, spec.path, false, hint);
  if (!files) return files.error();
  if (files->empty()) return unreadable("masks " + dataset_label(spec) + ": " + spec.path + " holds no images" + hint);
  std::error_code ec;
  if (!fs::is_directory(spec.masks, ec)) {
    return unreadable("masks " + dataset_label(spec) + ": masks folder " + spec.masks +
                      " does not exist" + hint);
  }
  dataset_index index;
  index.spec = spec;
  for (const auto& label : *table) index.class_names.push_back(label.name);
  for (const auto& file : *files) {
    fs::path mask = mask_path_for(spec.masks, file);
    if (!fs::is_regular_file(mask, ec)) {
      return unreadable("masks " + dataset_label(spec) + ": image " + file + " has no mask " +
                        mask.string() + "; add the mask or remove the image");
    }
    auto pixels = read_gray_png(mask.string());
    if (!pixels) return pixels.error();
    bool any = std::any_of(pixels->pixels.begin(), pixels->pixels.end(),
                           [](std::uint8_t v) { return v != 0; });
    index.files.push_back(file);
    index.mask_files.push_back(mask.string());
    index.labels.push_back(any ? 1 : 0);
  }
  return index;
}

expected<dataset_index> load_anomaly_index(const dataset_spec& spec) {
  const std::string hint =
      "; an anomaly dataset is <path>/good/<images> (defect-free) and <path>/defect/<images>: set "
      "path = <that folder> in the dataset section";
  if (spec.path.empty()) return unreadable("anomaly " + dataset_label(spec) + " has no path" + hint);
  std::error_code ec;
  if (!fs::is_directory(spec.path, ec)) {
    return unreadable("anomaly " + dataset_label(spec) + ": folder " + spec.path +
                      " does not exist" + hint);
  }
  auto good = list_images(spec, fs::path(spec.path) / "good", true, hint);
  if (!good) return good.error();
  if (good->empty()) {
    return unreadable("anomaly " + dataset_label(spec) + ": " + (fs::path(spec.path) / "good").string() +
                      " holds no images; an anomaly tool trains on good images only, so put "
                      "defect-free images there" + hint);
  }
  auto defect = list_images(spec, fs::path(spec.path) / "defect", true, hint);
  if (!defect) return defect.error();
  if (!spec.masks.empty() && !fs::is_directory(spec.masks, ec)) {
    return unreadable("anomaly " + dataset_label(spec) + ": masks folder " + spec.masks +
                      " does not exist; remove the masks key or create the folder of defect "
                      "masks");
  }
  dataset_index index;
  index.spec = spec;
  index.class_names = {"good", "defect"};
  for (const auto& f : *good) {
    index.files.push_back(f);
    index.labels.push_back(0);
    index.mask_files.emplace_back();
  }
  for (const auto& f : *defect) {
    index.files.push_back(f);
    index.labels.push_back(1);
    std::string mask;
    if (!spec.masks.empty()) {
      fs::path m = mask_path_for(spec.masks, f);
      if (fs::is_regular_file(m, ec)) mask = m.string();
    }
    index.mask_files.push_back(mask);
  }
  return index;
}

bool is_image_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp";
}

bool is_hidden(const fs::path& p) {
  std::string name = p.filename().string();
  return !name.empty() && name[0] == '.';
}

}  // namespace trainyard
