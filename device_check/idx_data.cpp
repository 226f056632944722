// Uncompressed IDX files into tensors (idx_data.hpp). IDX: a big-endian header (magic 0x0803 for
// images with count, rows, cols; 0x0801 for labels with count), then one byte per pixel or label.
#include "device_check/idx_data.hpp"

#include <algorithm>
#include <array>
#include <fstream>

namespace trainyard::device_check {

namespace {

struct idx_file {
  std::vector<std::int64_t> dims;  ///< count, then rows and cols for images
  std::vector<std::uint8_t> bytes; ///< the payload after the header
};

failure unreadable(const std::string& path, const std::string& what) {
  return make_failure(error_code::dataset_unreadable,
                      path + ": " + what +
                          "; run scripts/device-check.sh --prepare where the gzipped Fashion-MNIST "
                          "is, and carry device_check/data");
}

// The header's `rank` dimensions, then at most `limit` items of the payload (0: all).
expected<idx_file> read_idx(const std::string& path, std::uint32_t magic, int rank,
                            std::int64_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return unreadable(path, "cannot open");
  const auto read_u32 = [&in]() -> std::int64_t {
    std::array<unsigned char, 4> b{};
    in.read(reinterpret_cast<char*>(b.data()), 4);
    return (std::int64_t{b[0]} << 24) | (b[1] << 16) | (b[2] << 8) | b[3];
  };
  if (read_u32() != magic || !in)
    return unreadable(path, "not an IDX file of the expected kind (magic number)");
  idx_file f;
  for (int k = 0; k < rank; ++k)
    f.dims.push_back(read_u32());
  if (!in)
    return unreadable(path, "truncated header");
  if (limit > 0)
    f.dims[0] = std::min(f.dims[0], limit);
  std::int64_t item = 1;
  for (int k = 1; k < rank; ++k)
    item *= f.dims[k];
  f.bytes.resize(static_cast<std::size_t>(f.dims[0] * item));
  in.read(reinterpret_cast<char*>(f.bytes.data()), static_cast<std::streamsize>(f.bytes.size()));
  if (in.gcount() != static_cast<std::streamsize>(f.bytes.size()))
    return unreadable(path, "shorter than its header says");
  return f;
}

}  // namespace

expected<labelled_images> read_idx_pair(const std::string& dir, const std::string& prefix,
                                        std::int64_t limit) {
  const std::string images_path = dir + "/" + prefix + "-images-idx3-ubyte";
  const std::string labels_path = dir + "/" + prefix + "-labels-idx1-ubyte";
  auto images = read_idx(images_path, 0x0803, 3, limit);
  if (!images)
    return images.error();
  auto labels = read_idx(labels_path, 0x0801, 1, limit);
  if (!labels)
    return labels.error();
  const std::int64_t n = images->dims[0];
  if (labels->dims[0] != n)
    return unreadable(labels_path, "holds " + std::to_string(labels->dims[0]) + " labels for " +
                                       std::to_string(n) + " images");
  labelled_images out;
  out.images = torch::from_blob(images->bytes.data(), {n, 1, images->dims[1], images->dims[2]},
                                torch::kUInt8)
                   .clone();
  out.labels = torch::from_blob(labels->bytes.data(), {n}, torch::kUInt8).to(torch::kLong);
  return out;
}

}  // namespace trainyard::device_check
