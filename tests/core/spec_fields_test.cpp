// Every field of every spec survives each of its three paths: the CAF binary serializer and
// deserializer, the JSON codec, and a campaign file. The field tables drive all three, so the test
// checks first that each table names every member of its struct (a member left out of a table
// is missing from every path), then sets each field in turn to a value other than its default
// and reads it back through each path.
#include <gtest/gtest.h>

#include <functional>
#include <iomanip>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "actors/protocol.hpp"
#include "config/campaign.hpp"
#include "runtime/core/fields.hpp"
#include "runtime/store/spec_json.hpp"

namespace trainyard {
namespace {

// --- how many members a struct has: the most initializers its braces take -----------------------

struct any_value {
  template <class T>
  operator T() const;  // NOLINT: converts to any member type; declared only, never called
};

template <class T, class Indices, class = void>
struct brace_constructible : std::false_type {};

template <std::size_t>
using any_value_at = any_value;

template <class T, std::size_t... I>
struct brace_constructible<T, std::index_sequence<I...>,
                           std::void_t<decltype(T{any_value_at<I>{}...})>> : std::true_type {};

template <class T, std::size_t N = 0>
constexpr std::size_t member_count() {
  if constexpr (brace_constructible<T, std::make_index_sequence<N + 1>>::value)
    return member_count<T, N + 1>();
  else
    return N;
}

template <class T>
std::size_t table_size() {
  T x{};
  return fields(
      [](const char*, const auto&... defs) { return sizeof...(defs); }, x);
}

TEST(SpecFields, EveryTableNamesEveryMemberOfItsStruct) {
  EXPECT_EQ(table_size<dataset_spec>(), member_count<dataset_spec>());
  EXPECT_EQ(table_size<split_spec>(), member_count<split_spec>());
  EXPECT_EQ(table_size<tool_spec>(), member_count<tool_spec>());
  EXPECT_EQ(table_size<augmentation_settings>(), member_count<augmentation_settings>());
  EXPECT_EQ(table_size<training_settings>(), member_count<training_settings>());
  EXPECT_EQ(table_size<job_spec>(), member_count<job_spec>());
}

// --- the leaves of a spec, each with a way to give it another value ------------------------------

/// One field, reached through the nested specs: its dotted key and its campaign key (empty when
/// a campaign does not write it as a key of its own).
struct leaf {
  std::string path;
  std::string ini_key;
};

// Walks the leaves of a spec in table order; `visit(path, ini_key, def)` gets each one.
template <class Spec, class Visit>
void walk(Spec& x, const std::string& prefix, bool in_campaign, Visit& visit) {
  fields(
      [&](const char*, auto... defs) {
        auto one = [&](auto def) {
          using T = std::remove_pointer_t<decltype(def.value)>;
          std::string path = prefix + def.key;
          bool ini = in_campaign && def.form != ini_form::none && def.form != ini_form::reference;
          if constexpr (has_fields_v<T>)
            walk(*def.value, path + ".", ini && def.form == ini_form::flat, visit);
          else
            visit(path, ini ? def.ini_key : "", def);
        };
        (one(defs), ...);
      },
      x);
}

// The first of a few candidates that differs from the default and fits the field's bounds.
template <class T>
T other_value(const T& v, const field_def<T>& def) {
  if constexpr (std::is_same_v<T, bool>) {
    return !v;
  } else if constexpr (std::is_enum_v<T>) {
    for (auto it = def.choices->rbegin(); it != def.choices->rend(); ++it)
      if (!it->alias && it->value != v)
        return it->value;
    return v;
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (def.choices)
      for (auto it = def.choices->rbegin(); it != def.choices->rend(); ++it)
        if (it->value != v)
          return it->value;
    return v + "changed_" + def.key;
  } else {
    std::vector<T> candidates;
    if constexpr (std::is_integral_v<T>)
      candidates = {static_cast<T>(v + 1), static_cast<T>(v - 1)};
    else
      candidates = {v / 2, v + 0.25, v - 0.25, 0.25};
    for (T c : candidates)
      if (c != v && def.range.admits(static_cast<double>(c)) && !(def.zero_is_auto && c == 0))
        return c;
    ADD_FAILURE() << def.key << ": no other value in its bounds";
    return v;
  }
}

template <class Spec>
std::vector<leaf> leaves_of() {
  std::vector<leaf> out;
  Spec x{};
  auto visit = [&](const std::string& path, const std::string& ini, const auto&) {
    out.push_back(leaf{path, ini});
  };
  walk(x, "", true, visit);
  return out;
}

// Gives the leaf at `path` its other value.
template <class Spec>
void change(Spec& x, const std::string& target) {
  bool found = false;
  auto visit = [&](const std::string& path, const std::string&, const auto& def) {
    if (path == target) {
      *def.value = other_value(*def.value, def);
      found = true;
    }
  };
  walk(x, "", true, visit);
  ASSERT_TRUE(found) << target;
}

// Every leaf as text, for comparing two specs field by field with a readable failure.
template <class Spec>
std::vector<std::string> texts_of(const Spec& spec) {
  Spec x = spec;
  std::vector<std::string> out;
  auto visit = [&](const std::string& path, const std::string&, const auto& def) {
    std::ostringstream text;
    using T = std::decay_t<decltype(*def.value)>;
    if constexpr (std::is_enum_v<T>)
      text << static_cast<int>(*def.value);
    else
      text << std::setprecision(17) << *def.value;
    out.push_back(path + "=" + text.str());
  };
  walk(x, "", true, visit);
  return out;
}

// --- the three paths -----------------------------------------------------------------------------

template <class Spec>
Spec through_caf(const Spec& x) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  auto err = sink(const_cast<Spec&>(x));
  EXPECT_FALSE(err);
  Spec out{};
  caf::binary_deserializer source{nullptr, buf};
  err = source(out);
  EXPECT_FALSE(err);
  return out;
}

template <class Spec, class Parse>
Spec through_json(const Spec& x, Parse parse) {
  auto out = parse(to_json(x));
  EXPECT_TRUE(out) << out.error().message;
  return out ? *out : Spec{};
}

template <class Spec>
void check_caf_and_json(const Spec& base,
                        std::function<expected<Spec>(const std::string&)> parse) {
  for (const auto& l : leaves_of<Spec>()) {
    SCOPED_TRACE(l.path);
    Spec x = base;
    change(x, l.path);
    ASSERT_NE(texts_of(x), texts_of(base)) << "the change did not change the spec";
    EXPECT_EQ(texts_of(through_caf(x)), texts_of(x)) << "CAF";
    EXPECT_EQ(texts_of(through_json(x, parse)), texts_of(x)) << "JSON";
  }
}

TEST(SpecFields, EveryFieldSurvivesCafAndJson) {
  check_caf_and_json<dataset_spec>(dataset_spec{}, dataset_spec_from_json);
  check_caf_and_json<split_spec>(split_spec{}, split_spec_from_json);
  check_caf_and_json<tool_spec>(tool_spec{}, tool_spec_from_json);
  check_caf_and_json<training_settings>(training_settings{}, training_settings_from_json);
  check_caf_and_json<job_spec>(job_spec{}, job_spec_from_json);
}

// A campaign key's text for a value.
template <class T>
std::string ini_text(const T& v, const field_def<T>& def) {
  std::ostringstream out;
  if constexpr (std::is_same_v<T, bool>)
    out << (v ? "true" : "false");
  else if constexpr (std::is_enum_v<T>)
    out << name_of(*def.choices, v);
  else if constexpr (std::is_arithmetic_v<T>)
    out << std::setprecision(17) << v;
  else
    out << v;
  return out.str();
}

// The `key = value` lines of the fields where `x` differs from `base`.
template <class Spec>
std::string ini_lines(const Spec& x, const Spec& base) {
  auto lines = [](Spec copy) {
    std::vector<std::string> out;
    auto visit = [&](const std::string&, const std::string& ini, const auto& def) {
      out.push_back(ini.empty() ? "" : ini + " = " + ini_text(*def.value, def));
    };
    walk(copy, "", true, visit);
    return out;
  };
  auto ours = lines(x);
  auto theirs = lines(base);
  std::string out;
  for (std::size_t i = 0; i < ours.size(); ++i)
    if (ours[i] != theirs[i])
      out += ours[i] + "\n";
  return out;
}

// A valid campaign: dataset d, split s, tool t, job j, with the given specs' changed keys.
struct campaign_specs {
  dataset_spec dataset;
  split_spec split;
  tool_spec tool;
  job_spec job;
};

campaign_specs base_specs() {
  campaign_specs c;
  c.dataset.name = "d";
  c.dataset.path = "data";
  c.split.name = "s";
  c.split.dataset = "d";
  c.tool.name = "t";
  c.tool.dataset = "d";
  c.job.name = "j";
  c.job.tool = c.tool;
  c.job.split = "s";
  return c;
}

std::string campaign_text(const campaign_specs& c) {
  const campaign_specs defaults;
  return "[dataset.d]\n" + ini_lines(c.dataset, defaults.dataset) +
         "[split.s]\ndataset = d\n" + ini_lines(c.split, defaults.split) +
         "[tool.t]\ndataset = d\n" + ini_lines(c.tool, defaults.tool) +
         "[job.j]\ntool = t\nsplit = s\n" + ini_lines(c.job, defaults.job);
}

// Some fields only take another value together with another: a count split needs its counts,
// only a folder dataset reads `color`, and continued training needs an iterations count.
void complete(campaign_specs& c, const std::string& changed) {
  if (changed == "mode") {
    c.split.train = 10;
    c.split.validation = 5;
    c.split.test = 5;
  }
  if (changed == "color")
    c.dataset.kind = dataset_kind::image_folder;
  if (changed == "continue_training") {
    c.job.settings.iterations = 2;
    c.job.written_settings = "iterations";  // what a continue job does not inherit
  }
}

template <class Spec>
void check_campaign(Spec campaign_specs::*member, std::vector<Spec> campaign::*parsed) {
  for (const auto& l : leaves_of<Spec>()) {
    if (l.ini_key.empty())
      continue;  // names and references: the sections' names, checked below
    SCOPED_TRACE(l.path);
    campaign_specs c = base_specs();
    change(c.*member, l.path);
    complete(c, l.path);
    c.job.tool = c.tool;
    std::istringstream in(campaign_text(c));
    auto read = parse_campaign(in, "fields.ini");
    ASSERT_TRUE(read) << read.error().message << "\n" << campaign_text(c);
    ASSERT_EQ(((*read).*parsed).size(), 1u);
    EXPECT_EQ(texts_of(((*read).*parsed)[0]), texts_of(c.*member)) << campaign_text(c);
  }
}

TEST(SpecFields, EveryCampaignKeySurvivesACampaignFile) {
  check_campaign(&campaign_specs::dataset, &campaign::datasets);
  check_campaign(&campaign_specs::split, &campaign::splits);
  check_campaign(&campaign_specs::tool, &campaign::tools);
  check_campaign(&campaign_specs::job, &campaign::jobs);
  // The names and references come from the sections.
  campaign_specs c = base_specs();
  std::istringstream in(campaign_text(c));
  auto read = parse_campaign(in, "fields.ini");
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(texts_of(read->datasets.at(0)), texts_of(c.dataset));
  EXPECT_EQ(texts_of(read->splits.at(0)), texts_of(c.split));
  EXPECT_EQ(texts_of(read->tools.at(0)), texts_of(c.tool));
  EXPECT_EQ(texts_of(read->jobs.at(0)), texts_of(c.job));
}

}  // namespace
}  // namespace trainyard
