// The one check of what a user declares, run before anything is stored or queued: by the campaign
// reader (config/campaign.cpp) and by the scheduler on every submission, local or remote. It
// holds the bounds of the field tables (runtime/core/fields.hpp), the checks across fields and
// what each tool kind needs. Only what needs the disk (files present, images readable) is left
// to the engine. No CAF, no torch.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "runtime/core/error.hpp"
#include "runtime/core/specs.hpp"

namespace trainyard {

/// What a spec gets wrong, and where: enough for a campaign to point at the line.
struct spec_problem {
  std::string section;            ///< the spec at fault: "dataset", "split", "tool" or "job"
  std::vector<std::string> keys;  ///< its fields at fault, by table key (a job's settings too)
  std::string message;            ///< what is wrong and what to write instead
};

/// The first problem of a dataset, a split, or a job with the tool it carries; none when valid.
/// With the tool's `dataset`, a job is also checked against what its tool kind needs of it.
std::optional<spec_problem> find_problem(const dataset_spec& dataset);
std::optional<spec_problem> find_problem(const split_spec& split);
std::optional<spec_problem> find_problem(const job_spec& job, const dataset_spec* dataset);

/// invalid_config naming the spec and the field, e.g. "tool 'shirts': input_width: expected a
/// whole number of pixels from 4 to 4096, got 2".
expected<void> validate(const dataset_spec& dataset);
expected<void> validate(const split_spec& split);
expected<void> validate(const job_spec& job, const dataset_spec& dataset);
/// A job whose dataset is not known here: everything but what the tool kind needs of a dataset.
expected<void> validate(const job_spec& job);

struct training_request;
/// What the engine checks of a request beyond validate(spec, dataset): the rank assignment fits
/// the job's devices, a data-parallel job has its group name, and a workspace is given.
expected<void> validate(const training_request& request);

}  // namespace trainyard
