// The grid of a campaign's [sweep.NAME] section: its lists of values as written, the variants
// they make (every combination, the first key varying slowest) and the names of those variants,
// e.g. `first@learning_rate=0.002,flip_horizontal=1`. Plain text in and out: the campaign reader
// (campaign.cpp) reads each value through the field tables and reports errors at their lines.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "runtime/core/error.hpp"

namespace trainyard {

/// Most jobs one sweep may make; a larger grid is refused as a likely typo.
constexpr std::size_t max_sweep_jobs = 1000;

/// One swept setting: its campaign key and its values, as written, in the order written.
struct sweep_axis {
  std::string key;
  std::vector<std::string> values;
};

/// One combination of a grid: a value of each axis (in axis order) and the name suffix
/// "key=value,key=value" that sets the variant apart from its base.
struct sweep_point {
  std::vector<std::string> values;
  std::string suffix;
};

/// The values of "0.001, 0.002 ,0.004": split at commas, blanks around each value dropped.
/// invalid_config (message without file or key: the caller adds them) when the list or one of
/// its values is empty, or a value is listed twice.
expected<std::vector<std::string>> split_sweep_values(const std::string& list);

/// Number of combinations, or max_sweep_jobs + 1 as soon as the product exceeds it.
std::size_t sweep_grid_size(const std::vector<sweep_axis>& axes);

/// Every combination, the first axis varying slowest. Empty when `axes` is.
std::vector<sweep_point> expand_sweep_grid(const std::vector<sweep_axis>& axes);

/// "BASE@SUFFIX": the name of a job's or tool's variant.
std::string sweep_variant_name(const std::string& base, const sweep_point& point);

}  // namespace trainyard
