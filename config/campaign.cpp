// Reads campaign files (format in campaign.hpp, the INI syntax Boost.Program_options reads:
// `key = value`, `[section]`, '#' comments) into the structs of runtime/core/specs.hpp.
//
// Two passes over one text, the first error wins (it is the one the user fixes first):
//  1. one scan finds the section headers, every key with its line and value, and rejects a
//     malformed header, a key before any section, a line without '=', an unknown key (with a
//     "did you mean") and then the first repeated key, each with its line. It is linear in the
//     file: Boost's parser looked every key up in a list of all sections' keys, so 4,000 jobs
//     took minutes;
//  2. each section's strings become typed fields through the specs' field tables
//     (runtime/core/fields.hpp: keys, bounds), then references between sections are resolved,
//     each job gets a copy of its tool_spec, each [sweep.NAME] adds the variants of its base job
//     (sweep_grid.hpp), and validate() checks every spec, written or made by a sweep; what it
//     refuses is reported at the line of the key at fault.
#include "config/campaign.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <type_traits>
#include <utility>

#include "config/campaign_keys.hpp"
#include "config/ini_text.hpp"
#include "config/sweep_grid.hpp"
#include "runtime/core/fields.hpp"
#include "runtime/core/validate.hpp"

namespace trainyard {
namespace {

namespace fs = std::filesystem;

// Where Fashion-MNIST lives when a [dataset.*] of that kind names no path.
constexpr const char* default_fashion_mnist_path = "/usr/share/datasets/fashion-mnist";

// A section kind and the keys it accepts (from the field tables), in the order messages list them.
struct section_schema {
  section_kind kind;
  const char* name;
  std::vector<std::string> keys;
};

const std::vector<section_schema>& schemas() {
  static const std::vector<section_schema> all = [] {
    std::vector<section_schema> out;
    for (auto kind : {section_kind::campaign, section_kind::dataset, section_kind::split,
                      section_kind::tool, section_kind::job, section_kind::sweep}) {
      std::vector<std::string> keys;
      for (const auto& k : campaign_keys(kind))
        keys.push_back(k.key);
      out.push_back(section_schema{kind, name_of(kind), std::move(keys)});
    }
    return out;
  }();
  return all;
}

const section_schema* find_schema(const std::string& kind) {
  for (const auto& schema : schemas())
    if (kind == schema.name) return &schema;
  return nullptr;
}

struct section {
  const section_schema* schema;
  std::string name;    // empty for [campaign]
  std::string header;  // text between the brackets; its keys are stored as header + "." + key
  int line;            // of the header
  std::vector<std::string> keys;  // as written, in the order written (a sweep's grid order)
};

// Where a key was written. Several lines when it is repeated (the file is then refused).
struct key_site {
  std::size_t section;
  std::string key;
  std::vector<int> lines;
};

bool is_valid_name(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

// A spec with a `name`: a reference to it names its section.
template <class T, class = void>
struct is_named : std::false_type {};
template <class T>
struct is_named<T, std::void_t<decltype(std::declval<T&>().name)>> : std::true_type {};

class campaign_reader {
 public:
  campaign_reader(std::string file, std::optional<fs::path> base)
      : file_(std::move(file)), base_(std::move(base)) {}

  expected<campaign> read(std::string text) {
    // A UTF-8 byte-order mark would glue itself to the first header.
    if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);
    campaign result;
    result.path = file_;
    if (scan(text)) {
      convert_sections(result);
      if (!error_) resolve_references(result);
      if (!error_) expand_sweeps(result);
      if (!error_) check_specs(result);
      if (!error_ && result.jobs.empty())
        fail(0, "no [job.NAME] section, so there is nothing to run; add one, e.g. [job.first] "
                "with tool = NAME and split = NAME");
    }
    if (error_) return *error_;
    return result;
  }

 private:
  // --- pass 1: headers and key lines -----------------------------------------------------------
  bool scan(const std::string& text) {
    std::istringstream lines(text);
    std::string raw;
    std::map<std::string, int> header_lines;
    std::optional<std::size_t> current;
    for (int n = 1; std::getline(lines, raw); ++n) {
      // The INI rules: '#' starts a comment anywhere, then surrounding blanks are dropped.
      auto s = trim(raw.substr(0, raw.find('#')));
      if (s.empty()) continue;
      if (s.front() == '[') {
        if (s.back() != ']') {
          fail(n, "malformed section header '" + s + "'; write [kind.name], e.g. [job.first]");
          return false;
        }
        auto inner = s.substr(1, s.size() - 2);
        auto dot = inner.find('.');
        auto kind = inner.substr(0, dot);
        auto name = dot == std::string::npos ? std::string() : inner.substr(dot + 1);
        const auto* schema = find_schema(kind);
        if (!schema) {
          fail(n, "unknown section kind '" + kind + "' in [" + inner + "]; sections are "
                  "[campaign], [dataset.NAME], [split.NAME], [tool.NAME], [job.NAME] and "
                  "[sweep.NAME]");
          return false;
        }
        if (schema->kind == section_kind::campaign && dot != std::string::npos) {
          fail(n, "[" + inner + "]: the campaign section takes no name; write [campaign]");
          return false;
        }
        if (schema->kind != section_kind::campaign && !is_valid_name(name)) {
          fail(n, "[" + inner + "]: a " + kind + " section needs a name of letters, digits, "
                  "'_' and '-', e.g. [" + kind + ".first]");
          return false;
        }
        if (auto [it, fresh] = header_lines.emplace(inner, n); !fresh) {
          fail(n, "[" + inner + "] is declared twice (first at line " +
                      std::to_string(it->second) + "); merge them or rename one");
          return false;
        }
        current = sections_.size();
        sections_.push_back(section{schema, name, inner, n, {}});
        continue;
      }
      auto eq = s.find('=');
      if (eq == std::string::npos) {
        fail(n, "expected 'key = value' or a [section] header, got '" + s + "'");
        return false;
      }
      auto key = trim(s.substr(0, eq));
      if (key.empty()) {
        fail(n, "missing key name before '=' in '" + s + "'");
        return false;
      }
      if (!current) {
        fail(n, "key '" + key + "' comes before any [section]; put it under one, e.g. [campaign]");
        return false;
      }
      section& sec = sections_[*current];
      const auto& known = sec.schema->keys;
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        fail(n, "[" + sec.header + "] unknown key '" + key + "'" + did_you_mean(key, known) +
                    "; [" + sec.schema->name + "] sections take " + join(known));
        return false;
      }
      const std::string option = sec.header + "." + key;
      auto& site = keys_[option];
      site.section = *current;
      site.key = key;
      site.lines.push_back(n);
      if (site.lines.size() == 1)
        sec.keys.push_back(key);
      if (site.lines.size() == 2 && !repeated_)
        repeated_ = &site;
      values_[option] = unquote(trim(s.substr(eq + 1)));
    }
    // Unknown keys are reported first, then the first key given twice (where it comes again).
    if (repeated_) {
      fail(repeated_->lines[1], "[" + sections_[repeated_->section].header + "] key '" +
                                    repeated_->key + "' is given twice (also at line " +
                                    std::to_string(repeated_->lines[0]) + "); keep one");
      return false;
    }
    return true;
  }

  const key_site* site_of(const std::string& option) const {
    auto it = keys_.find(option);
    return it == keys_.end() ? nullptr : &it->second;
  }

  static std::string unquote(const std::string& v) {
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') return v.substr(1, v.size() - 2);
    return v;
  }

  // --- pass 3: typed fields --------------------------------------------------------------------
  void convert_sections(campaign& out) {
    for (const auto& s : sections_) {
      switch (s.schema->kind) {
        case section_kind::campaign: read_campaign(s, out); break;
        case section_kind::dataset: out.datasets.push_back(read_dataset(s)); break;
        case section_kind::split: out.splits.push_back(read_split(s)); break;
        case section_kind::tool: out.tools.push_back(read_tool(s)); break;
        case section_kind::job: out.jobs.push_back(read_job(s)); break;
        case section_kind::sweep: break;  // expanded once the jobs' references are resolved
      }
      owners_[s.schema->kind].push_back(&s);
      if (error_) return;
    }
  }

  void read_campaign(const section& s, campaign& out) {
    // An explicit workspace is relative to the file; the default stays relative to the caller.
    if (auto* v = value(s, "workspace")) {
      if (v->empty()) return fail_key(s, "workspace", "expected a folder path, got ''");
      out.workspace = resolve(*v);
    }
  }

  dataset_spec read_dataset(const section& s) {
    dataset_spec d;
    d.name = s.name;
    read_fields(s, d);
    bool fashion = d.kind == dataset_kind::fashion_mnist;
    if (fashion && !value(s, "path"))
      d.path = default_fashion_mnist_path;
    // A key the dataset's kind does not read is refused rather than silently ignored.
    if (!fashion && value(s, "subset"))
      fail_key(s, "subset", "applies only to kind = fashion-mnist; remove it");
    if (fashion && value(s, "color"))
      fail_key(s, "color", "applies only to kind = folder (Fashion-MNIST is grayscale); "
                           "remove it");
    return d;
  }

  split_spec read_split(const section& s) {
    split_spec p;
    p.name = s.name;
    read_fields(s, p);
    // The proportion defaults (0.8/0.1/0.1) mean nothing as counts: all three are required.
    if (p.mode == split_mode::count)
      for (const char* key : {"train", "validation", "test"})
        if (!value(s, key))
          fail_section(s, std::string("missing key '") + key + "': a count split needs "
                          "explicit train, validation and test image counts, e.g. " + key +
                          " = 1000");
    return p;
  }

  tool_spec read_tool(const section& s) {
    tool_spec t;
    t.name = s.name;
    read_fields(s, t);
    return t;
  }

  job_spec read_job(const section& s) {
    job_spec j;
    j.name = s.name;
    read_fields(s, j);
    if (j.continue_training) {
      // What the job does not inherit from the training it continues (scheduler, on submit).
      std::vector<std::string> keys(s.keys);
      std::sort(keys.begin(), keys.end());
      for (const auto& key : keys)
        if (key != "tool" && key != "split" && key != "continue")
          j.written_settings += (j.written_settings.empty() ? "" : ",") + key;
    }
    return j;
  }

  // A spec's keys, read through its field table.
  template <class Spec>
  void read_fields(const section& s, Spec& x) {
    fields([&](const char*, auto... defs) { (read_key(s, defs), ...); }, x);
  }

  template <class T>
  void read_key(const section& s, const field_def<T>& def) {
    const char* key = def.ini_key;
    if (def.form == ini_form::none) {
      return;
    } else if constexpr (has_fields_v<T>) {
      if (def.form == ini_form::flat)
        read_fields(s, *def.value);
      else if constexpr (is_named<T>::value)
        required_name(s, def, def.value->name);
    } else if (def.form == ini_form::reference) {
      if constexpr (std::is_same_v<T, std::string>)
        required_name(s, def, *def.value);
    } else if (!value(s, key)) {
      return;
    } else if (def.choices) {
      pick(s, key, *def.choices, *def.value);
    } else if constexpr (std::is_same_v<T, bool>) {
      boolean(s, key, *def.value);
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (def.form == ini_form::path && value(s, key)->empty())
        expected_but_got(s, key, "a file or folder path");
      else
        *def.value = def.form == ini_form::path ? resolve(*value(s, key)) : *value(s, key);
    } else if constexpr (std::is_arithmetic_v<T>) {
      number(s, def);
    }
  }

  // --- references ------------------------------------------------------------------------------
  void resolve_references(campaign& out) {
    auto datasets = index_of(out.datasets);
    auto splits = index_of(out.splits);
    auto tools = index_of(out.tools);
    for (std::size_t i = 0; i < out.splits.size() && !error_; ++i)
      known(*owners_[section_kind::split][i], "dataset", out.splits[i].dataset, datasets,
            out.datasets, "dataset");
    for (std::size_t i = 0; i < out.tools.size() && !error_; ++i)
      known(*owners_[section_kind::tool][i], "dataset", out.tools[i].dataset, datasets,
            out.datasets, "dataset");
    for (std::size_t i = 0; i < out.jobs.size() && !error_; ++i) {
      const auto& s = *owners_[section_kind::job][i];
      auto& job = out.jobs[i];
      if (!known(s, "tool", job.tool.name, tools, out.tools, "tool") ||
          !known(s, "split", job.split, splits, out.splits, "split"))
        return;
      job.tool = out.tools[tools.at(job.tool.name)];
      const auto& split = out.splits[splits.at(job.split)];
      if (split.dataset != job.tool.dataset)
        fail_key(s, "split", "split '" + split.name + "' is on dataset '" + split.dataset +
                                 "' but tool '" + job.tool.name + "' learns from dataset '" +
                                 job.tool.dataset + "'; use a split of dataset '" +
                                 job.tool.dataset + "'");
    }
  }

  // --- sweeps: each [sweep.NAME] adds the variants of its base job -----------------------------
  // Each variant is the base job with the swept settings read from the sweep's values, named
  // BASE@key=value,... and training its own tool TOOL@key=value,... (two variants training one
  // tool would overwrite each other). Variants follow the jobs written before their sweep in the
  // file, so the queue keeps file order.
  void expand_sweeps(campaign& out) {
    const auto written = index_of(out.jobs);
    std::vector<int> lines;  // of the section each job comes from, for file order
    for (const section* s : owners_[section_kind::job])
      lines.push_back(s->line);
    sweep_of_.assign(out.jobs.size(), nullptr);
    std::map<std::string, const section*> made;  // "job 'NAME'", "tool 'NAME'" -> its sweep
    for (const section* s : owners_[section_kind::sweep]) {
      expand_sweep(*s, out, written, made);
      if (error_)
        return;
      lines.resize(out.jobs.size(), s->line);
      sweep_of_.resize(out.jobs.size(), s);
    }
    std::vector<std::size_t> order(out.jobs.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return lines[a] < lines[b]; });
    std::vector<job_spec> jobs;
    std::vector<const section*> owners, sweeps;
    for (std::size_t i : order) {
      jobs.push_back(std::move(out.jobs[i]));
      owners.push_back(owners_[section_kind::job][i]);
      sweeps.push_back(sweep_of_[i]);
    }
    out.jobs = std::move(jobs);
    owners_[section_kind::job] = std::move(owners);
    sweep_of_ = std::move(sweeps);
  }

  void expand_sweep(const section& s, campaign& out,
                    const std::map<std::string, std::size_t>& written,
                    std::map<std::string, const section*>& made) {
    const job_spec* base = sweep_base(s, out, written);
    if (!base)
      return;
    std::vector<sweep_axis> axes;
    for (const auto& key : s.keys) {
      if (key == "job")
        continue;
      auto values = split_sweep_values(*value(s, key.c_str()));
      if (!values)
        return fail_key(s, key.c_str(), values.error().message);
      // Each value alone, so a bad one is named before any grid is made.
      for (const auto& v : *values) {
        job_spec scratch = *base;
        read_swept(s, key, v, scratch);
        if (error_)
          return;
      }
      axes.push_back(sweep_axis{key, std::move(*values)});
    }
    if (axes.empty())
      return fail_section(s, "lists no job setting to vary; add one with its values, e.g. "
                             "learning_rate = 0.001, 0.002");
    if (auto size = sweep_grid_size(axes); size > max_sweep_jobs) {
      std::string sizes;
      for (const auto& a : axes)
        sizes += (sizes.empty() ? "" : " x ") + std::to_string(a.values.size());
      return fail_section(s, "makes " + sizes + " jobs, more than " +
                                 std::to_string(max_sweep_jobs) + "; shorten its lists or "
                                 "split it into several sweeps");
    }
    const std::size_t base_index = written.at(base->name);
    const section* base_section = owners_[section_kind::job][base_index];
    const section* tool_section =
        owners_[section_kind::tool][index_of(out.tools).at(base->tool.name)];
    for (const auto& point : expand_sweep_grid(axes)) {
      job_spec job = out.jobs[base_index];
      for (std::size_t a = 0; a < axes.size(); ++a)
        read_swept(s, axes[a].key, point.values[a], job);
      job.name = sweep_variant_name(job.name, point);
      job.tool.name = sweep_variant_name(job.tool.name, point);
      for (const auto& made_name : {"job '" + job.name + "'", "tool '" + job.tool.name + "'"})
        if (auto [it, fresh] = made.emplace(made_name, &s); !fresh)
          return fail_section(s, "makes " + made_name + ", which [" + it->second->header +
                                     "] (line " + std::to_string(it->second->line) +
                                     ") makes too; drop the value from one of them");
      out.tools.push_back(job.tool);
      owners_[section_kind::tool].push_back(tool_section);
      out.jobs.push_back(std::move(job));
      owners_[section_kind::job].push_back(base_section);
    }
  }

  // The written job a sweep varies; none (after failing) when unknown or a continue job.
  const job_spec* sweep_base(const section& s, const campaign& out,
                             const std::map<std::string, std::size_t>& written) {
    const std::string* name = value(s, "job");
    if (!name) {
      fail_section(s, "missing key 'job': name the job whose variants the sweep makes, e.g. "
                      "job = first");
      return nullptr;
    }
    auto it = written.find(*name);
    if (it == written.end()) {
      std::vector<std::string> names;
      for (const auto& [n, i] : written) names.push_back(n);
      fail_key(s, "job", "no [job." + *name + "] section is declared" +
                             did_you_mean(*name, names) + "; declared: " + join(names));
      return nullptr;
    }
    const job_spec& base = out.jobs[it->second];
    if (base.continue_training) {
      fail_key(s, "job", "job '" + *name + "' continues its tool's training, but each variant "
                         "trains a tool of its own from the start; sweep the job that first "
                         "trains tool '" + base.tool.name + "'");
      return nullptr;
    }
    return &base;
  }

  // Reads one swept key's value into `job`, through the key's field in the job's table.
  void read_swept(const section& s, const std::string& key, const std::string& v, job_spec& job) {
    values_[s.header + "." + key] = v;
    read_one(s, key, job);
  }

  template <class Spec>
  void read_one(const section& s, const std::string& key, Spec& x) {
    fields([&](const char*, auto... defs) { (read_if(s, key, defs), ...); }, x);
  }

  template <class T>
  void read_if(const section& s, const std::string& key, const field_def<T>& def) {
    if constexpr (has_fields_v<T>) {
      if (def.form == ini_form::flat)
        read_one(s, key, *def.value);
    } else if (def.form != ini_form::none && key == def.ini_key) {
      read_key(s, def);
    }
  }

  // --- what validate refuses, at the line of the key at fault ------------------------------------
  void check_specs(const campaign& c) {
    for (std::size_t i = 0; i < c.datasets.size() && !error_; ++i)
      report(find_problem(c.datasets[i]), *owners_[section_kind::dataset][i]);
    for (std::size_t i = 0; i < c.splits.size() && !error_; ++i)
      report(find_problem(c.splits[i]), *owners_[section_kind::split][i]);
    auto datasets = index_of(c.datasets);
    auto tools = index_of(c.tools);
    for (std::size_t i = 0; i < c.jobs.size() && !error_; ++i) {
      const auto& job = c.jobs[i];
      auto problem = find_problem(job, &c.datasets[datasets.at(job.tool.dataset)]);
      bool in_tool = problem && problem->section == "tool";
      const section* owner = in_tool ? owners_[section_kind::tool][tools.at(job.tool.name)]
                                     : owners_[section_kind::job][i];
      // A sweep's variant is blamed at the sweep when a key it sets is at fault, else at its
      // base job; either way the message names the variant.
      if (problem && i < sweep_of_.size() && sweep_of_[i]) {
        problem->message = "job '" + job.name + "': " + problem->message;
        if (!in_tool && !keys_at_fault(*problem, *sweep_of_[i]).empty())
          owner = sweep_of_[i];
      }
      report(problem, *owner);
    }
  }

  // The keys of `s` that name a field of `problem`, in table order.
  std::vector<std::string> keys_at_fault(const spec_problem& problem, const section& s) const {
    std::vector<std::string> keys;
    for (const auto& field : problem.keys)
      for (const auto& k : campaign_keys(s.schema->kind))
        if (k.field == field)
          keys.push_back(k.key);
    return keys;
  }

  // Blames the last written of the keys at fault, or says which key is missing.
  void report(const std::optional<spec_problem>& problem, const section& s) {
    if (!problem)
      return;
    const std::vector<std::string> keys = keys_at_fault(*problem, s);
    const char* blamed = nullptr;
    for (const auto& key : keys)
      if (value(s, key.c_str()) && (!blamed || line_of(s, key.c_str()) > line_of(s, blamed)))
        blamed = key.c_str();
    if (blamed)
      fail_key(s, blamed, problem->message);
    else
      fail_section(s, "missing key '" + (keys.empty() ? problem->keys.front() : keys.front()) +
                          "': " + problem->message);
  }

  template <class Spec>
  static std::map<std::string, std::size_t> index_of(const std::vector<Spec>& specs) {
    std::map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < specs.size(); ++i) index.emplace(specs[i].name, i);
    return index;
  }

  template <class Spec>
  bool known(const section& s, const char* key, const std::string& name,
             const std::map<std::string, std::size_t>& index, const std::vector<Spec>& specs,
             const char* kind) {
    if (index.count(name)) return true;
    std::vector<std::string> names;
    for (const auto& spec : specs) names.push_back(spec.name);
    fail_key(s, key, std::string("no [") + kind + "." + name + "] section is declared; " +
                         (names.empty() ? std::string("the file declares no ") + kind
                                        : std::string("declared: ") + join(names)));
    return false;
  }

  // --- typed readers: each assigns `out` only when the key is present and valid ----------------
  const std::string* value(const section& s, const char* key) const {
    auto it = values_.find(s.header + "." + key);
    return it == values_.end() ? nullptr : &it->second;
  }

  int line_of(const section& s, const char* key) const {
    const auto* site = site_of(s.header + "." + key);
    return site ? site->lines.front() : s.line;
  }

  void expected_but_got(const section& s, const char* key, const std::string& expectation) {
    fail_key(s, key, "expected " + expectation + ", got '" + *value(s, key) + "'");
  }

  void boolean(const section& s, const char* key, bool& out) {
    if (auto* v = value(s, key)) {
      if (auto b = parse_bool(*v)) out = *b;
      else expected_but_got(s, key, "true or false (or yes/no, 1/0)");
    }
  }

  // A number within the field's bounds; `auto` is stored as 0, the specs' convention.
  template <class T>
  void number(const section& s, const field_def<T>& def) {
    const std::string& text = *value(s, def.ini_key);
    if ((def.zero_is_auto || def.negative_is_auto) && lower(text) == "auto") {
      *def.value = def.zero_is_auto ? T{0} : static_cast<T>(auto_recipe_value);
      return;
    }
    std::optional<T> n;
    if constexpr (std::is_integral_v<T>)
      n = parse_integer<T>(text);
    else
      n = parse_real(text);
    if (n && def.range.admits(static_cast<double>(*n)) && !(def.zero_is_auto && *n == 0))
      *def.value = *n;
    else
      expected_but_got(s, def.ini_key,
                       def.zero_is_auto       ? std::string("a positive integer or 'auto'")
                       : def.negative_is_auto ? "'auto' or " + def.range.expectation(
                                                                   std::is_integral_v<T>, def.unit)
                                              : def.range.expectation(std::is_integral_v<T>,
                                                                      def.unit));
  }

  template <class T>
  void pick(const section& s, const char* key, const std::vector<choice<T>>& options, T& out) {
    const std::string text = lower(*value(s, key));
    for (const auto& option : options)
      if (!option.alias && text == option.name) {
        out = option.value;
        return;
      }
    auto names = names_of(options);
    expected_but_got(s, key, names.find(',') == std::string::npos ? names : "one of " + names);
  }

  template <class T>
  void required_name(const section& s, const field_def<T>& def, std::string& out) {
    const char* key = def.ini_key;
    if (auto* v = value(s, key)) {
      if (v->empty())
        expected_but_got(s, key, std::string("the name of a [") + key + ".NAME] section");
      else
        out = *v;
    } else {
      fail_section(s, std::string("missing key '") + key + "': name " + def.description +
                          ", e.g. " + key + " = NAME");
    }
  }

  std::string resolve(const std::string& path) const {
    if (!base_ || path.empty() || fs::path(path).is_absolute()) return path;
    return (*base_ / path).lexically_normal().string();
  }

  // --- errors: the first one is kept ------------------------------------------------------------
  void fail(int line, const std::string& what) {
    if (error_) return;
    auto where = line > 0 ? file_ + ":" + std::to_string(line) : file_;
    error_ = make_failure(error_code::invalid_config, where + ": " + what);
  }

  void fail_key(const section& s, const char* key, const std::string& what) {
    fail(line_of(s, key), "[" + s.header + "] key '" + key + "': " + what);
  }

  void fail_section(const section& s, const std::string& what) {
    fail(s.line, "[" + s.header + "] " + what);
  }

  std::string file_;
  std::optional<fs::path> base_;                // folder relative paths are resolved against
  std::vector<section> sections_;               // in file order
  std::map<std::string, key_site> keys_;        // "job.first.seed" -> where it was written
  std::map<std::string, std::string> values_;   // "job.first.seed" -> value, quotes removed
  const key_site* repeated_ = nullptr;          // the first key written twice
  std::map<section_kind, std::vector<const section*>> owners_;  // parallel to campaign's vectors
  std::vector<const section*> sweep_of_;  // parallel to campaign::jobs: a variant's sweep
  std::optional<failure> error_;
};

}  // namespace

expected<campaign> parse_campaign(std::istream& in, const std::string& name_for_errors) {
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad())
    return make_failure(error_code::invalid_config,
                        "cannot read campaign " + name_for_errors + ": read error");
  return campaign_reader(name_for_errors, std::nullopt).read(std::move(text));
}

expected<campaign> load_campaign(const std::string& path) {
  auto cannot_read = [&](const std::string& reason) {
    return make_failure(error_code::invalid_config,
                        "cannot read campaign file " + path + ": " + reason);
  };
  std::error_code ec;
  if (fs::is_directory(path, ec)) return cannot_read("it is a folder; name the .ini file in it");
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) return cannot_read(errno ? std::strerror(errno) : "cannot open it");
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) return cannot_read(errno ? std::strerror(errno) : "read error");
  auto folder = fs::absolute(fs::path(path), ec).parent_path();
  if (ec) folder = fs::path(path).parent_path();
  return campaign_reader(path, folder).read(std::move(text));
}

}  // namespace trainyard
