#include "runtime/core/validate.hpp"

#include "runtime/core/training_engine.hpp"

#include <cmath>
#include <sstream>
#include <type_traits>

#include "runtime/core/fields.hpp"
#include "runtime/tasks/kinds.hpp"

namespace trainyard {

namespace {

using problem = std::optional<spec_problem>;

template <class T>
std::string text_of(const T& v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

template <class Spec>
problem bounds_problem(const Spec& x, const char* section);

// The bounds and choices of one field; nested specs that sit in the same section are walked,
// referenced ones (a job's tool) are checked on their own. Whether a referenced name is declared
// is for the reader of the whole campaign or workspace to say.
template <class T>
void check_field(const field_def<T>& def, const char* section, problem& found) {
  if (found)
    return;
  const T& v = *def.value;
  auto fail = [&](const std::string& message) {
    found = spec_problem{section, {def.key}, message};
  };
  if constexpr (has_fields_v<T>) {
    if (def.form == ini_form::flat)
      found = bounds_problem(v, section);
  } else if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
    if (!def.is_auto(static_cast<double>(v)) && !def.range.admits(static_cast<double>(v)))
      fail("expected " + def.range.expectation(std::is_integral_v<T>, def.unit) + ", got " +
           text_of(v));
  } else if constexpr (std::is_same_v<T, std::string>) {
    bool known = !def.choices;
    for (std::size_t i = 0; def.choices && i < def.choices->size(); ++i)
      known = known || (*def.choices)[i].value == v;
    if (!known)
      fail("expected one of " + names_of(*def.choices) + ", got '" + v + "'");
  }
}

template <class Spec>
problem bounds_problem(const Spec& x, const char* section) {
  problem found;
  fields_of([&](const char*, const auto&... defs) { (check_field(defs, section, found), ...); },
            x);
  return found;
}

problem job_problem(const job_spec& job) {
  if (job.continue_training && !job.initialize_from.empty())
    return spec_problem{"job", {"initialize_from"},
                        "a continue job trains on from its own tool's weights; remove "
                        "initialize_from, or start a new tool from '" + job.initialize_from +
                            "' in a job without continue"};
  if (!job.initialize_from.empty() && job.initialize_from == job.tool.name)
    return spec_problem{"job", {"initialize_from"},
                        "tool '" + job.tool.name + "' cannot start from its own weights; to "
                        "train it further write continue = true instead"};
  if (job.continue_training && job.settings.iterations == 0)
    return spec_problem{"job", {"continue_training", "iterations"},
                        "continue training needs an explicit iterations count, e.g. "
                        "iterations = 2"};
  return std::nullopt;
}

problem dataset_kind_problem(const dataset_spec& d) {
  if (d.kind != dataset_kind::fashion_mnist && d.path.empty())
    return spec_problem{"dataset", {"path"},
                        std::string("a ") + to_string(d.kind) + " dataset needs the folder of "
                        "its images (folder: one sub-folder per label), e.g. path = images"};
  if (d.kind == dataset_kind::coco && d.annotations.empty())
    return spec_problem{"dataset", {"annotations"},
                        "a coco dataset needs its COCO JSON file of boxes, e.g. "
                        "annotations = boxes.json"};
  if (d.kind == dataset_kind::masks && d.masks.empty())
    return spec_problem{"dataset", {"masks"},
                        "a masks dataset needs the folder of label masks (one PNG per image, "
                        "same name), e.g. masks = masks"};
  return std::nullopt;
}

problem split_sets_problem(const split_spec& p) {
  const char* keys[] = {"train", "validation", "test"};
  const double sets[] = {p.train, p.validation, p.test};
  for (int i = 0; i < 3; ++i) {
    if (p.mode == split_mode::count && std::floor(sets[i]) != sets[i])
      return spec_problem{"split", {keys[i]},
                          "expected a whole number of images (mode = count), got " +
                              text_of(sets[i])};
    if (p.mode == split_mode::proportion && sets[i] > 1)
      return spec_problem{"split", {keys[i]},
                          "expected a fraction of the dataset <= 1 (mode = proportion), got " +
                              text_of(sets[i])};
  }
  if (p.mode == split_mode::official) {
    for (int i = 0; i < 2; ++i)
      if (sets[i] > 1 && std::floor(sets[i]) != sets[i])
        return spec_problem{"split", {keys[i]},
                            "expected a fraction of the training part (<= 1) or a whole number "
                            "of images (mode = official), got " + text_of(sets[i])};
    return std::nullopt;
  }
  double sum = p.train + p.validation + p.test;
  if (p.mode == split_mode::proportion && sum > 1 + 1e-9)
    return spec_problem{"split", {"train", "validation", "test"},
                        "train + validation + test = " + text_of(sum) +
                            ", but proportions must sum to at most 1; lower one of them"};
  return std::nullopt;
}

expected<void> as_expected(const problem& p, const std::string& job_name,
                           const std::string& tool_name, const std::string& other_name) {
  if (!p)
    return {};
  const std::string& name =
      p->section == "job" ? job_name : p->section == "tool" ? tool_name : other_name;
  std::string keys;
  for (const auto& key : p->keys)
    keys += (keys.empty() ? "" : ", ") + key;
  return make_failure(error_code::invalid_config,
                      p->section + " '" + name + "': " + keys + ": " + p->message);
}

}  // namespace

problem find_problem(const dataset_spec& dataset) {
  if (auto p = bounds_problem(dataset, "dataset"))
    return p;
  return dataset_kind_problem(dataset);
}

problem find_problem(const split_spec& split) {
  if (auto p = bounds_problem(split, "split"))
    return p;
  return split_sets_problem(split);
}

problem find_problem(const job_spec& job, const dataset_spec* dataset) {
  if (auto p = bounds_problem(job.tool, "tool"))
    return p;
  if (auto p = bounds_problem(job, "job"))
    return p;
  if (auto p = job_problem(job))
    return p;
  return tool_kind_problem(job.tool, job.settings, dataset);
}

expected<void> validate(const dataset_spec& dataset) {
  return as_expected(find_problem(dataset), "", "", dataset.name);
}

expected<void> validate(const split_spec& split) {
  return as_expected(find_problem(split), "", "", split.name);
}

expected<void> validate(const job_spec& job, const dataset_spec& dataset) {
  return as_expected(find_problem(job, &dataset), job.name, job.tool.name, dataset.name);
}

expected<void> validate(const job_spec& job) {
  return as_expected(find_problem(job, nullptr), job.name, job.tool.name, "");
}

expected<void> validate(const training_request& request) {
  // The spec's own rules (bounds, tool kind) are validate()'s and the kind's checks; here only
  // what the request adds.
  if (auto ok = trainyard::validate(request.spec, request.dataset); !ok)
    return ok;
  const training_settings& s = request.spec.settings;
  const auto bad = [](std::string m) {
    return make_failure(error_code::invalid_config, std::move(m));
  };
  const rank_assignment& p = request.parallel;
  if (p.world_size < 1 || p.rank < 0 || p.rank >= p.world_size)
    return bad("rank " + std::to_string(p.rank) + " does not fit a data-parallel group of " +
               std::to_string(p.world_size) + " ranks");
  if (s.devices != p.world_size)
    return bad("devices = " + std::to_string(s.devices) +
               " but the request places this rank in a group of " + std::to_string(p.world_size) +
               "; the scheduler starts one rank per device, each with its rank assignment");
  if (p.world_size > 1 && p.group.empty())
    return bad("a data-parallel job (devices = " + std::to_string(s.devices) +
               ") needs a group name in its rank assignment");
  if (request.workspace.empty())
    return bad("no workspace folder given");
  return {};
}

}  // namespace trainyard
