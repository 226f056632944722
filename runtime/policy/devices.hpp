// Which devices a node's workers train on: the `--devices` text parsed, then resolved against what
// this build and this machine have. A pure policy: the caller says how many CUDA devices it sees
// and whether its LibTorch can train on them, so tests cover every refusal without a GPU.
#pragma once

#include <string>
#include <vector>

#include "runtime/core/error.hpp"

namespace trainyard {

/// `--devices` as written: `cpu`, `all`, or a comma-separated list of `cpu` and `cuda:N`.
struct device_request {
  bool all = false;        ///< every CUDA device, or the CPU when there is none
  bool cpu = false;        ///< the list names the CPU
  std::vector<int> cuda;   ///< the CUDA indices the list names, in its order, each once
};

/// Parses `--devices`; invalid_config naming the bad item and what is accepted.
expected<device_request> parse_devices(const std::string& text);

/// What a node can train on.
struct device_support {
  int cuda_devices = 0;     ///< CUDA devices this process sees
  bool torch_cuda = false;  ///< this build's LibTorch trains on CUDA
  /// Why there is no CUDA device to train on (a CPU-only LibTorch, no driver, none visible);
  /// empty when there are some.
  std::string why_not;
};

/// The workers a node starts, one per device name ("cpu", "cuda:0", ...), in the request's order.
/// `all` is every CUDA device, or the CPU when none can train (`note` then says why, for the
/// node to print). A named CUDA device this build or machine cannot train on is refused with the
/// reason and what to do.
expected<std::vector<std::string>> resolve_devices(const device_request& request,
                                                   const device_support& support,
                                                   std::string& note);

/// parse_devices then resolve_devices: the device names `--devices` text stands for.
expected<std::vector<std::string>> devices_to_train_on(const std::string& text,
                                                       const device_support& support,
                                                       std::string& note);

/// The CUDA index of a device name ("cuda:1" → 1), or -1 for "cpu" and anything else.
int cuda_index(const std::string& device);

}  // namespace trainyard
