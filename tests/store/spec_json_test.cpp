// JSON of specs and reports: every struct round-trips, enums are names, absent fields keep their
// defaults, and bad text is storage_failed naming what could not be read.
#include "runtime/store/spec_json.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace trainyard {
namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

tool_spec sample_tool() {
  tool_spec t;
  t.name = "shirts";
  t.dataset = "fm";
  t.input_width = 32;
  t.input_height = 24;
  t.model_width = 48;
  return t;
}

training_settings sample_settings() {
  training_settings s;
  s.iterations = 12;
  s.max_iterations = 40;
  s.patience = 5;
  s.min_delta = 0.0025;
  s.batch_size = 128;
  s.learning_rate = 3e-4;
  s.deterministic = true;
  s.seed = 18446744073709551557ULL;  // needs all 64 bits
  s.threads = 2;
  s.memory_share = 0.75;
  s.devices = 2;
  s.augmentation.flip_horizontal = true;
  s.augmentation.flip_vertical = true;
  s.augmentation.rotation = 10;
  s.augmentation.scale = 0.1;
  s.augmentation.shift = 0.05;
  s.augmentation.shear = 3;
  s.augmentation.brightness = 0.2;
  s.augmentation.contrast = 0.3;
  s.augmentation.noise = 0.01;
  return s;
}

void expect_equal(const tool_spec& a, const tool_spec& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.dataset, b.dataset);
  EXPECT_EQ(a.input_width, b.input_width);
  EXPECT_EQ(a.input_height, b.input_height);
  EXPECT_EQ(a.model_width, b.model_width);
}

void expect_equal(const training_settings& a, const training_settings& b) {
  EXPECT_EQ(a.iterations, b.iterations);
  EXPECT_EQ(a.max_iterations, b.max_iterations);
  EXPECT_EQ(a.patience, b.patience);
  EXPECT_EQ(a.min_delta, b.min_delta);
  EXPECT_EQ(a.batch_size, b.batch_size);
  EXPECT_EQ(a.learning_rate, b.learning_rate);
  EXPECT_EQ(a.deterministic, b.deterministic);
  EXPECT_EQ(a.seed, b.seed);
  EXPECT_EQ(a.threads, b.threads);
  EXPECT_EQ(a.memory_share, b.memory_share);
  EXPECT_EQ(a.devices, b.devices);
  const auto& x = a.augmentation;
  const auto& y = b.augmentation;
  EXPECT_EQ(x.flip_horizontal, y.flip_horizontal);
  EXPECT_EQ(x.flip_vertical, y.flip_vertical);
  EXPECT_EQ(x.rotation, y.rotation);
  EXPECT_EQ(x.scale, y.scale);
  EXPECT_EQ(x.shift, y.shift);
  EXPECT_EQ(x.shear, y.shear);
  EXPECT_EQ(x.brightness, y.brightness);
  EXPECT_EQ(x.contrast, y.contrast);
  EXPECT_EQ(x.noise, y.noise);
}

TEST(SpecJson, DatasetSpecRoundTrip) {
  dataset_spec d;
  d.name = "parts";
  d.kind = dataset_kind::image_folder;
  d.path = "/data/parts \"quoted\"";
  d.color = true;
  d.subset = "train";
  std::string text = to_json(d);
  EXPECT_TRUE(contains(text, "\"folder\"")) << text;
  auto back = dataset_spec_from_json(text);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->name, d.name);
  EXPECT_EQ(back->kind, d.kind);
  EXPECT_EQ(back->path, d.path);
  EXPECT_EQ(back->color, d.color);
  EXPECT_EQ(back->subset, d.subset);
  EXPECT_TRUE(contains(to_json(dataset_spec{}), "\"fashion-mnist\""));
}

TEST(SpecJson, SplitSpecRoundTrip) {
  split_spec s;
  s.name = "s1";
  s.dataset = "fm";
  s.mode = split_mode::count;
  s.train = 1000;
  s.validation = 333;
  s.test = 77;
  s.seed = 123456789012345ULL;
  s.stratified = false;
  std::string text = to_json(s);
  EXPECT_TRUE(contains(text, "\"count\"")) << text;
  auto back = split_spec_from_json(text);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->name, s.name);
  EXPECT_EQ(back->dataset, s.dataset);
  EXPECT_EQ(back->mode, s.mode);
  EXPECT_EQ(back->train, s.train);
  EXPECT_EQ(back->validation, s.validation);
  EXPECT_EQ(back->test, s.test);
  EXPECT_EQ(back->seed, s.seed);
  EXPECT_EQ(back->stratified, s.stratified);
  EXPECT_TRUE(contains(to_json(split_spec{}), "\"proportion\""));
  // Fractions survive bit for bit.
  s.mode = split_mode::proportion;
  s.train = 0.1 + 0.2;
  back = split_spec_from_json(to_json(s));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->train, s.train);
}

TEST(SpecJson, ToolSpecAndSettingsRoundTrip) {
  auto t = sample_tool();
  std::string text = to_json(t);
  EXPECT_TRUE(contains(text, "\"classify\"")) << text;
  auto tool = tool_spec_from_json(text);
  ASSERT_TRUE(tool) << tool.error().message;
  expect_equal(*tool, t);
  auto s = sample_settings();
  auto settings = training_settings_from_json(to_json(s));
  ASSERT_TRUE(settings) << settings.error().message;
  expect_equal(*settings, s);
}

TEST(SpecJson, JobSpecRoundTrip) {
  job_spec j;
  j.name = "job-ü-1";
  j.tool = sample_tool();
  j.split = "s1";
  j.continue_training = true;
  j.settings = sample_settings();
  auto back = job_spec_from_json(to_json(j));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->name, j.name);
  expect_equal(back->tool, j.tool);
  EXPECT_EQ(back->split, j.split);
  EXPECT_EQ(back->continue_training, j.continue_training);
  expect_equal(back->settings, j.settings);
}

TEST(SpecJson, MetricsRoundTripIncludingNonFinite) {
  metric_map m{{"val_accuracy", 0.9125},
               {"train_loss", 0.25},
               {"val_loss", std::numeric_limits<double>::quiet_NaN()},
               {"grad", std::numeric_limits<double>::infinity()},
               {"neg", -std::numeric_limits<double>::infinity()},
               {"tiny", 1e-300}};
  auto back = metric_map_from_json(to_json(m));
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->size(), m.size());
  EXPECT_EQ(back->at("val_accuracy"), 0.9125);
  EXPECT_EQ(back->at("tiny"), 1e-300);
  EXPECT_TRUE(std::isnan(back->at("val_loss")));
  EXPECT_EQ(back->at("grad"), std::numeric_limits<double>::infinity());
  EXPECT_EQ(back->at("neg"), -std::numeric_limits<double>::infinity());
  auto empty = metric_map_from_json(to_json(metric_map{}));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  auto from_null = metric_map_from_json(R"({"val_loss": null})");
  ASSERT_TRUE(from_null);
  EXPECT_TRUE(std::isnan(from_null->at("val_loss")));
}

TEST(SpecJson, ProbeResultRoundTrip) {
  probe_result p;
  p.rows.push_back({32, 3200.5, 9000, 123456789, true, ""});
  p.rows.push_back({64, 0, 0, 9876543210ULL, false, "allocation failed: out of memory"});
  p.train_batch_size = 32;
  p.inference_batch_size = 64;
  p.budget_bytes = 8ULL << 30;
  p.margin = 0.15;
  auto back = probe_result_from_json(to_json(p));
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->rows.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(back->rows[i].batch_size, p.rows[i].batch_size);
    EXPECT_EQ(back->rows[i].train_images_per_s, p.rows[i].train_images_per_s);
    EXPECT_EQ(back->rows[i].infer_images_per_s, p.rows[i].infer_images_per_s);
    EXPECT_EQ(back->rows[i].peak_bytes, p.rows[i].peak_bytes);
    EXPECT_EQ(back->rows[i].fits, p.rows[i].fits);
    EXPECT_EQ(back->rows[i].note, p.rows[i].note);
  }
  EXPECT_EQ(back->train_batch_size, 32);
  EXPECT_EQ(back->inference_batch_size, 64);
  EXPECT_EQ(back->budget_bytes, p.budget_bytes);
  EXPECT_EQ(back->margin, 0.15);
}

TEST(SpecJson, IterationReportRoundTrip) {
  iteration_report r;
  r.job = 42;
  r.tool = "shirts";
  r.iteration = 7;
  r.target_iterations = 30;
  r.metrics = {{"val_accuracy", 0.88}, {"seconds", 12.5}};
  r.best_iteration = 6;
  r.best_value = 0.885;
  r.patience_counter = 1;
  r.batch_size = 256;
  auto back = iteration_report_from_json(to_json(r));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->job, r.job);
  EXPECT_EQ(back->tool, r.tool);
  EXPECT_EQ(back->iteration, r.iteration);
  EXPECT_EQ(back->target_iterations, r.target_iterations);
  EXPECT_EQ(back->metrics, r.metrics);
  EXPECT_EQ(back->best_iteration, r.best_iteration);
  EXPECT_EQ(back->best_value, r.best_value);
  EXPECT_EQ(back->patience_counter, r.patience_counter);
  EXPECT_EQ(back->batch_size, r.batch_size);
}

TEST(SpecJson, MissingFieldsKeepDefaults) {
  auto job = job_spec_from_json(R"({"name": "j", "settings": {"patience": 9}})");
  ASSERT_TRUE(job) << job.error().message;
  EXPECT_EQ(job->name, "j");
  EXPECT_EQ(job->settings.patience, 9);
  expect_equal(job->tool, tool_spec{});
  training_settings defaults;
  EXPECT_EQ(job->settings.max_iterations, defaults.max_iterations);
  EXPECT_EQ(job->settings.learning_rate, defaults.learning_rate);
  EXPECT_EQ(job->settings.seed, defaults.seed);
  auto split = split_spec_from_json("{}");
  ASSERT_TRUE(split);
  EXPECT_EQ(split->train, 0.8);
  EXPECT_EQ(split->mode, split_mode::proportion);
  EXPECT_TRUE(split->stratified);
  auto dataset = dataset_spec_from_json(R"({"name": "fm", "unknown_future_field": [1, 2]})");
  ASSERT_TRUE(dataset);
  EXPECT_EQ(dataset->subset, "all");
  EXPECT_EQ(dataset->kind, dataset_kind::fashion_mnist);
}

TEST(SpecJson, BadTextIsStorageFailed) {
  auto broken = job_spec_from_json("{\"name\": ");
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().code, error_code::storage_failed);
  EXPECT_TRUE(contains(broken.error().message, "parse_error")) << broken.error().message;
  EXPECT_TRUE(contains(broken.error().message, "job spec")) << broken.error().message;

  auto wrong_type = job_spec_from_json(R"({"settings": {"augmentation": {"rotation": "ten"}}})");
  ASSERT_FALSE(wrong_type);
  EXPECT_EQ(wrong_type.error().code, error_code::storage_failed);
  EXPECT_TRUE(contains(wrong_type.error().message, "settings.augmentation.rotation"))
      << wrong_type.error().message;

  auto bad_enum = dataset_spec_from_json(R"({"kind": "cocoa"})");
  ASSERT_FALSE(bad_enum);
  EXPECT_EQ(bad_enum.error().code, error_code::storage_failed);
  EXPECT_TRUE(contains(bad_enum.error().message, "cocoa")) << bad_enum.error().message;

  auto not_object = split_spec_from_json("[1, 2]");
  ASSERT_FALSE(not_object);
  EXPECT_EQ(not_object.error().code, error_code::storage_failed);

  auto out_of_range = tool_spec_from_json(R"({"input_width": 1e12})");
  ASSERT_FALSE(out_of_range);
  EXPECT_TRUE(contains(out_of_range.error().message, "input_width"))
      << out_of_range.error().message;

  auto negative_seed = split_spec_from_json(R"({"seed": -1})");
  ASSERT_FALSE(negative_seed);
  EXPECT_EQ(negative_seed.error().code, error_code::storage_failed);

  auto fractional = training_settings_from_json(R"({"batch_size": 12.5})");
  ASSERT_FALSE(fractional);
  EXPECT_TRUE(contains(fractional.error().message, "batch_size")) << fractional.error().message;

  auto rows = probe_result_from_json(R"({"rows": [{"batch_size": 8}, {"fits": 1}]})");
  ASSERT_FALSE(rows);
  EXPECT_TRUE(contains(rows.error().message, "rows[1].fits")) << rows.error().message;
}

}  // namespace
}  // namespace trainyard
