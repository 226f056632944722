// Campaign files: the INI file that `trainyard run CAMPAIGN.ini` executes, read into the plain
// structs of runtime/core/specs.hpp. Parsing only: nothing here touches a dataset or the workspace, so
// a campaign that parses may still fail later (a missing dataset folder, a split larger than its
// dataset). The reader is our own (campaign.cpp); this header needs no parser.
//
// Format (see config/examples/*.ini for commented examples):
//
//   # a comment; '#' starts a comment anywhere on a line, so values cannot contain '#'
//   [campaign]                  at most once, optional; workspace = FOLDER
//   [dataset.NAME]              kind, path, subset, color, annotations, masks
//   [split.NAME]                dataset (required), mode, train, validation, test, seed, ...
//   [tool.NAME]                 kind, dataset (required), width, height, model_width, ...
//   [job.NAME]                  tool, split (both required), iterations, ... and augmentation
//   [sweep.NAME]                job = BASE (required) and job settings with lists of values:
//                                 learning_rate = 0.001, 0.002
//                                 flip_horizontal = 0, 1
//                               makes one job per combination (the first key varying slowest),
//                               named BASE@learning_rate=0.001,flip_horizontal=0 (keys in the
//                               order written, values as written), otherwise the base job but
//                               training its own tool TOOL@learning_rate=0.001,flip_horizontal=0.
//                               At most 1,000 jobs per sweep; the base may not be a continue job.
//
// `trainyard run --help` lists every key of every section with its default and meaning; the list
// is generated from the field tables of the specs (runtime/core/fields.hpp), which the reader
// also reads the keys through.
//
// NAME is one or more of [A-Za-z0-9_-]; each kind has its own namespace. Sections may come in
// any order and refer to sections declared later. Keys are `key = value`, each at most once per
// section; a value may be wrapped in one pair of double quotes. Booleans are true/false, yes/no,
// 1/0. `iterations` and `batch_size` take a positive integer or `auto`. Every key that is left
// out keeps its default. A file is refused when validate() (runtime/core/validate.hpp) refuses
// one of its specs, at the line of the key at fault.
//
// Paths: load_campaign resolves a relative dataset `path` and an explicit relative `workspace`
// against the folder holding the campaign file, so a campaign runs the same from any directory.
// Without a `workspace` key the workspace is `yard`, relative to the directory the command runs
// in. parse_campaign has no file, so it resolves nothing and keeps relative paths as written.
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
  std::vector<tool_spec> tools;     ///< every declared tool, used by a job or not, then sweeps'
  /// In file order (a sweep's variants where the sweep is written); each carries a copy of its
  /// tool_spec.
  std::vector<job_spec> jobs;
};

/// Reads and checks the campaign file at `path`, resolving relative paths against its folder.
/// Every failure is error_code::invalid_config with a message "FILE:LINE: [section] key 'k': ..."
/// (LINE where one applies) that says what to write instead.
expected<campaign> load_campaign(const std::string& path);

/// Parses a campaign from a stream; `name_for_errors` starts every error message and becomes
/// campaign::path. Relative paths are kept as written.
expected<campaign> parse_campaign(std::istream& in, const std::string& name_for_errors);

}  // namespace trainyard
