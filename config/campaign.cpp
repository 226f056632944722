// Reads campaign files (format in campaign.hpp) into the structs of runtime/core/specs.hpp.
// Boost.Program_options is used here (and in config/ only), never from a header.
//
// Three passes over one text, the first error wins (it is the one the user fixes first):
//  1. a pre-scan of our own finds the section headers and the line of every key, because Boost
//     reports no line numbers; it also rejects what Boost would misread (a malformed header, a key
//     before any section, a line without '=') with the line where it happens;
//  2. Boost parses the text against the keys allowed in the sections found, all as strings, and
//     rejects unknown and repeated keys;
//  3. each section's strings become typed fields with strict checks, then references between
//     sections are resolved and each job gets a copy of its tool_spec.
#include "config/campaign.hpp"

#include <boost/program_options.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <utility>

namespace trainyard {
namespace {

namespace po = boost::program_options;
namespace fs = std::filesystem;

// Where Fashion-MNIST lives when a [dataset.*] of that kind names no path.
constexpr const char* default_fashion_mnist_path = "/usr/share/datasets/fashion-mnist";

enum class section_kind { campaign, dataset, split, tool, job };

// A section kind and the keys it accepts, in the order the error messages list them.
struct section_schema {
  section_kind kind;
  const char* name;
  std::vector<std::string> keys;
};

const std::vector<section_schema>& schemas() {
  static const std::vector<section_schema> all = {
      {section_kind::campaign, "campaign", {"workspace"}},
      {section_kind::dataset, "dataset", {"kind", "path", "subset", "color", "annotations", "masks"}},
      {section_kind::split,
       "split",
       {"dataset", "mode", "train", "validation", "test", "seed", "stratified"}},
      {section_kind::tool,
       "tool",
       {"kind", "dataset", "width", "height", "model_width", "batch_norm", "dropout", "max_objects",
        "threshold"}},
      {section_kind::job,
       "job",
       {"tool", "split", "continue", "iterations", "max_iterations", "patience", "min_delta",
        "batch_size", "learning_rate", "deterministic", "seed", "threads", "memory_share",
        "devices", "flip_horizontal", "flip_vertical", "rotation", "scale", "shift", "shear",
        "brightness", "contrast", "noise"}},
  };
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
  std::string header;  // text between the brackets; Boost prefixes its keys with header + "."
  int line;            // of the header
};

// Where a key was written. Several lines when it is repeated (Boost then refuses the file).
struct key_site {
  std::size_t section;
  std::string key;
  std::vector<int> lines;
};

std::string trim(const std::string& s) {
  const char* space = " \t\r\n\v\f";
  auto first = s.find_first_not_of(space);
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(space) - first + 1);
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_valid_name(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Strict number parsing: the whole text, no sign for unsigned, no spaces, finite reals only.
template <class Int>
std::optional<Int> parse_integer(const std::string& text) {
  Int value{};
  const char* end = text.data() + text.size();
  auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || stop != end) return std::nullopt;
  return value;
}

std::optional<double> parse_real(const std::string& text) {
  double value = 0;
  const char* end = text.data() + text.size();
  auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || stop != end || !std::isfinite(value))
    return std::nullopt;
  return value;
}

std::optional<bool> parse_bool(const std::string& text) {
  auto t = lower(text);
  if (t == "true" || t == "yes" || t == "1") return true;
  if (t == "false" || t == "no" || t == "0") return false;
  return std::nullopt;
}

class campaign_reader {
 public:
  campaign_reader(std::string file, std::optional<fs::path> base)
      : file_(std::move(file)), base_(std::move(base)) {}

  expected<campaign> read(std::string text) {
    // A UTF-8 byte-order mark would glue itself to the first header.
    if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);
    campaign result;
    result.path = file_;
    if (scan(text) && parse_with_boost(text)) {
      convert_sections(result);
      if (!error_) resolve_references(result);
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
      // Boost's rules: '#' starts a comment anywhere, then surrounding blanks are dropped.
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
                  "[campaign], [dataset.NAME], [split.NAME], [tool.NAME] and [job.NAME]");
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
        sections_.push_back(section{schema, name, inner, n});
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
      auto& site = keys_[sections_[*current].header + "." + key];
      site.section = *current;
      site.key = key;
      site.lines.push_back(n);
    }
    return true;
  }

  // --- pass 2: Boost.Program_options -----------------------------------------------------------
  bool parse_with_boost(const std::string& text) {
    try {
      po::options_description allowed;
      for (const auto& s : sections_)
        for (const auto& key : s.schema->keys)
          allowed.add_options()((s.header + "." + key).c_str(), po::value<std::string>());
      std::istringstream in(text);
      po::variables_map found;
      po::store(po::parse_config_file(in, allowed, /*allow_unregistered=*/false), found);
      for (const auto& [name, value] : found) values_[name] = unquote(value.as<std::string>());
      return true;
    } catch (const po::unknown_option& e) {
      const auto* site = site_of(e.get_option_name());
      if (!site) {
        fail(0, "unknown key '" + e.get_option_name() + "'");
        return false;
      }
      const auto& s = sections_[site->section];
      std::string hint;
      for (const auto& key : s.schema->keys)
        if (edit_distance(key, site->key) <= 2) {
          hint = " (did you mean '" + key + "'?)";
          break;
        }
      fail(site->lines.front(), "[" + s.header + "] unknown key '" + site->key + "'" + hint +
                                    "; [" + s.schema->name + "] sections take " +
                                    join(s.schema->keys));
    } catch (const po::multiple_occurrences& e) {
      const auto* site = site_of(e.get_option_name());
      if (!site || site->lines.size() < 2) {
        fail(0, std::string(e.what()));
        return false;
      }
      fail(site->lines[1], "[" + sections_[site->section].header + "] key '" + site->key +
                               "' is given twice (also at line " +
                               std::to_string(site->lines[0]) + "); keep one");
    } catch (const po::error& e) {
      // The pre-scan rejects every malformed line Boost knows of, so this is a safety net.
      fail(0, std::string("cannot parse the file: ") + e.what());
    }
    return false;
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
    choice(s, "kind", {{"fashion-mnist", dataset_kind::fashion_mnist},
                       {"folder", dataset_kind::image_folder},
                       {"coco", dataset_kind::coco},
                       {"masks", dataset_kind::masks},
                       {"anomaly", dataset_kind::anomaly}}, d.kind);
    bool fashion = d.kind == dataset_kind::fashion_mnist;
    if (auto* v = value(s, "path")) {
      if (v->empty()) fail_key(s, "path", "expected a folder path, got ''");
      d.path = resolve(*v);
    } else if (fashion) {
      d.path = default_fashion_mnist_path;
    } else {
      fail_section(s, "missing key 'path': a folder dataset needs the folder that holds one "
                      "sub-folder of images per label, e.g. path = images");
    }
    if (value(s, "subset")) {
      if (!fashion)
        fail_key(s, "subset", "applies only to kind = fashion-mnist; remove it");
      else
        choice(s, "subset", {{"all", std::string("all")}, {"train", std::string("train")},
                             {"test", std::string("test")}}, d.subset);
    }
    for (const char* key : {"annotations", "masks"}) {
      auto* v = value(s, key);
      if (!v) continue;
      if (v->empty()) fail_key(s, key, "expected a file or folder path, got ''");
      (std::string(key) == "annotations" ? d.annotations : d.masks) = resolve(*v);
    }
    if (d.kind == dataset_kind::coco && d.annotations.empty())
      fail_section(s, "missing key 'annotations': a coco dataset needs its COCO JSON file of "
                      "boxes, e.g. annotations = boxes.json");
    if (d.kind == dataset_kind::masks && d.masks.empty())
      fail_section(s, "missing key 'masks': a masks dataset needs the folder of label masks "
                      "(one PNG per image, same name), e.g. masks = masks");
    if (value(s, "color")) {
      if (fashion)
        fail_key(s, "color", "applies only to kind = folder (Fashion-MNIST is grayscale); "
                             "remove it");
      else
        boolean(s, "color", d.color);
    }
    return d;
  }

  split_spec read_split(const section& s) {
    split_spec p;
    p.name = s.name;
    required_name(s, "dataset", "the dataset to split, e.g. dataset = fashion", p.dataset);
    choice(s, "mode", {{"proportion", split_mode::proportion}, {"count", split_mode::count}},
           p.mode);
    const char* sets[] = {"train", "validation", "test"};
    double* fields[] = {&p.train, &p.validation, &p.test};
    if (p.mode == split_mode::proportion) {
      real(s, "train", p.train, [](double v) { return v > 0 && v <= 1; },
           "a fraction of the dataset > 0 and <= 1");
      real(s, "validation", p.validation, [](double v) { return v >= 0 && v <= 1; },
           "a fraction of the dataset from 0 to 1");
      real(s, "test", p.test, [](double v) { return v >= 0 && v <= 1; },
           "a fraction of the dataset from 0 to 1");
      double sum = p.train + p.validation + p.test;
      if (!error_ && sum > 1 + 1e-9) {
        // Blame the last of the three keys written: that is where the total went over.
        const char* last = nullptr;
        for (const char* key : sets)
          if (value(s, key) && (!last || line_of(s, key) > line_of(s, last))) last = key;
        std::ostringstream what;
        what << "train + validation + test = " << sum
             << ", but proportions must sum to at most 1; lower one of them";
        if (last)
          fail_key(s, last, what.str());
        else
          fail_section(s, what.str());
      }
    } else {
      // The proportion defaults (0.8/0.1/0.1) mean nothing as counts: all three are required.
      for (int i = 0; i < 3; ++i) {
        if (!value(s, sets[i])) {
          fail_section(s, std::string("missing key '") + sets[i] + "': a count split needs "
                          "explicit train, validation and test image counts, e.g. " + sets[i] +
                          " = 1000");
          continue;
        }
        std::uint64_t count = 0;
        unsigned_integer(s, sets[i], count, i == 0 ? 1 : 0,
                         i == 0 ? "a whole number of images >= 1"
                                : "a whole number of images >= 0");
        *fields[i] = static_cast<double>(count);
      }
    }
    unsigned_integer(s, "seed", p.seed, 0, "a whole number >= 0");
    boolean(s, "stratified", p.stratified);
    return p;
  }

  tool_spec read_tool(const section& s) {
    tool_spec t;
    t.name = s.name;
    choice(s, "kind", {{"classify", tool_kind::classify}, {"locate", tool_kind::locate},
                       {"segment", tool_kind::segment}, {"anomaly", tool_kind::anomaly}}, t.kind);
    required_name(s, "dataset", "the dataset the tool learns from, e.g. dataset = fashion",
                  t.dataset);
    integer(s, "width", t.input_width, 1, "a positive number of pixels");
    integer(s, "height", t.input_height, 1, "a positive number of pixels");
    integer(s, "model_width", t.model_width, 1, "a positive number of channels");
    boolean(s, "batch_norm", t.batch_norm);
    real(s, "dropout", t.dropout, [](double v) { return v >= 0 && v < 1; }, "a number in [0, 1)");
    integer(s, "max_objects", t.max_objects, 1, "a positive number of boxes");
    real(s, "threshold", t.detection_threshold, [](double v) { return v >= 0 && v <= 1; },
         "a score in [0, 1]");
    return t;
  }

  job_spec read_job(const section& s) {
    job_spec j;
    j.name = s.name;
    required_name(s, "tool", "the tool to train, e.g. tool = shirts", j.tool.name);
    required_name(s, "split", "the split to train on, e.g. split = main", j.split);
    boolean(s, "continue", j.continue_training);
    auto& t = j.settings;
    integer_or_auto(s, "iterations", t.iterations);
    integer(s, "max_iterations", t.max_iterations, 1, "a whole number of iterations >= 1");
    integer(s, "patience", t.patience, 0, "a whole number of iterations >= 0");
    real(s, "min_delta", t.min_delta, [](double v) { return v >= 0; }, "a number >= 0");
    integer_or_auto(s, "batch_size", t.batch_size);
    real(s, "learning_rate", t.learning_rate, [](double v) { return v > 0; }, "a number > 0");
    boolean(s, "deterministic", t.deterministic);
    unsigned_integer(s, "seed", t.seed, 0, "a whole number >= 0");
    integer(s, "threads", t.threads, 0, "a whole number >= 0 (0 = all cores)");
    real(s, "memory_share", t.memory_share, [](double v) { return v > 0 && v <= 1; },
         "a fraction > 0 and <= 1");
    integer(s, "devices", t.devices, 1, "a whole number of devices >= 1");
    auto& a = t.augmentation;
    boolean(s, "flip_horizontal", a.flip_horizontal);
    boolean(s, "flip_vertical", a.flip_vertical);
    real(s, "rotation", a.rotation, [](double v) { return v >= 0 && v <= 180; },
         "a number of degrees from 0 to 180");
    real(s, "scale", a.scale, [](double v) { return v >= 0 && v < 1; },
         "a fraction >= 0 and < 1");
    real(s, "shift", a.shift, [](double v) { return v >= 0 && v < 1; },
         "a fraction of the image size >= 0 and < 1");
    real(s, "shear", a.shear, [](double v) { return v >= 0 && v < 90; },
         "a number of degrees >= 0 and < 90");
    // Pixels are in [0, 1]: a larger shift would turn every image white or black.
    real(s, "brightness", a.brightness, [](double v) { return v >= 0 && v <= 1; },
         "a number from 0 to 1");
    real(s, "contrast", a.contrast, [](double v) { return v >= 0 && v < 1; },
         "a fraction >= 0 and < 1");
    real(s, "noise", a.noise, [](double v) { return v >= 0 && v <= 1; },
         "a standard deviation from 0 to 1");
    if (!error_ && j.continue_training && t.iterations == 0) {
      const char* msg = "continue training needs an explicit iterations count, e.g. iterations = 2";
      if (value(s, "iterations"))
        fail_key(s, "iterations", msg);
      else
        fail_key(s, "continue", msg);
    }
    return j;
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

  void integer(const section& s, const char* key, int& out, int min, const char* expectation) {
    if (auto* v = value(s, key)) {
      auto n = parse_integer<int>(*v);
      if (n && *n >= min) out = *n;
      else expected_but_got(s, key, expectation);
    }
  }

  void unsigned_integer(const section& s, const char* key, std::uint64_t& out,
                        std::uint64_t min, const char* expectation) {
    if (auto* v = value(s, key)) {
      auto n = parse_integer<std::uint64_t>(*v);
      if (n && *n >= min) out = *n;
      else expected_but_got(s, key, expectation);
    }
  }

  // `auto` is stored as 0, the specs' convention.
  void integer_or_auto(const section& s, const char* key, int& out) {
    if (auto* v = value(s, key)) {
      if (lower(*v) == "auto") { out = 0; return; }
      auto n = parse_integer<int>(*v);
      if (n && *n >= 1) out = *n;
      else expected_but_got(s, key, "a positive integer or 'auto'");
    }
  }

  template <class Accept>
  void real(const section& s, const char* key, double& out, Accept accept,
            const char* expectation) {
    if (auto* v = value(s, key)) {
      auto x = parse_real(*v);
      if (x && accept(*x)) out = *x;
      else expected_but_got(s, key, expectation);
    }
  }

  template <class T>
  void choice(const section& s, const char* key,
              const std::vector<std::pair<std::string, T>>& options, T& out) {
    if (auto* v = value(s, key)) {
      std::vector<std::string> names;
      for (const auto& [name, option] : options) {
        if (lower(*v) == name) { out = option; return; }
        names.push_back(name);
      }
      expected_but_got(s, key, names.size() == 1 ? names.front() : "one of " + join(names));
    }
  }

  void required_name(const section& s, const char* key, const char* what, std::string& out) {
    if (auto* v = value(s, key)) {
      if (v->empty())
        expected_but_got(s, key, std::string("the name of a [") + key + ".NAME] section");
      else
        out = *v;
    } else {
      fail_section(s, std::string("missing key '") + key + "': name " + what);
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
  std::map<section_kind, std::vector<const section*>> owners_;  // parallel to campaign's vectors
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
