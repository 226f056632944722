// LINK STUBS, device_check only: definitions of the trainyard functions that the real sources
// compiled here (classifier.cpp, input.cpp) reference but the device check never calls, because
// their real definitions need libraries the GPU machine lacks:
//   - onnx_graph's layers (onnx_graph.cpp: ONNX and protobuf), reached only from
//     ClassifierImpl::to_onnx (`trainyard export`);
//   - the dataset readers and image decoding (dataset_index.cpp: zlib; images.cpp: OpenCV;
//     spec_json.cpp: nlohmann-json), reached only from load_images and image_cache, while the
//     device check reads its IDX files itself (idx_data.cpp).
// Each stub throws std::logic_error, so a call that should not happen fails loudly.
#include <stdexcept>

#include "runtime/data/dataset_index.hpp"
#include "runtime/store/spec_json.hpp"
#include "runtime/train/images.hpp"
#include "runtime/train/onnx_graph.hpp"

namespace trainyard {

namespace {

[[noreturn]] void not_in_device_check(const char* what) {
  throw std::logic_error(std::string(what) +
                         " is not built into device_check (device_check/link_stubs.cpp)");
}

}  // namespace

std::string onnx_graph::conv(const std::string&, const torch::nn::Conv2dImpl&,
                             const torch::nn::BatchNorm2dImpl*) {
  not_in_device_check("onnx_graph::conv");
}
std::string onnx_graph::batch_norm(const std::string&, const torch::nn::BatchNorm2dImpl&) {
  not_in_device_check("onnx_graph::batch_norm");
}
std::string onnx_graph::linear(const std::string&, const torch::Tensor&, const torch::Tensor&) {
  not_in_device_check("onnx_graph::linear");
}
std::string onnx_graph::linear(const std::string&, const torch::nn::LinearImpl&) {
  not_in_device_check("onnx_graph::linear");
}
std::string onnx_graph::relu(const std::string&) { not_in_device_check("onnx_graph::relu"); }
std::string onnx_graph::max_pool(const std::string&, int, int, int) {
  not_in_device_check("onnx_graph::max_pool");
}
std::string onnx_graph::flatten(const std::string&) {
  not_in_device_check("onnx_graph::flatten");
}

std::string to_json(const dataset_spec&) { not_in_device_check("to_json(dataset_spec)"); }

expected<idx_images> load_idx_images(const dataset_spec&) {
  not_in_device_check("load_idx_images");
}

std::vector<std::uint8_t> resize_images(const std::vector<std::uint8_t>&, std::int64_t,
                                        const image_geometry&, const image_geometry&) {
  not_in_device_check("resize_images");
}

expected<std::vector<std::uint8_t>> decode_image_files(const std::vector<std::string>&,
                                                       const image_geometry&, int) {
  not_in_device_check("decode_image_files");
}

}  // namespace trainyard
