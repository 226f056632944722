// The keys of each campaign section, generated from the field tables of the specs
// (runtime/core/fields.hpp): what the campaign reader accepts and what `--help` lists.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace trainyard {

struct job_spec;

/// The sections of a campaign file; every kind but `campaign` takes a name ([job.NAME]). A sweep
/// makes variants of a job, one per combination of the values it lists for the job's settings.
enum class section_kind { campaign, dataset, split, tool, job, sweep };

/// One key of a campaign section.
struct campaign_key {
  std::string key;          ///< as written in the file, e.g. "width"
  std::string field;        ///< the field's key in its table (and in JSON), e.g. "input_width"
  std::string default_text; ///< "28", "auto", "(required)"
  std::string description;
};

/// "dataset", "job", ...: the word of a section header.
const char* name_of(section_kind kind);

/// The keys a section takes, in table order (the keys of nested settings inline). A sweep takes
/// `job` (its base job) and the job's training settings (not tool, split or continue).
const std::vector<campaign_key>& campaign_keys(section_kind kind);

/// Every section's keys with default and description, for `trainyard run --help`.
std::string campaign_keys_help();

/// The same as Markdown tables, one per section, for `trainyard help keys --markdown` (the
/// README's key table is this text; a test compares them).
std::string campaign_keys_markdown();

/// A job's settings as a campaign writes them, as (key, value) pairs: its tool's keys, then the
/// job's own (tool and split by name, "auto" for an automatic count). For `trainyard compare`.
std::vector<std::pair<std::string, std::string>> campaign_settings(const job_spec& job);

}  // namespace trainyard
