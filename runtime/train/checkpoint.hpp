// checkpoint.pt: the tool's state after its last completed iteration (tool_state), with the
// model's and the optimizer's state and the default generator's, so a job resumes where it stopped.
// Internal to the training runtime (runtime/train/): includes LibTorch.
#pragma once

#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <utility>

#include <torch/torch.h>

#include "runtime/core/error.hpp"
#include "runtime/train/failures.hpp"
#include "runtime/train/tool_files.hpp"
#include "runtime/train/weight_average.hpp"

namespace trainyard {

/// Serialises with `save(std::ostream&)` into memory, then writes the bytes through
/// write_file_atomically: a crash or a full disk leaves the previous file intact, and a full
/// disk is a job failure saying so (LibTorch writing to a full disk itself threw again while
/// unwinding and aborted the process). Throws job_failure.
/// With `previous` set, the file replaced is kept under that name (write_file_atomically).
template <class Save>
void save_atomically(const std::string& path, Save&& save, const std::string& previous = "") {
  std::ostringstream bytes;
  std::forward<Save>(save)(bytes);
  if (auto ok = write_file_atomically(path, bytes.str(), previous); !ok)
    throw job_failure{ok.error()};
}

/// Writes `state` (its checkpoint fields), keeping the checkpoint it replaces as
/// tool_files::previous_checkpoint beside it, with the model, the optimizer (of the kind named
/// `optimizer_kind`, "adam", "adamw" or "sgd") and the weight average when there is one; throws
/// on failure.
void save_checkpoint(const std::string& path, const tool_state& state, torch::nn::Module& model,
                     torch::optim::Optimizer& optimizer, const std::string& optimizer_kind,
                     const weight_average* average);

/// The checkpoint's state and its archive (model and optimizer are read once they exist).
struct loaded_checkpoint {
  tool_state state;
  torch::serialize::InputArchive archive;
};

/// storage_failed naming the file when it is unreadable. Its tensors are read onto `device` (the
/// job's), whatever device wrote them.
expected<std::unique_ptr<loaded_checkpoint>> read_checkpoint(const std::string& path,
                                                             torch::Device device = torch::kCPU);

/// The checkpoint at `latest`, or, when it does not read (damaged, or missing after a crash
/// between two renames), the one at `previous`, with `note` saying so; null when neither file
/// exists, or when neither reads and the job does not require it (a fresh job replaces it); else
/// the failure of `latest`.
expected<std::unique_ptr<loaded_checkpoint>> read_latest_checkpoint(const std::string& latest,
                                                                    const std::string& previous,
                                                                    bool required, std::string& note,
                                                                    torch::Device device = torch::kCPU);

/// Loads the model saved in `checkpoint`, the optimizer's state when the checkpoint's optimizer
/// is of `optimizer_kind` (a continued job may change it, and then starts its moments afresh),
/// and the default generator's state.
void restore_training(loaded_checkpoint& checkpoint, torch::nn::Module& model,
                      torch::optim::Optimizer& optimizer, const std::string& optimizer_kind);

/// Loads the weight average saved in `checkpoint` into `average`; false when it holds none (a
/// tool trained without averaging): the average then keeps the weights it started from.
bool restore_average(loaded_checkpoint& checkpoint, weight_average& average);

}  // namespace trainyard
