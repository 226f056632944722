#include "config/campaign_keys.hpp"

#include <iomanip>
#include <sstream>
#include <type_traits>
#include <utility>

#include "runtime/core/field_text.hpp"
#include "runtime/core/fields.hpp"

namespace trainyard {

namespace {

template <class T>
std::string default_text(const field_def<T>& def) {
  return def.form == ini_form::reference ? "(required)" : value_text(def);
}

// Calls `on_key(def)` for each campaign key of a table, in table order; nested settings whose
// keys sit in the same section inline.
template <class OnKey>
struct key_walker {
  OnKey on_key;

  template <class... Fields>
  void operator()(const char*, const Fields&... defs) {
    (add(defs), ...);
  }

  template <class T>
  void add(const field_def<T>& def) {
    if (def.form == ini_form::none)
      return;
    if constexpr (has_fields_v<T>) {
      if (def.form == ini_form::flat) {
        fields_of(*this, *def.value);
        return;
      }
    }
    on_key(def);
  }
};

template <class Spec, class OnKey>
void walk_keys(const Spec& spec, OnKey on_key) {
  fields_of(key_walker<OnKey>{std::move(on_key)}, spec);
}

template <class Spec>
std::vector<campaign_key> keys_of() {
  std::vector<campaign_key> out;
  walk_keys(Spec{}, [&out](const auto& def) {
    using T = std::decay_t<decltype(*def.value)>;
    std::string description = def.description;
    if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
      auto limits = def.zero_is_auto       ? std::string("auto or >= 1")
                    : def.negative_is_auto ? "auto or " + def.range.limits()
                                           : def.range.limits();
      if (!limits.empty())
        description += " (" + limits + ")";
    }
    out.push_back(campaign_key{def.ini_key, def.key, default_text(def), description});
  });
  return out;
}

// A sweep's keys: its base job, then the job's keys a variant may change. Tool, split and
// continue are left out: each variant trains a tool of its own from the start on the base's split.
std::vector<campaign_key> sweep_keys(const std::vector<campaign_key>& job) {
  std::vector<campaign_key> out = {
      {"job", "job", "(required)", "the job whose variants the sweep makes (not a continue job)"}};
  for (const auto& k : job)
    if (k.key != "tool" && k.key != "split" && k.key != "continue")
      out.push_back(k);
  return out;
}

}  // namespace

const char* name_of(section_kind kind) {
  switch (kind) {
    case section_kind::campaign: return "campaign";
    case section_kind::dataset: return "dataset";
    case section_kind::split: return "split";
    case section_kind::tool: return "tool";
    case section_kind::job: return "job";
    case section_kind::sweep: return "sweep";
  }
  return "";
}

const std::vector<campaign_key>& campaign_keys(section_kind kind) {
  // [campaign] is the file's own setting, not a spec: its one key is listed here.
  static const std::vector<campaign_key> campaign_section = {
      {"workspace", "workspace", "yard",
       "folder of the state database and trained tools, relative to the campaign file"}};
  static const std::vector<campaign_key> dataset = keys_of<dataset_spec>();
  static const std::vector<campaign_key> split = keys_of<split_spec>();
  static const std::vector<campaign_key> tool = keys_of<tool_spec>();
  static const std::vector<campaign_key> job = keys_of<job_spec>();
  static const std::vector<campaign_key> sweep = sweep_keys(job);
  switch (kind) {
    case section_kind::campaign: return campaign_section;
    case section_kind::dataset: return dataset;
    case section_kind::split: return split;
    case section_kind::tool: return tool;
    case section_kind::job: return job;
    case section_kind::sweep: return sweep;
  }
  return campaign_section;
}

std::string campaign_keys_help() {
  std::ostringstream out;
  out << "Campaign keys (key, default, what it sets):\n";
  for (auto kind : {section_kind::campaign, section_kind::dataset, section_kind::split,
                    section_kind::tool, section_kind::job}) {
    out << "  [" << name_of(kind) << (kind == section_kind::campaign ? "" : ".NAME") << "]\n";
    for (const auto& k : campaign_keys(kind))
      out << "    " << std::left << std::setw(16) << k.key << " " << std::setw(13)
          << k.default_text << " " << k.description << "\n";
  }
  out << "  [sweep.NAME]\n    " << std::left << std::setw(16) << "job" << " " << std::setw(13)
      << "(required)" << " " << campaign_keys(section_kind::sweep).front().description << "\n"
      << "    KEY = V1, V2, ...  any key of [job.NAME] but tool, split and continue; one job per\n"
      << "                       combination of the values, named JOB@KEY=V1,KEY2=W1 and training\n"
      << "                       its own tool TOOL@KEY=V1,KEY2=W1 (at most 1,000 per sweep)\n";
  return out.str();
}

std::string campaign_keys_markdown() {
  // A '|' in a description would end its cell.
  const auto cell = [](std::string text) {
    for (std::size_t at = text.find('|'); at != std::string::npos; at = text.find('|', at + 2))
      text.replace(at, 1, "\\|");
    return text;
  };
  std::ostringstream out;
  for (auto kind : {section_kind::campaign, section_kind::dataset, section_kind::split,
                    section_kind::tool, section_kind::job, section_kind::sweep}) {
    out << "\n`[" << name_of(kind) << (kind == section_kind::campaign ? "" : ".NAME")
        << "]`\n\n| key | default | what it sets |\n|---|---|---|\n";
    for (const auto& k : campaign_keys(kind)) {
      out << "| `" << k.key << "` | " << cell(k.default_text) << " | " << cell(k.description)
          << " |\n";
      if (kind == section_kind::sweep)
        break;  // its other keys are the job's, listed above
    }
    if (kind == section_kind::sweep)
      out << "| any key of `[job.NAME]` but `tool`, `split`, `continue` | | its values, "
             "comma-separated: one job per combination, named `JOB@KEY=V1,KEY2=W1`, training "
             "its own tool `TOOL@KEY=V1,KEY2=W1` (at most 1,000 per sweep) |\n";
  }
  return out.str();
}

std::vector<std::pair<std::string, std::string>> campaign_settings(const job_spec& job) {
  std::vector<std::pair<std::string, std::string>> out;
  const auto add = [&out](const auto& def) { out.emplace_back(def.ini_key, value_text(def)); };
  walk_keys(job.tool, add);
  walk_keys(job, add);
  return out;
}

}  // namespace trainyard
