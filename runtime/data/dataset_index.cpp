// Dataset indexes: Fashion-MNIST IDX files read with zlib, image folders listed with
// std::filesystem, the other kinds through their readers. Called by the dataset actor on its own
// thread; every function here is pure apart from reading files, and nothing is cached globally.
#include "runtime/data/dataset_index.hpp"
#include "runtime/data/dataset_readers.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <system_error>

namespace trainyard {

namespace fs = std::filesystem;

namespace {

// --- Fashion-MNIST ------------------------------------------------------------------------------

constexpr const char* default_fashion_mnist_path = "/usr/share/datasets/fashion-mnist";
constexpr std::uint32_t idx_images_magic = 0x00000803;  // unsigned byte, 3 dimensions
constexpr std::uint32_t idx_labels_magic = 0x00000801;  // unsigned byte, 1 dimension

const std::vector<std::string>& fashion_mnist_classes() {
  static const std::vector<std::string> names{"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                              "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                              "Bag",         "Ankle boot"};
  return names;
}

std::string fashion_mnist_hint() {
  return std::string("install the Debian package dataset-fashion-mnist (it puts the files in ") +
         default_fashion_mnist_path +
         ") or set path = <folder holding train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
         "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz> in the dataset section";
}

std::string dataset_label(const dataset_spec& spec) {
  return spec.name.empty() ? std::string("dataset") : "dataset '" + spec.name + "'";
}

failure unreadable(std::string message) {
  return make_failure(error_code::dataset_unreadable, std::move(message));
}

std::uint32_t big_endian(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

/// One gzipped (or plain) IDX file being read, with zlib's inflate driven directly: gzread
/// does not report a file cut inside its 8-byte gzip trailer, inflate does (it only returns
/// Z_STREAM_END once the checksum and length are verified).
class gz_reader {
 public:
  explicit gz_reader(std::string path) : path_(std::move(path)) {}
  ~gz_reader() {
    if (inflating_) inflateEnd(&z_);
    if (file_ != nullptr) std::fclose(file_);
  }
  gz_reader(const gz_reader&) = delete;
  gz_reader& operator=(const gz_reader&) = delete;

  const std::string& path() const { return path_; }

  expected<void> open() {
    file_ = std::fopen(path_.c_str(), "rb");
    if (file_ == nullptr) {
      std::error_code ec(errno, std::generic_category());
      return unreadable("cannot open " + path_ + ": " + ec.message());
    }
    if (auto ok = refill(); !ok) return ok;
    // Files without the gzip magic are read as they are (unzipped IDX files).
    gzip_ = z_.avail_in >= 2 && z_.next_in[0] == 0x1f && z_.next_in[1] == 0x8b;
    if (gzip_) {
      if (inflateInit2(&z_, 15 + 16) != Z_OK) return unreadable("zlib failed to start on " + path_);
      inflating_ = true;
    }
    return {};
  }

  /// Reads exactly `n` bytes; a short read is a truncated or corrupt file, named with `what`.
  expected<void> read(void* out, std::size_t n, const std::string& what) {
    auto* p = static_cast<unsigned char*>(out);
    std::size_t done = 0;
    auto short_read = [&](const std::string& problem) {
      return unreadable(path_ + " is " + problem + " while reading " + what + " (got " +
                        std::to_string(done) + " of " + std::to_string(n) +
                        " bytes); download or reinstall the file");
    };
    while (done < n) {
      if (z_.avail_in == 0) {
        if (auto ok = refill(); !ok) return ok;
        if (z_.avail_in == 0) return short_read("truncated");
      }
      if (!gzip_) {
        std::size_t k = std::min<std::size_t>(n - done, z_.avail_in);
        std::memcpy(p + done, z_.next_in, k);
        z_.next_in += k;
        z_.avail_in -= static_cast<uInt>(k);
        done += k;
        continue;
      }
      if (ended_) return short_read("too short for its IDX header (the data ends early)");
      z_.next_out = p + done;
      z_.avail_out = static_cast<uInt>(std::min<std::size_t>(n - done, 1u << 30));
      uInt before = z_.avail_out;
      int ret = inflate(&z_, Z_NO_FLUSH);
      done += before - z_.avail_out;
      if (ret == Z_STREAM_END) {
        ended_ = true;
      } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
        return short_read(zlib_problem(ret));
      }
    }
    read_ += n;
    return {};
  }

  /// Checks that the file ends here and that its gzip checksum and length are right.
  expected<void> expect_end() {
    auto extra = [&] {
      return unreadable(path_ + " has more data than its IDX header declares (" +
                        std::to_string(read_) + " bytes expected); the file is corrupt");
    };
    if (!gzip_) {
      if (z_.avail_in > 0) return extra();
      if (auto ok = refill(); !ok) return ok;
      return z_.avail_in > 0 ? extra() : expected<void>{};
    }
    while (!ended_) {
      if (z_.avail_in == 0) {
        if (auto ok = refill(); !ok) return ok;
        if (z_.avail_in == 0) {
          return unreadable(path_ + " is truncated: it ends before its gzip checksum, after " +
                            std::to_string(read_) +
                            " bytes of data; download or reinstall the "
                            "file");
        }
      }
      unsigned char byte = 0;
      z_.next_out = &byte;
      z_.avail_out = 1;
      int ret = inflate(&z_, Z_NO_FLUSH);
      if (z_.avail_out == 0) return extra();
      if (ret == Z_STREAM_END) {
        ended_ = true;
      } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
        return unreadable(path_ + " is " + zlib_problem(ret) + " after its " +
                          std::to_string(read_) +
                          " bytes of data; download or reinstall the "
                          "file");
      }
    }
    if (z_.avail_in == 0) {
      if (auto ok = refill(); !ok) return ok;
    }
    if (z_.avail_in > 0) {
      return unreadable(path_ + " has bytes after its gzip stream; the file is corrupt");
    }
    return {};
  }

 private:
  // Next block of the file into the input buffer (avail_in stays 0 at the end of the file).
  expected<void> refill() {
    std::size_t got = std::fread(buffer_.data(), 1, buffer_.size(), file_);
    if (got == 0 && std::ferror(file_)) {
      std::error_code ec(errno, std::generic_category());
      return unreadable("cannot read " + path_ + ": " + ec.message());
    }
    z_.next_in = buffer_.data();
    z_.avail_in = static_cast<uInt>(got);
    return {};
  }

  std::string zlib_problem(int ret) const {
    return std::string("corrupt (zlib: ") + (z_.msg != nullptr ? z_.msg : zError(ret)) + ")";
  }

  std::string path_;
  std::FILE* file_ = nullptr;
  z_stream z_{};
  bool gzip_ = false;
  bool inflating_ = false;
  bool ended_ = false;  // inflate verified the gzip trailer
  std::size_t read_ = 0;
  std::vector<unsigned char> buffer_ = std::vector<unsigned char>(1u << 18);
};

/// The four files of one part ("train" or "t10k").
struct idx_part {
  std::string images_path;
  std::string labels_path;
};

/// Finds `name`.gz in `folder`, or the unzipped `name` when only that exists.
expected<std::string> find_idx_file(const dataset_spec& spec, const std::string& folder,
                                    const std::string& name) {
  fs::path gz = fs::path(folder) / (name + ".gz");
  std::error_code ec;
  if (fs::is_regular_file(gz, ec)) return gz.string();
  fs::path plain = fs::path(folder) / name;
  if (fs::is_regular_file(plain, ec)) return plain.string();
  return unreadable("Fashion-MNIST " + dataset_label(spec) + ": " + gz.string() + " is missing; " +
                    fashion_mnist_hint());
}

expected<std::string> fashion_mnist_folder(const dataset_spec& spec) {
  std::string folder = spec.path.empty() ? default_fashion_mnist_path : spec.path;
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) {
    return unreadable("Fashion-MNIST " + dataset_label(spec) + ": folder " + folder +
                      (fs::exists(folder, ec) ? " is not a folder; " : " does not exist; ") +
                      fashion_mnist_hint());
  }
  return folder;
}

expected<std::vector<std::string>> fashion_mnist_parts(const dataset_spec& spec) {
  if (spec.subset == "all") return std::vector<std::string>{"train", "t10k"};
  if (spec.subset == "train") return std::vector<std::string>{"train"};
  if (spec.subset == "test") return std::vector<std::string>{"t10k"};
  return make_failure(error_code::invalid_config, "Fashion-MNIST " + dataset_label(spec) +
                                                      ": subset = '" + spec.subset +
                                                      "' is not one of all, train, test");
}

expected<idx_part> find_part(const dataset_spec& spec, const std::string& folder,
                             const std::string& part) {
  auto images = find_idx_file(spec, folder, part + "-images-idx3-ubyte");
  if (!images) return images.error();
  auto labels = find_idx_file(spec, folder, part + "-labels-idx1-ubyte");
  if (!labels) return labels.error();
  return idx_part{*images, *labels};
}

struct images_header {
  std::uint32_t count = 0, rows = 0, cols = 0;
};

expected<images_header> read_images_header(gz_reader& in) {
  // The magic number first, so that a label file in the wrong place is named as such.
  std::array<unsigned char, 16> raw{};
  if (auto ok = in.read(raw.data(), 4, "the IDX header"); !ok) return ok.error();
  std::uint32_t magic = big_endian(raw.data());
  if (magic != idx_images_magic) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%08x", magic);
    return unreadable(in.path() + " is not a gzipped IDX image file (magic number " + hex +
                      ", expected 0x00000803); download or reinstall the file");
  }
  if (auto ok = in.read(raw.data() + 4, 12, "the IDX header"); !ok) return ok.error();
  images_header h{big_endian(raw.data() + 4), big_endian(raw.data() + 8),
                  big_endian(raw.data() + 12)};
  if (h.rows == 0 || h.cols == 0 || h.rows > 16384 || h.cols > 16384) {
    return unreadable(in.path() + " declares images of " + std::to_string(h.rows) + "x" +
                      std::to_string(h.cols) + " pixels; the file is corrupt");
  }
  return h;
}

/// Appends the labels of one IDX label file; each must name one of the ten classes.
expected<void> read_labels(const std::string& path, std::vector<std::int32_t>& labels,
                           std::uint32_t& count) {
  gz_reader in(path);
  if (auto ok = in.open(); !ok) return ok;
  std::array<unsigned char, 8> raw{};
  if (auto ok = in.read(raw.data(), raw.size(), "the IDX header"); !ok) return ok;
  std::uint32_t magic = big_endian(raw.data());
  if (magic != idx_labels_magic) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%08x", magic);
    return unreadable(path + " is not a gzipped IDX label file (magic number " + hex +
                      ", expected 0x00000801); download or reinstall the file");
  }
  count = big_endian(raw.data() + 4);
  // Read in chunks so that a corrupt header declaring billions of labels fails on the data
  // instead of allocating for it.
  std::vector<unsigned char> chunk;
  for (std::uint32_t done = 0; done < count;) {
    std::uint32_t n = std::min<std::uint32_t>(count - done, 1u << 20);
    chunk.resize(n);
    if (auto ok = in.read(chunk.data(), n, "the labels"); !ok) return ok;
    for (std::uint32_t i = 0; i < n; ++i) {
      if (chunk[i] >= fashion_mnist_classes().size()) {
        return unreadable(path + ": label " + std::to_string(chunk[i]) + " of item " +
                          std::to_string(done + i) + " is not a class 0-9; the file is corrupt");
      }
      labels.push_back(chunk[i]);
    }
    done += n;
  }
  return in.expect_end();
}

expected<dataset_index> load_fashion_mnist(const dataset_spec& spec) {
  auto parts = fashion_mnist_parts(spec);
  if (!parts) return parts.error();
  auto folder = fashion_mnist_folder(spec);
  if (!folder) return folder.error();
  dataset_index index;
  index.spec = spec;
  index.spec.path = *folder;
  index.class_names = fashion_mnist_classes();
  for (const auto& part : *parts) {
    auto files = find_part(spec, *folder, part);
    if (!files) return files.error();
    if (part == "t10k" && !index.labels.empty())
      index.own_test_begin = static_cast<std::int64_t>(index.labels.size());
    std::uint32_t label_count = 0;
    if (auto ok = read_labels(files->labels_path, index.labels, label_count); !ok) {
      return ok.error();
    }
    // The image file's header must agree; its pixels are read by load_idx_images.
    gz_reader images(files->images_path);
    if (auto ok = images.open(); !ok) return ok.error();
    auto header = read_images_header(images);
    if (!header) return header.error();
    if (header->count != label_count) {
      return unreadable(files->images_path + " holds " + std::to_string(header->count) +
                        " images but " + files->labels_path + " holds " +
                        std::to_string(label_count) + " labels; the files do not belong together");
    }
  }
  return index;
}

// --- image folders ------------------------------------------------------------------------------


expected<dataset_index> load_image_folder(const dataset_spec& spec) {
  const std::string hint =
      "; an image-folder dataset is <path>/<class name>/<image>.{png,jpg,jpeg,bmp}: set path = "
      "<that root folder> in the dataset section";
  std::error_code ec;
  if (spec.path.empty()) {
    return unreadable("image-folder " + dataset_label(spec) + " has no path" + hint);
  }
  fs::path root(spec.path);
  if (!fs::is_directory(root, ec)) {
    return unreadable("image-folder " + dataset_label(spec) + ": folder " + root.string() +
                      (fs::exists(root, ec) ? " is not a folder" : " does not exist") + hint);
  }
  // Class folders in name order; hidden folders (.git, .ipynb_checkpoints) are not classes.
  std::vector<fs::path> class_dirs;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec) && !is_hidden(it->path())) class_dirs.push_back(it->path());
  }
  if (ec) {
    return unreadable("image-folder " + dataset_label(spec) + ": cannot list " + root.string() +
                      ": " + ec.message());
  }
  std::sort(class_dirs.begin(), class_dirs.end(), [](const fs::path& a, const fs::path& b) {
    return a.filename().string() < b.filename().string();
  });
  dataset_index index;
  index.spec = spec;
  for (const auto& dir : class_dirs) {
    std::vector<std::string> names;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->is_regular_file(ec) && !is_hidden(it->path()) && is_image_file(it->path())) {
        names.push_back(it->path().filename().string());
      }
    }
    if (ec) {
      return unreadable("image-folder " + dataset_label(spec) + ": cannot list " + dir.string() +
                        ": " + ec.message());
    }
    // A folder without images is not a class: the model would have an output never trained.
    if (names.empty()) continue;
    std::sort(names.begin(), names.end());
    auto label = static_cast<std::int32_t>(index.class_names.size());
    index.class_names.push_back(dir.filename().string());
    for (const auto& name : names) {
      index.files.push_back((dir / name).string());
      index.labels.push_back(label);
    }
  }
  if (index.class_names.empty()) {
    return unreadable("image-folder " + dataset_label(spec) + ": " + root.string() +
                      " has no class folder with images" + hint);
  }
  return index;
}

}  // namespace

expected<dataset_index> load_dataset_index(const dataset_spec& spec) {
  switch (spec.kind) {
    case dataset_kind::fashion_mnist:
      return load_fashion_mnist(spec);
    case dataset_kind::image_folder:
      return load_image_folder(spec);
    case dataset_kind::coco:
      return load_coco_index(spec);
    case dataset_kind::masks:
      return load_masks_index(spec);
    case dataset_kind::anomaly:
      return load_anomaly_index(spec);
  }
  return make_failure(error_code::invalid_config, dataset_label(spec) + ": unknown dataset kind " +
                                                      std::to_string(static_cast<int>(spec.kind)));
}

expected<idx_images> load_idx_images(const dataset_spec& spec) {
  if (spec.kind != dataset_kind::fashion_mnist) {
    return make_failure(error_code::invalid_config,
                        dataset_label(spec) + " is not a Fashion-MNIST (IDX) dataset");
  }
  auto parts = fashion_mnist_parts(spec);
  if (!parts) return parts.error();
  auto folder = fashion_mnist_folder(spec);
  if (!folder) return folder.error();
  idx_images out;
  for (const auto& part : *parts) {
    auto images_path = find_idx_file(spec, *folder, part + "-images-idx3-ubyte");
    if (!images_path) return images_path.error();
    gz_reader in(*images_path);
    if (auto ok = in.open(); !ok) return ok.error();
    auto header = read_images_header(in);
    if (!header) return header.error();
    if (out.rows != 0 && (header->rows != out.rows || header->cols != out.cols)) {
      return unreadable(*images_path + " holds " + std::to_string(header->rows) + "x" +
                        std::to_string(header->cols) + " images, the other file " +
                        std::to_string(out.rows) + "x" + std::to_string(out.cols) +
                        "; the files do not belong together");
    }
    out.rows = header->rows;
    out.cols = header->cols;
    // Grow 16 MB at a time: a corrupt header declaring a huge count or huge images (up to
    // 2^32 x 16384 x 16384 bytes) fails on the data instead of allocating for it.
    const std::size_t total = std::size_t{header->count} * header->rows * header->cols;
    for (std::size_t done = 0; done < total;) {
      const std::size_t n = std::min<std::size_t>(total - done, std::size_t{16} << 20);
      const std::size_t at = out.pixels.size();
      out.pixels.resize(at + n);
      if (auto ok = in.read(out.pixels.data() + at, n, "the images"); !ok) return ok.error();
      done += n;
    }
    if (auto ok = in.expect_end(); !ok) return ok.error();
    out.count += header->count;
  }
  return out;
}

}  // namespace trainyard
