// Label masks of segment datasets, decoded with OpenCV (in masks.cpp only). Torch- and
// OpenCV-free header, so the engine and the tests see plain bytes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/error.hpp"

namespace trainyard {

/// Reads one label mask: an 8-bit single-channel PNG whose pixel values are label indices.
/// Returns width * height bytes, row-major. dataset_unreadable when the file is missing;
/// image_corrupt when it does not decode, is not 8-bit single-channel, is not
/// expected_width x expected_height (the size of its image), or holds a value >= label_count
/// (the message names the file, the first such pixel and its value).
expected<std::vector<std::uint8_t>> read_mask(const std::string& path, int expected_width,
                                              int expected_height, int label_count);

}  // namespace trainyard
