// A real one-process trainyard for actor tests: a fresh workspace folder, a CAF actor system,
// the dataset actor and scheduler on small splits of the real Fashion-MNIST data, and workers
// with the engine a test gives (scripted, or LibTorch's in tests/actors/training). Waits are
// bounded; the workspace is removed afterwards. No LibTorch here.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "actors/blocking_request.hpp"
#include "actors/embedded_yard.hpp"
#include "tests/support/temp_folder.hpp"

namespace trainyard::testing {

inline dataset_spec fashion() {
  dataset_spec d;
  d.name = "fashion";
  d.kind = dataset_kind::fashion_mnist;
  d.path = "/usr/share/datasets/fashion-mnist";
  d.subset = "train";
  return d;
}

inline split_spec small_split(const std::string& name, std::uint64_t seed = 7) {
  split_spec s;
  s.name = name;
  s.dataset = "fashion";
  s.mode = split_mode::count;
  s.train = 800;
  s.validation = 300;
  s.test = 300;
  s.seed = seed;
  return s;
}

inline job_spec small_job(const std::string& name, const std::string& tool, int iterations,
                          const std::string& split = "small") {
  job_spec j;
  j.name = name;
  j.tool.name = tool;
  j.tool.dataset = "fashion";
  j.tool.model_width = 8;  // small and fast: these tests are about orchestration
  j.split = split;
  j.settings.iterations = iterations;
  j.settings.batch_size = 64;
  j.settings.threads = 2;
  return j;
}

constexpr std::int64_t wait_ms = 120000;  // bound on any single wait in these tests

class YardTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }
  // The yard is closed here; the workspace folder goes after, with the fixture.
  void TearDown() override { close(); }
  void open() {
    cfg_ = std::make_unique<caf::actor_system_config>();
    configure_actor_system(*cfg_);
    system_ = std::make_unique<caf::actor_system>(*cfg_);
    scheduler_options options;
    options.workspace = workspace_;
    auto yard = embedded_yard::start(*system_, options, "test");
    ASSERT_TRUE(yard) << yard.error().message;
    yard_ = std::move(*yard);
    auto ok = yard_->declare({fashion()}, {small_split("small"), small_split("other", 8)});
    ASSERT_TRUE(ok) << ok.error().message;
  }
  void close() {
    yard_.reset();
    system_.reset();
    cfg_.reset();
  }
  worker_actor add_worker(std::shared_ptr<training_engine> engine) {
    auto w = yard_->add_worker(std::move(engine));
    EXPECT_TRUE(w) << w.error().message;
    return w ? *w : worker_actor{};
  }
  worker_actor add_worker(std::shared_ptr<training_engine> engine, worker_info info) {
    auto w = yard_->add_worker(std::move(engine), std::move(info));
    EXPECT_TRUE(w) << w.error().message;
    return w ? *w : worker_actor{};
  }
  job_id submit(const job_spec& job) {
    auto id = yard_->submit(job);
    EXPECT_TRUE(id) << id.error().message;
    return id ? *id : 0;
  }
  job_result wait(job_id id) {
    auto r = yard_->wait(id, wait_ms);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : job_result{};
  }
  job_info info(job_id id) {
    auto all = yard_->list();
    EXPECT_TRUE(all);
    for (auto& j : *all)
      if (j.id == id)
        return j;
    ADD_FAILURE() << "job " << id << " not listed";
    return {};
  }
  // A request to the scheduler; the answer or the error.
  template <class T, class... Ts>
  expected<T> ask(Ts&&... xs) {
    return trainyard::ask<T>(*system_, yard_->scheduler(), std::chrono::milliseconds(wait_ms),
                             std::forward<Ts>(xs)...);
  }
  // A request to the dataset actor.
  template <class T, class... Ts>
  expected<T> ask_datasets(Ts&&... xs) {
    return trainyard::ask<T>(*system_, yard_->datasets(), std::chrono::milliseconds(wait_ms),
                             std::forward<Ts>(xs)...);
  }

  temp_folder workspace_folder_{"actors"};
  std::string workspace_ = workspace_folder_.str();
  std::unique_ptr<caf::actor_system_config> cfg_;
  std::unique_ptr<caf::actor_system> system_;
  std::unique_ptr<embedded_yard> yard_;
};

}  // namespace trainyard::testing
