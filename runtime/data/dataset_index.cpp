// Dataset indexes (Fashion-MNIST IDX files read with zlib, image folders listed with
// std::filesystem) and seeded, stratified splits. Called by the dataset actor on its own thread;
// every function here is pure apart from reading files, and nothing is cached globally.
#include "runtime/data/dataset_index.hpp"
#include "runtime/core/seeded_rng.hpp"
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
#include <numeric>
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

// --- splits -------------------------------------------------------------------------------------

// Splits draw from seeded_rng (runtime/core/seeded_rng.hpp): the same numbers on every machine,
// unlike std::shuffle and the std distributions, whose results are implementation-defined.
using split_rng = seeded_rng;

template <class T>
void fisher_yates(std::vector<T>& v, split_rng& rng) {
  for (std::size_t i = v.size(); i > 1; --i) {
    std::size_t j = static_cast<std::size_t>(rng.below(i));
    std::swap(v[i - 1], v[j]);
  }
}

constexpr std::array<split_set, 3> drawn_sets{train_set, validation_set, test_set};

/// One group's exact share of one set: `whole` images plus a `fraction` of one in [0, 1).
struct share {
  std::uint64_t whole = 0;
  double fraction = 0;
};

/// How many images of each group (class) go to each set, so that every set gets exactly its
/// total and each group close to its exact share: the whole part of each share, then the
/// set's leftover images one each to the groups with the largest fractions (ties: lower group
/// first). Sets are filled in order (train, validation, test) and never take more than a group
/// has left; in the rare case where that leaves a set short, further rounds fill it from the
/// groups that still have images, so the totals are always met.
template <class Quota>
std::vector<std::array<std::uint64_t, 3>> allocate(const std::vector<std::uint64_t>& group_sizes,
                                                   const std::array<std::uint64_t, 3>& totals,
                                                   Quota quota) {
  std::size_t groups = group_sizes.size();
  std::vector<std::array<std::uint64_t, 3>> take(groups, {0, 0, 0});
  std::vector<std::uint64_t> left = group_sizes;
  for (std::size_t s = 0; s < 3; ++s) {
    std::vector<share> shares(groups);
    std::uint64_t given = 0;
    for (std::size_t g = 0; g < groups; ++g) {
      shares[g] = quota(s, g);
      take[g][s] = std::min(shares[g].whole, left[g]);
      given += take[g][s];
    }
    std::vector<std::size_t> order(groups);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return shares[a].fraction > shares[b].fraction;
    });
    // Floating-point shares may round a hair over the total: take back from the smallest
    // fractions first.
    while (given > totals[s]) {
      for (auto it = order.rbegin(); it != order.rend() && given > totals[s]; ++it) {
        if (take[*it][s] > 0) {
          --take[*it][s];
          --given;
        }
      }
    }
    while (given < totals[s]) {
      bool progressed = false;
      for (std::size_t g : order) {
        if (given == totals[s]) break;
        if (take[g][s] < left[g]) {
          ++take[g][s];
          ++given;
          progressed = true;
        }
      }
      if (!progressed) break;  // unreachable: the totals sum to at most the dataset size
    }
    for (std::size_t g = 0; g < groups; ++g) left[g] -= take[g][s];
  }
  return take;
}

failure bad_split(const split_spec& spec, const std::string& what) {
  std::string name = spec.name.empty() ? std::string("split") : "split '" + spec.name + "'";
  return make_failure(error_code::invalid_config, name + ": " + what);
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

/// The number of images each set gets, from the spec's fractions or counts.
expected<std::array<std::uint64_t, 3>> set_totals(const split_spec& spec, std::uint64_t n) {
  const std::array<std::pair<const char*, double>, 3> values{
      {{"train", spec.train}, {"validation", spec.validation}, {"test", spec.test}}};
  for (const auto& [key, v] : values) {
    if (!std::isfinite(v) || v < 0) {
      return bad_split(spec, std::string(key) + " = " + number(v) + " must be a number >= 0");
    }
  }
  std::array<std::uint64_t, 3> totals{};
  if (spec.mode == split_mode::proportion) {
    double sum = spec.train + spec.validation + spec.test;
    if (sum > 1 + 1e-9) {
      return bad_split(spec, "proportions train + validation + test = " + number(sum) +
                                 " exceed 1; lower them or use mode = count");
    }
    std::uint64_t used = 0;
    for (std::size_t s = 0; s < 3; ++s) {
      // The small epsilon keeps 0.29 * 100 (28.999999999999996 in binary) at 29.
      double exact = values[s].second * static_cast<double>(n);
      auto total = static_cast<std::uint64_t>(std::floor(exact + 1e-6));
      totals[s] = std::min(total, n - used);
      used += totals[s];
    }
    return totals;
  }
  double sum = 0;
  for (std::size_t s = 0; s < 3; ++s) {
    double v = values[s].second;
    if (v != std::floor(v)) {
      return bad_split(spec, std::string(values[s].first) + " = " + number(v) +
                                 " is not a whole number of images (mode = count)");
    }
    sum += v;
  }
  if (sum > static_cast<double>(n)) {
    return bad_split(spec, "counts train + validation + test = " + number(sum) +
                               " exceed the dataset's " + std::to_string(n) + " images");
  }
  for (std::size_t s = 0; s < 3; ++s) totals[s] = static_cast<std::uint64_t>(values[s].second);
  return totals;
}

/// How many good (group 0) and defect (group 1) images of an anomaly dataset go to each set:
/// defects never to training (make_split's comment in dataset_index.hpp gives the rule).
expected<std::vector<std::array<std::uint64_t, 3>>> anomaly_take(
    const split_spec& spec, const dataset_index& index, std::vector<std::uint64_t> sizes,
    const std::array<std::uint64_t, 3>& totals) {
  if (sizes.size() > 2) {
    return bad_split(spec, "anomaly dataset '" + index.spec.name + "' has labels other than 0 "
                           "(good) and 1 (defect)");
  }
  sizes.resize(2, 0);
  const std::uint64_t good = sizes[0], defect = sizes[1];
  std::vector<std::array<std::uint64_t, 3>> take(2, {0, 0, 0});
  if (spec.mode == split_mode::proportion) {
    const std::array<double, 3> fractions{spec.train, spec.validation, spec.test};
    std::uint64_t used = 0;
    for (std::size_t s = 0; s < 3; ++s) {
      auto whole = static_cast<std::uint64_t>(std::floor(fractions[s] * static_cast<double>(good) + 1e-6));
      take[0][s] = std::min(whole, good - used);
      used += take[0][s];
    }
    double held_out = spec.validation + spec.test;
    if (held_out > 0 && defect > 0) {
      double share = std::min(1.0, spec.train + spec.validation + spec.test);
      auto defects_used = std::min(
          defect, static_cast<std::uint64_t>(std::floor(share * static_cast<double>(defect) + 1e-6)));
      auto to_validation = std::min(
          defects_used, static_cast<std::uint64_t>(std::floor(
                            spec.validation / held_out * static_cast<double>(defects_used) + 1e-6)));
      take[1][1] = to_validation;
      take[1][2] = defects_used - to_validation;
    }
    return take;
  }
  if (totals[0] > good) {
    return bad_split(spec, "train = " + std::to_string(totals[0]) + " exceeds the " +
                               std::to_string(good) + " good images of anomaly dataset '" +
                               index.spec.name +
                               "'; an anomaly tool trains on good images only, so lower train");
  }
  take[0][0] = totals[0];
  std::uint64_t left_good = good - totals[0], left_defect = defect;
  for (std::size_t s = 1; s < 3; ++s) {
    std::uint64_t pool = left_good + left_defect;
    std::uint64_t n = std::min(totals[s], pool);
    using u128 = unsigned __int128;
    auto g = pool == 0 ? 0 : static_cast<std::uint64_t>((u128{n} * left_good + pool / 2) / pool);
    g = std::min(g, left_good);
    std::uint64_t d = n - g;
    if (d > left_defect) {
      d = left_defect;
      g = n - d;
    }
    take[0][s] = g;
    take[1][s] = d;
    left_good -= g;
    left_defect -= d;
  }
  return take;
}

const char* set_name(std::uint8_t set) {
  switch (set) {
    case unused:
      return "unused";
    case train_set:
      return "training";
    case validation_set:
      return "validation";
    case test_set:
      return "test";
    default:
      return "unknown";
  }
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
    std::size_t image_bytes = std::size_t{header->rows} * header->cols;
    // Grow chunk by chunk: a corrupt header declaring a huge count fails on the data instead of
    // allocating for it.
    std::size_t per_chunk = std::max<std::size_t>(1, (std::size_t{16} << 20) / image_bytes);
    for (std::uint32_t done = 0; done < header->count;) {
      std::size_t n = std::min<std::size_t>(header->count - done, per_chunk);
      std::size_t at = out.pixels.size();
      out.pixels.resize(at + n * image_bytes);
      if (auto ok = in.read(out.pixels.data() + at, n * image_bytes, "the images"); !ok) {
        return ok.error();
      }
      done += static_cast<std::uint32_t>(n);
    }
    if (auto ok = in.expect_end(); !ok) return ok.error();
    out.count += header->count;
  }
  return out;
}

expected<std::vector<std::uint8_t>> make_split(const dataset_index& index, const split_spec& spec) {
  std::uint64_t n = index.size();
  if (n == 0) {
    return bad_split(spec, "dataset '" + index.spec.name + "' has no images to split");
  }
  auto totals = set_totals(spec, n);
  if (!totals) return totals.error();
  // Groups: one per class when stratified, else a single group of every image in index order.
  std::vector<std::vector<std::uint64_t>> groups;
  // Anomaly datasets are always split per label: the rule on defects needs the groups.
  const bool anomaly = index.spec.kind == dataset_kind::anomaly;
  if (spec.stratified || anomaly) {
    for (std::uint64_t i = 0; i < n; ++i) {
      std::int32_t label = index.labels[i];
      if (label < 0) {
        return bad_split(spec, "image " + std::to_string(i) + " has the negative label " +
                                   std::to_string(label));
      }
      if (static_cast<std::size_t>(label) >= groups.size()) groups.resize(label + 1);
      groups[label].push_back(i);
    }
  } else {
    groups.emplace_back(n);
    std::iota(groups[0].begin(), groups[0].end(), std::uint64_t{0});
  }
  std::vector<std::uint64_t> sizes;
  for (const auto& g : groups) sizes.push_back(g.size());
  const std::array<double, 3> fractions{spec.train, spec.validation, spec.test};
  auto quota = [&](std::size_t s, std::size_t g) {
    share q;
    if (spec.mode == split_mode::proportion) {
      // Each class gets its fraction of its own images (the epsilon as in set_totals).
      double exact = fractions[s] * static_cast<double>(sizes[g]);
      q.whole = static_cast<std::uint64_t>(std::floor(exact + 1e-6));
      q.fraction = std::max(0.0, exact - static_cast<double>(q.whole));
    } else {
      // Each class gets the set's count in proportion to its size (largest remainder).
      using u128 = unsigned __int128;
      u128 scaled = u128{(*totals)[s]} * sizes[g];
      q.whole = static_cast<std::uint64_t>(scaled / n);
      q.fraction =
          static_cast<double>(static_cast<std::uint64_t>(scaled % n)) / static_cast<double>(n);
    }
    return q;
  };
  std::vector<std::array<std::uint64_t, 3>> take;
  if (anomaly) {
    auto t = anomaly_take(spec, index, sizes, *totals);
    if (!t) return t.error();
    take = std::move(*t);
  } else {
    take = allocate(sizes, *totals, quota);
  }

  std::vector<std::uint8_t> assignment(n, unused);
  split_rng rng(spec.seed);
  for (std::size_t g = 0; g < groups.size(); ++g) {
    fisher_yates(groups[g], rng);
    std::size_t at = 0;
    for (std::size_t s = 0; s < 3; ++s) {
      for (std::uint64_t k = 0; k < take[g][s]; ++k) assignment[groups[g][at++]] = drawn_sets[s];
    }
  }
  return assignment;
}

expected<void> move_images(std::vector<std::uint8_t>& assignment,
                           const std::vector<std::int64_t>& images, split_set to, bool locked) {
  if (to > test_set) {
    return make_failure(error_code::invalid_request,
                        "cannot move images into set " + std::to_string(static_cast<int>(to)) +
                            ": the sets are unused, training, validation and test");
  }
  // Check everything first so that a refused move changes nothing.
  for (std::int64_t image : images) {
    if (image < 0 || static_cast<std::uint64_t>(image) >= assignment.size()) {
      return make_failure(error_code::invalid_request,
                          "image " + std::to_string(image) + " does not exist: the dataset has " +
                              std::to_string(assignment.size()) + " images (0-based)");
    }
  }
  if (locked) {
    const std::string rule =
        "the split is locked by a trained tool: its training and validation sets can only grow; "
        "move test images in instead";
    if (to == unused || to == test_set) {
      return make_failure(error_code::split_locked, std::string("cannot move images into the ") +
                                                        set_name(to) + " set: " + rule);
    }
    for (std::int64_t image : images) {
      std::uint8_t from = assignment[static_cast<std::size_t>(image)];
      if (from != to && (from == train_set || from == validation_set)) {
        return make_failure(error_code::split_locked, "cannot move image " + std::to_string(image) +
                                                          " out of the " + set_name(from) +
                                                          " set: " + rule);
      }
    }
  }
  for (std::int64_t image : images) assignment[static_cast<std::size_t>(image)] = to;
  return {};
}

std::vector<std::int64_t> images_in(const std::vector<std::uint8_t>& assignment, split_set set) {
  std::vector<std::int64_t> out;
  for (std::size_t i = 0; i < assignment.size(); ++i) {
    if (assignment[i] == set) out.push_back(static_cast<std::int64_t>(i));
  }
  return out;
}

}  // namespace trainyard
