// The torch registry of tool kinds and what the kinds share (tool_task.hpp): colours of labels,
// mask loading, AUROC.
#include "runtime/train/tool_task.hpp"

#include <algorithm>
#include <filesystem>

#include "runtime/data/dataset_readers.hpp"
#include "runtime/tasks/common/label_masks.hpp"
#include "runtime/tasks/kinds.hpp"
#include "runtime/train/diagnostics.hpp"

namespace trainyard {

namespace fs = std::filesystem;

tool_task::tool_task(const task_setup& setup)
    : setup_(setup),
      transform_(setup.norm, setup.device),
      augment_(setup.augmentation, setup.tool.input_width, setup.tool.input_height) {}

int good_class(const dataset_index& index) {
  for (std::size_t c = 0; c < index.class_names.size(); ++c)
    if (index.class_names[c] == "good")
      return static_cast<int>(c);
  return 0;
}

// Each kind's torch part, defined in runtime/tasks/<kind>/<kind>_task.cpp, for the kinds in
// runtime/tasks/kind_list.hpp.
#define TRAINYARD_KIND(name) const task_kind& name##_task_kind();
#include "runtime/tasks/kind_list.hpp"
#undef TRAINYARD_KIND

const std::vector<const task_kind*>& task_kinds() {
#define TRAINYARD_KIND(name) &name##_task_kind(),
  static const std::vector<const task_kind*> kinds{
#include "runtime/tasks/kind_list.hpp"
  };
#undef TRAINYARD_KIND
  return kinds;
}

std::vector<std::string> registered_task_kinds() {
  std::vector<std::string> names;
  for (const task_kind* k : task_kinds())
    names.push_back(k->name);
  return names;
}

expected<metric_map> evaluate_blank_set(const tool_spec& tool,
                                        const std::vector<std::string>& class_names) {
  const std::int64_t h = tool.input_height, w = tool.input_width;
  task_data set;
  set.images = torch::zeros({4, 1, h, w}, torch::kUInt8);
  set.images.narrow(0, 2, 2).fill_(200);
  set.labels = torch::tensor({0, 0, 1, 1}, torch::kLong);
  set.masks = torch::zeros({4, h, w}, torch::kUInt8);
  set.masks.narrow(0, 2, 2).narrow(1, h / 4, h / 2).narrow(2, w / 4, w / 2).fill_(1);
  const box item{0, static_cast<float>(w) / 4, static_cast<float>(h) / 4,
                 static_cast<float>(w) / 2, static_cast<float>(h) / 2};
  set.boxes.assign(4, std::vector<box>{item});
  const task_setup setup{tool, 1, class_names, task_colours(dataset_spec{}, class_names.size()),
                         normalization{{0.4}, {0.4}}, augmentation_settings{}};
  auto task = make_tool_task(setup);
  if (!task)
    return task.error();
  (*task)->prepare(set);
  return (*task)->evaluate(set, "val_");
}

expected<const task_kind*> task_kind_of(const tool_spec& tool) {
  auto kind = kind_of(tool);
  if (!kind)
    return kind.error();
  for (const task_kind* k : task_kinds())
    if ((*kind)->name == k->name)
      return k;
  return make_failure(error_code::invalid_config,
                      "tool " + tool.name + " is of kind " + (*kind)->name +
                          ", which this engine does not train");
}

expected<std::vector<std::string>> task_class_names(const tool_spec& tool,
                                                    const dataset_index& index) {
  auto kind = task_kind_of(tool);
  if (!kind)
    return kind.error();
  return (*kind)->class_names(tool, index);
}

std::vector<label_colour> task_colours(const dataset_spec& dataset, std::size_t labels) {
  // A fixed palette (background black), then the table's colours where it gives them.
  static const label_colour palette[] = {{0, 0, 0},     {230, 25, 75},  {60, 180, 75},
                                         {255, 225, 25}, {0, 130, 200}, {245, 130, 48},
                                         {145, 30, 180}, {70, 240, 240}, {240, 50, 230},
                                         {210, 245, 60}};
  std::vector<label_colour> out(labels);
  for (std::size_t i = 0; i < labels; ++i)
    out[i] = palette[i % (sizeof palette / sizeof palette[0])];
  if (!dataset.annotations.empty())
    if (auto entries = read_label_entries(dataset.annotations))
      for (const label_entry& e : *entries)
        if (e.r >= 0 && static_cast<std::size_t>(e.index) < labels)
          out[static_cast<std::size_t>(e.index)] = {static_cast<std::uint8_t>(e.r),
                                                    static_cast<std::uint8_t>(e.g),
                                                    static_cast<std::uint8_t>(e.b)};
  return out;
}

expected<std::unique_ptr<tool_task>> make_tool_task(const task_setup& setup) {
  auto kind = task_kind_of(setup.tool);
  if (!kind)
    return kind.error();
  auto task = (*kind)->make(setup);
  // Initialised on the CPU (the same first weights on every device), then moved.
  if (task && !setup.device.is_cpu())
    (*task)->model()->to(setup.device);
  return task;
}

expected<task_data> task_targets(const task_setup& setup, const dataset_index& index,
                                 const std::vector<std::int64_t>& images, labelled_images decoded,
                                 split_set set) {
  auto kind = task_kind_of(setup.tool);
  if (!kind)
    return kind.error();
  return (*kind)->targets(setup, index, images, std::move(decoded), set);
}

const std::string& tool_task::monitored_metric() const {
  return (*kind_of(setup_.tool))->monitored_metric;
}

double auroc(const torch::Tensor& scores, const torch::Tensor& positives) {
  const torch::Tensor s = scores.to(torch::kDouble).flatten();
  const torch::Tensor p = positives.to(torch::kBool).flatten();
  const std::int64_t n = s.numel();
  const std::int64_t pos = p.sum().item<std::int64_t>(), neg = n - pos;
  if (pos == 0 || neg == 0)
    return 0.5;
  // Ranks with ties averaged: sort, then give every run of equal scores its mean rank.
  const auto sorted = s.sort();
  const torch::Tensor values = std::get<0>(sorted).contiguous();
  const torch::Tensor order = std::get<1>(sorted).contiguous();
  const torch::Tensor p_sorted = p.index_select(0, order).contiguous();
  const double* v = values.data_ptr<double>();
  const bool* is_pos = p_sorted.data_ptr<bool>();
  double rank_sum = 0;
  for (std::int64_t i = 0; i < n;) {
    std::int64_t j = i;
    while (j + 1 < n && v[j + 1] == v[i])
      ++j;
    const double mean_rank = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (std::int64_t k = i; k <= j; ++k)
      if (is_pos[k])
        rank_sum += mean_rank;
    i = j + 1;
  }
  const double u = rank_sum - static_cast<double>(pos) * (static_cast<double>(pos) + 1) / 2.0;
  return u / (static_cast<double>(pos) * static_cast<double>(neg));
}

std::string mask_path_for(const dataset_spec& dataset, const std::string& image_file) {
  return (fs::path(dataset.masks) / (fs::path(image_file).stem().string() + ".png")).string();
}

expected<torch::Tensor> load_label_masks(const dataset_index& index,
                                         const std::vector<std::int64_t>& images,
                                         int label_count, int width, int height, bool required) {
  if (index.files.size() != index.size())
    return make_failure(error_code::invalid_config,
                        "dataset " + index.spec.name + " has no image files to match masks "
                        "with; masks need a folder dataset");
  torch::Tensor out =
      torch::zeros({static_cast<std::int64_t>(images.size()), height, width}, torch::kUInt8);
  for (std::size_t i = 0; i < images.size(); ++i) {
    const std::string path =
        mask_path_for(index.spec, index.files[static_cast<std::size_t>(images[i])]);
    if (!required && !fs::exists(path))
      continue;
    auto mask = read_label_mask_file(
      path, index.files[static_cast<std::size_t>(images[i])], label_count, width, height);
    if (!mask)
      return mask.error();
    std::copy(mask->begin(), mask->end(), out[static_cast<std::int64_t>(i)].data_ptr<std::uint8_t>());
  }
  return out;
}

}  // namespace trainyard
