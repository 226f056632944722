#include "runtime/core/fields.hpp"

#include <sstream>

#include "runtime/tasks/kinds.hpp"

namespace trainyard {

namespace {

std::string number_text(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

}  // namespace

bool field_bounds::admits(double v) const {
  if (lo && (lo_open ? !(v > *lo) : !(v >= *lo)))
    return false;
  if (hi && (hi_open ? !(v < *hi) : !(v <= *hi)))
    return false;
  return true;
}

std::string field_bounds::limits() const {
  if (lo && hi && !lo_open && !hi_open)
    return "from " + number_text(*lo) + " to " + number_text(*hi);
  std::string out;
  if (lo)
    out += (lo_open ? "> " : ">= ") + number_text(*lo);
  if (lo && hi)
    out += " and ";
  if (hi)
    out += (hi_open ? "< " : "<= ") + number_text(*hi);
  return out;
}

std::string field_bounds::expectation(bool whole, const char* unit) const {
  std::string out = whole ? "a whole number" : "a number";
  if (unit)
    out += std::string(" of ") + unit;
  auto range = limits();
  return range.empty() ? out : out + " " + range;
}

const std::vector<choice<dataset_kind>>& dataset_kind_choices() {
  static const std::vector<choice<dataset_kind>> all = {
      {"fashion-mnist", dataset_kind::fashion_mnist},
      {"folder", dataset_kind::image_folder},
      {"coco", dataset_kind::coco},
      {"masks", dataset_kind::masks},
      {"anomaly", dataset_kind::anomaly},
      {"fashion_mnist", dataset_kind::fashion_mnist, true},
      {"image-folder", dataset_kind::image_folder, true},
      {"image_folder", dataset_kind::image_folder, true},
  };
  return all;
}

const std::vector<choice<split_mode>>& split_mode_choices() {
  static const std::vector<choice<split_mode>> all = {{"proportion", split_mode::proportion},
                                                      {"count", split_mode::count},
                                                      {"official", split_mode::official}};
  return all;
}

const std::vector<choice<std::string>>& tool_kind_choices() {
  static const std::vector<choice<std::string>> all = [] {
    std::vector<choice<std::string>> names;
    for (const tool_kind_info* kind : tool_kinds())
      names.push_back({kind->name.c_str(), kind->name});  // descriptors are static
    return names;
  }();
  return all;
}

const std::vector<choice<std::string>>& fashion_subset_choices() {
  static const std::vector<choice<std::string>> all = {{"all", "all"}, {"train", "train"},
                                                       {"test", "test"}};
  return all;
}

const std::vector<choice<std::string>>& optimizer_choices() {
  static const std::vector<choice<std::string>> all = {
      {"auto", "auto"}, {"adam", "adam"}, {"adamw", "adamw"}, {"sgd", "sgd"}};
  return all;
}

const std::vector<choice<std::string>>& schedule_choices() {
  static const std::vector<choice<std::string>> all = {
      {"auto", "auto"}, {"constant", "constant"}, {"one_cycle", "one_cycle"}, {"cosine", "cosine"}};
  return all;
}

const std::vector<choice<std::string>>& model_size_choices() {
  static const std::vector<choice<std::string>> all = {
      {"small", "small"}, {"normal", "normal"}, {"medium", "medium"}, {"large", "large"}};
  return all;
}

}  // namespace trainyard
