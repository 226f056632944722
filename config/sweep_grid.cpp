#include "config/sweep_grid.hpp"

#include <algorithm>

#include "config/ini_text.hpp"

namespace trainyard {

expected<std::vector<std::string>> split_sweep_values(const std::string& list) {
  const std::string example = "; write the values separated by commas, e.g. 0.001, 0.002";
  if (trim(list).empty())
    return make_failure(error_code::invalid_config, "expected a list of values, got ''" + example);
  std::vector<std::string> values;
  std::size_t start = 0;
  while (true) {
    const auto comma = list.find(',', start);
    auto value = trim(list.substr(start, comma == std::string::npos ? std::string::npos
                                                                      : comma - start));
    if (value.empty())
      return make_failure(error_code::invalid_config,
                          "value " + std::to_string(values.size() + 1) + " of '" + list +
                            "' is empty" + example);
    if (std::find(values.begin(), values.end(), value) != values.end())
      return make_failure(error_code::invalid_config,
                          "value '" + value + "' is listed twice in '" + list +
                            "'; list each value once");
    values.push_back(std::move(value));
    if (comma == std::string::npos)
      return values;
    start = comma + 1;
  }
}

std::size_t sweep_grid_size(const std::vector<sweep_axis>& axes) {
  if (axes.empty())
    return 0;
  std::size_t size = 1;
  for (const auto& axis : axes) {
    size *= axis.values.size();
    if (size > max_sweep_jobs)
      return max_sweep_jobs + 1;
  }
  return size;
}

std::vector<sweep_point> expand_sweep_grid(const std::vector<sweep_axis>& axes) {
  std::vector<sweep_point> points;
  const std::size_t size = sweep_grid_size(axes);
  if (size == 0 || size > max_sweep_jobs)
    return points;
  // An odometer over the axes: the last one turns fastest.
  std::vector<std::size_t> at(axes.size(), 0);
  for (std::size_t n = 0; n < size; ++n) {
    sweep_point p;
    for (std::size_t a = 0; a < axes.size(); ++a) {
      p.values.push_back(axes[a].values[at[a]]);
      p.suffix += (a == 0 ? "" : ",") + axes[a].key + "=" + axes[a].values[at[a]];
    }
    points.push_back(std::move(p));
    for (std::size_t a = axes.size(); a-- > 0;) {
      if (++at[a] < axes[a].values.size())
        break;
      at[a] = 0;
    }
  }
  return points;
}

std::string sweep_variant_name(const std::string& base, const sweep_point& point) {
  return base + "@" + point.suffix;
}

}  // namespace trainyard
