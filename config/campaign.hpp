// Campaign files: the INI file that `trainyard run CAMPAIGN.ini` executes, read into the plain
// structs of runtime/core/specs.hpp. Parsing only: nothing here touches a dataset or the workspace, so
// a campaign that parses may still fail later (a missing dataset folder, a split larger than its
// dataset). Boost.Program_options stays inside campaign.cpp; this header does not expose it.
//
// Format (see config/examples/*.ini for commented examples):
//
//   # a comment; '#' starts a comment anywhere on a line, so values cannot contain '#'
//   [campaign]                  at most once, optional
//   workspace = yard            folder of the state database and trained tools
//   [dataset.NAME]              kind = fashion-mnist | folder (default fashion-mnist)
//                               path (folder: required; fashion-mnist: default
//                                     /usr/share/datasets/fashion-mnist)
//                               subset = all | train | test (fashion-mnist only; default all)
//                               color = BOOL (folder only; default false)
//   [split.NAME]                dataset (required), mode = proportion | count,
//                               train, validation, test, seed, stratified
//   [tool.NAME]                 kind = classify, dataset (required), width, height, model_width
//   [job.NAME]                  tool, split (both required), continue, iterations, max_iterations,
//                               patience, min_delta, batch_size, learning_rate, deterministic,
//                               seed, threads, memory_share, devices, and the augmentation ranges
//                               flip_horizontal, flip_vertical, rotation, scale, shift, shear,
//                               brightness, contrast, noise
//
// NAME is one or more of [A-Za-z0-9_-]; each kind has its own namespace. Sections may come in
// any order and refer to sections declared later. Keys are `key = value`, each at most once per
// section; a value may be wrapped in one pair of double quotes. Booleans are true/false, yes/no,
// 1/0. `iterations` and `batch_size` take a positive integer or `auto`. Every key that is left
// out keeps the default documented in runtime/core/specs.hpp.
//
// Paths: load_campaign resolves a relative dataset `path` and an explicit relative `workspace`
// against the folder holding the campaign file, so a campaign runs the same from any directory.
// Without a `workspace` key the workspace is `yard`, relative to the directory the command runs
// in (DESIGN.md: "default ./yard"). parse_campaign has no file, so it resolves nothing and keeps
// relative paths as written.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "runtime/core/error.hpp"
#include "runtime/core/specs.hpp"

namespace trainyard {

/// Everything a campaign file declares, in file order within each kind.
struct campaign {
  std::string path;                 ///< the file it was read from, as given (or the stream's name)
  std::string workspace = "yard";   ///< state folder; default "yard" in the current directory
  std::vector<dataset_spec> datasets;
  std::vector<split_spec> splits;
  std::vector<tool_spec> tools;     ///< every declared tool, used by a job or not
  std::vector<job_spec> jobs;       ///< in file order; each carries a copy of its tool_spec
};

/// Reads and checks the campaign file at `path`, resolving relative paths against its folder.
/// Every failure is error_code::invalid_config with a message "FILE:LINE: [section] key 'k': ..."
/// (LINE where one applies) that says what to write instead.
expected<campaign> load_campaign(const std::string& path);

/// Parses a campaign from a stream; `name_for_errors` starts every error message and becomes
/// campaign::path. Relative paths are kept as written.
expected<campaign> parse_campaign(std::istream& in, const std::string& name_for_errors);

}  // namespace trainyard
