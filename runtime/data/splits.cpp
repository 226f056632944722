// Seeded, stratified splits of a dataset's images into training, validation and test sets, and
// the moves of images between sets. Pure: the same spec and index give the same split anywhere.
#include "runtime/data/splits.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>

#include "runtime/core/seeded_rng.hpp"

namespace trainyard {

namespace {

// Splits draw from seeded_rng (runtime/core/seeded_rng.hpp): the same numbers on every machine,
// unlike std::shuffle and the std distributions, whose results are implementation-defined.
using split_rng = seeded_rng;

template <class T>
void fisher_yates(std::vector<T>& v, split_rng& rng) {
  for (std::size_t i = v.size(); i > 1; --i) {
    std::size_t j = static_cast<std::size_t>(rng.below(i));
    std::swap(v[i - 1], v[j]);
  }
}

constexpr std::array<split_set, 3> drawn_sets{train_set, validation_set, test_set};

/// One group's exact share of one set: `whole` images plus a `fraction` of one in [0, 1).
struct share {
  std::uint64_t whole = 0;
  double fraction = 0;
};

/// How many images of each group (class) go to each set, so that every set gets exactly its
/// total and each group close to its exact share: the whole part of each share, then the
/// set's leftover images one each to the groups with the largest fractions (ties: lower group
/// first). Sets are filled in order (train, validation, test) and never take more than a group
/// has left; in the rare case where that leaves a set short, further rounds fill it from the
/// groups that still have images, so the totals are always met.
template <class Quota>
std::vector<std::array<std::uint64_t, 3>> allocate(const std::vector<std::uint64_t>& group_sizes,
                                                   const std::array<std::uint64_t, 3>& totals,
                                                   Quota quota) {
  std::size_t groups = group_sizes.size();
  std::vector<std::array<std::uint64_t, 3>> take(groups, {0, 0, 0});
  std::vector<std::uint64_t> left = group_sizes;
  for (std::size_t s = 0; s < 3; ++s) {
    std::vector<share> shares(groups);
    std::uint64_t given = 0;
    for (std::size_t g = 0; g < groups; ++g) {
      shares[g] = quota(s, g);
      take[g][s] = std::min(shares[g].whole, left[g]);
      given += take[g][s];
    }
    std::vector<std::size_t> order(groups);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return shares[a].fraction > shares[b].fraction;
    });
    // Floating-point shares may round a hair over the total: take back from the smallest
    // fractions first.
    while (given > totals[s]) {
      for (auto it = order.rbegin(); it != order.rend() && given > totals[s]; ++it) {
        if (take[*it][s] > 0) {
          --take[*it][s];
          --given;
        }
      }
    }
    while (given < totals[s]) {
      bool progressed = false;
      for (std::size_t g : order) {
        if (given == totals[s]) break;
        if (take[g][s] < left[g]) {
          ++take[g][s];
          ++given;
          progressed = true;
        }
      }
      if (!progressed) break;  // unreachable: the totals sum to at most the dataset size
    }
    for (std::size_t g = 0; g < groups; ++g) left[g] -= take[g][s];
  }
  return take;
}

failure bad_split(const split_spec& spec, const std::string& what) {
  std::string name = spec.name.empty() ? std::string("split") : "split '" + spec.name + "'";
  return make_failure(error_code::invalid_config, name + ": " + what);
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

/// The number of images each set gets, from the spec's fractions or counts.
expected<std::array<std::uint64_t, 3>> set_totals(const split_spec& spec, std::uint64_t n) {
  const std::array<std::pair<const char*, double>, 3> values{
      {{"train", spec.train}, {"validation", spec.validation}, {"test", spec.test}}};
  for (const auto& [key, v] : values) {
    if (!std::isfinite(v) || v < 0) {
      return bad_split(spec, std::string(key) + " = " + number(v) + " must be a number >= 0");
    }
  }
  std::array<std::uint64_t, 3> totals{};
  if (spec.mode == split_mode::proportion) {
    double sum = spec.train + spec.validation + spec.test;
    if (sum > 1 + 1e-9) {
      return bad_split(spec, "proportions train + validation + test = " + number(sum) +
                                 " exceed 1; lower them or use mode = count");
    }
    std::uint64_t used = 0;
    for (std::size_t s = 0; s < 3; ++s) {
      // The small epsilon keeps 0.29 * 100 (28.999999999999996 in binary) at 29.
      double exact = values[s].second * static_cast<double>(n);
      auto total = static_cast<std::uint64_t>(std::floor(exact + 1e-6));
      totals[s] = std::min(total, n - used);
      used += totals[s];
    }
    return totals;
  }
  double sum = 0;
  for (std::size_t s = 0; s < 3; ++s) {
    double v = values[s].second;
    if (v != std::floor(v)) {
      return bad_split(spec, std::string(values[s].first) + " = " + number(v) +
                                 " is not a whole number of images (mode = count)");
    }
    sum += v;
  }
  if (sum > static_cast<double>(n)) {
    return bad_split(spec, "counts train + validation + test = " + number(sum) +
                               " exceed the dataset's " + std::to_string(n) + " images");
  }
  for (std::size_t s = 0; s < 3; ++s) totals[s] = static_cast<std::uint64_t>(values[s].second);
  return totals;
}

/// How many good (group 0) and defect (group 1) images of an anomaly dataset go to each set:
/// defects never to training (make_split's comment in dataset_index.hpp gives the rule).
expected<std::vector<std::array<std::uint64_t, 3>>> anomaly_take(
    const split_spec& spec, const dataset_index& index, std::vector<std::uint64_t> sizes,
    const std::array<std::uint64_t, 3>& totals) {
  if (sizes.size() > 2) {
    return bad_split(spec, "anomaly dataset '" + index.spec.name + "' has labels other than 0 "
                           "(good) and 1 (defect)");
  }
  sizes.resize(2, 0);
  const std::uint64_t good = sizes[0], defect = sizes[1];
  std::vector<std::array<std::uint64_t, 3>> take(2, {0, 0, 0});
  if (spec.mode == split_mode::proportion) {
    const std::array<double, 3> fractions{spec.train, spec.validation, spec.test};
    std::uint64_t used = 0;
    for (std::size_t s = 0; s < 3; ++s) {
      auto whole = static_cast<std::uint64_t>(std::floor(fractions[s] * static_cast<double>(good) + 1e-6));
      take[0][s] = std::min(whole, good - used);
      used += take[0][s];
    }
    double held_out = spec.validation + spec.test;
    if (held_out > 0 && defect > 0) {
      double share = std::min(1.0, spec.train + spec.validation + spec.test);
      auto defects_used = std::min(
          defect, static_cast<std::uint64_t>(std::floor(share * static_cast<double>(defect) + 1e-6)));
      auto to_validation = std::min(
          defects_used, static_cast<std::uint64_t>(std::floor(
                            spec.validation / held_out * static_cast<double>(defects_used) + 1e-6)));
      take[1][1] = to_validation;
      take[1][2] = defects_used - to_validation;
    }
    return take;
  }
  if (totals[0] > good) {
    return bad_split(spec, "train = " + std::to_string(totals[0]) + " exceeds the " +
                               std::to_string(good) + " good images of anomaly dataset '" +
                               index.spec.name +
                               "'; an anomaly tool trains on good images only, so lower train");
  }
  take[0][0] = totals[0];
  std::uint64_t left_good = good - totals[0], left_defect = defect;
  for (std::size_t s = 1; s < 3; ++s) {
    std::uint64_t pool = left_good + left_defect;
    std::uint64_t n = std::min(totals[s], pool);
    using u128 = unsigned __int128;
    auto g = pool == 0 ? 0 : static_cast<std::uint64_t>((u128{n} * left_good + pool / 2) / pool);
    g = std::min(g, left_good);
    std::uint64_t d = n - g;
    if (d > left_defect) {
      d = left_defect;
      g = n - d;
    }
    take[0][s] = g;
    take[1][s] = d;
    left_good -= g;
    left_defect -= d;
  }
  return take;
}

const char* set_name(std::uint8_t set) {
  switch (set) {
    case unused:
      return "unused";
    case train_set:
      return "training";
    case validation_set:
      return "validation";
    case test_set:
      return "test";
    default:
      return "unknown";
  }
}

}  // namespace

namespace {

// Mode official: the dataset's own test part is the test set, and training and validation images
// are drawn, as in mode count, from its training part.
expected<std::vector<std::uint8_t>> official_split(const dataset_index& index,
                                                   const split_spec& spec) {
  const std::int64_t begin = index.own_test_begin;
  if (begin <= 0 || begin > static_cast<std::int64_t>(index.size()))
    return bad_split(spec, "dataset '" + index.spec.name +
                               "' has no test part of its own (mode = official needs a "
                               "fashion-mnist dataset with subset = all); use mode = proportion "
                               "or count");
  const auto part = static_cast<std::uint64_t>(begin);
  // Validation first; a training fraction is of the images validation leaves (1: all of them).
  const auto count_of = [](double v, double of) {
    return v <= 1 ? std::floor(v * of + 1e-6) : v;
  };
  split_spec drawn = spec;
  drawn.mode = split_mode::count;
  drawn.validation = count_of(spec.validation, static_cast<double>(part));
  drawn.train = count_of(spec.train, std::max(0.0, static_cast<double>(part) - drawn.validation));
  drawn.test = 0;
  dataset_index training_part = index;
  training_part.labels.resize(part);
  if (training_part.files.size() > part)
    training_part.files.resize(part);
  if (training_part.mask_files.size() > part)
    training_part.mask_files.resize(part);
  training_part.own_test_begin = -1;
  auto assignment = make_split(training_part, drawn);
  if (!assignment)
    return assignment.error();
  assignment->resize(index.size(), test_set);
  return assignment;
}

}  // namespace

expected<std::vector<std::uint8_t>> make_split(const dataset_index& index, const split_spec& spec) {
  if (spec.mode == split_mode::official)
    return official_split(index, spec);
  std::uint64_t n = index.size();
  if (n == 0) {
    return bad_split(spec, "dataset '" + index.spec.name + "' has no images to split");
  }
  auto totals = set_totals(spec, n);
  if (!totals) return totals.error();
  // Groups: one per class when stratified, else a single group of every image in index order.
  std::vector<std::vector<std::uint64_t>> groups;
  // Anomaly datasets are always split per label: the rule on defects needs the groups.
  const bool anomaly = index.spec.kind == dataset_kind::anomaly;
  if (spec.stratified || anomaly) {
    for (std::uint64_t i = 0; i < n; ++i) {
      std::int32_t label = index.labels[i];
      if (label < 0) {
        return bad_split(spec, "image " + std::to_string(i) + " has the negative label " +
                                   std::to_string(label));
      }
      if (static_cast<std::size_t>(label) >= groups.size()) groups.resize(label + 1);
      groups[label].push_back(i);
    }
  } else {
    groups.emplace_back(n);
    std::iota(groups[0].begin(), groups[0].end(), std::uint64_t{0});
  }
  std::vector<std::uint64_t> sizes;
  for (const auto& g : groups) sizes.push_back(g.size());
  const std::array<double, 3> fractions{spec.train, spec.validation, spec.test};
  auto quota = [&](std::size_t s, std::size_t g) {
    share q;
    if (spec.mode == split_mode::proportion) {
      // Each class gets its fraction of its own images (the epsilon as in set_totals).
      double exact = fractions[s] * static_cast<double>(sizes[g]);
      q.whole = static_cast<std::uint64_t>(std::floor(exact + 1e-6));
      q.fraction = std::max(0.0, exact - static_cast<double>(q.whole));
    } else {
      // Each class gets the set's count in proportion to its size (largest remainder).
      using u128 = unsigned __int128;
      u128 scaled = u128{(*totals)[s]} * sizes[g];
      q.whole = static_cast<std::uint64_t>(scaled / n);
      q.fraction =
          static_cast<double>(static_cast<std::uint64_t>(scaled % n)) / static_cast<double>(n);
    }
    return q;
  };
  std::vector<std::array<std::uint64_t, 3>> take;
  if (anomaly) {
    auto t = anomaly_take(spec, index, sizes, *totals);
    if (!t) return t.error();
    take = std::move(*t);
  } else {
    take = allocate(sizes, *totals, quota);
  }

  std::vector<std::uint8_t> assignment(n, unused);
  split_rng rng(spec.seed);
  for (std::size_t g = 0; g < groups.size(); ++g) {
    fisher_yates(groups[g], rng);
    std::size_t at = 0;
    for (std::size_t s = 0; s < 3; ++s) {
      for (std::uint64_t k = 0; k < take[g][s]; ++k) assignment[groups[g][at++]] = drawn_sets[s];
    }
  }
  return assignment;
}

expected<void> move_images(std::vector<std::uint8_t>& assignment,
                           const std::vector<std::int64_t>& images, split_set to, bool locked) {
  if (to > test_set) {
    return make_failure(error_code::invalid_request,
                        "cannot move images into set " + std::to_string(static_cast<int>(to)) +
                            ": the sets are unused, training, validation and test");
  }
  // Check everything first so that a refused move changes nothing.
  for (std::int64_t image : images) {
    if (image < 0 || static_cast<std::uint64_t>(image) >= assignment.size()) {
      return make_failure(error_code::invalid_request,
                          "image " + std::to_string(image) + " does not exist: the dataset has " +
                              std::to_string(assignment.size()) + " images (0-based)");
    }
  }
  if (locked) {
    const std::string rule =
        "the split is locked by a trained tool: its training and validation sets can only grow; "
        "move test images in instead";
    if (to == unused || to == test_set) {
      return make_failure(error_code::split_locked, std::string("cannot move images into the ") +
                                                        set_name(to) + " set: " + rule);
    }
    for (std::int64_t image : images) {
      std::uint8_t from = assignment[static_cast<std::size_t>(image)];
      if (from != to && (from == train_set || from == validation_set)) {
        return make_failure(error_code::split_locked, "cannot move image " + std::to_string(image) +
                                                          " out of the " + set_name(from) +
                                                          " set: " + rule);
      }
    }
  }
  for (std::int64_t image : images) assignment[static_cast<std::size_t>(image)] = to;
  return {};
}

std::vector<std::int64_t> images_in(const std::vector<std::uint8_t>& assignment, split_set set) {
  std::vector<std::int64_t> out;
  for (std::size_t i = 0; i < assignment.size(); ++i) {
    if (assignment[i] == set) out.push_back(static_cast<std::int64_t>(i));
  }
  return out;
}

}  // namespace trainyard
