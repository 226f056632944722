// The SQLite state database: jobs, queue order and run order survive closing and reopening the
// file, iterations and splits round-trip, and two stores on one file work from two threads.
#include "runtime/store/store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/temp_folder.hpp"

namespace trainyard {
namespace {

namespace fs = std::filesystem;

/// A scratch folder for one test, with the state database's path inside it.
class temp_dir : public testing::temp_folder {
 public:
  temp_dir() : temp_folder("store-test") {}
  std::string db() const { return (path() / "trainyard.db").string(); }
};

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::unique_ptr<store> open_store(const std::string& path) {
  auto s = store::open(path);
  if (!s) ADD_FAILURE() << s.error().message;
  return s ? std::move(*s) : nullptr;
}

job_record sample_job(const std::string& name) {
  job_record j;
  j.spec.name = name;
  j.spec.split = "s1";
  j.spec.tool.name = "tool-" + name;
  j.spec.tool.dataset = "fm";
  j.spec.settings.iterations = 5;
  j.spec.settings.augmentation.rotation = 7.5;
  j.submitted_ms = 1700000000123;
  return j;
}

TEST(StoreJobs, InsertLoadUpdateRoundTrip) {
  temp_dir dir;
  auto db = open_store(dir.db());
  ASSERT_TRUE(db);
  auto first = db->insert_job(sample_job("a"));
  auto second = db->insert_job(sample_job("b"));
  ASSERT_TRUE(first && second);
  EXPECT_EQ(*first, 1u);
  EXPECT_EQ(*second, 2u);

  job_record done = sample_job("a");
  done.id = *first;
  done.state = job_state::stopped;
  done.queue_position = -1;
  done.run_order = 3;
  done.first_iteration = 2;
  done.trained_iterations = 9;
  done.best_iteration = 8;
  done.batch_size = 256;
  done.final_metrics = {{"val_accuracy", 0.9}, {"test_accuracy", 0.89}};
  done.message = "early stopping: no gain for 3 iterations";
  done.started_ms = 1700000001000;
  done.finished_ms = 1700000099000;
  done.error = error_code::out_of_memory;
  ASSERT_TRUE(db->update_job(done));

  auto jobs = db->load_jobs();
  ASSERT_TRUE(jobs) << jobs.error().message;
  ASSERT_EQ(jobs->size(), 2u);
  const auto& a = (*jobs)[0];
  EXPECT_EQ(a.id, *first);
  EXPECT_EQ(a.spec.name, "a");
  EXPECT_EQ(a.spec.tool.name, "tool-a");
  EXPECT_EQ(a.spec.settings.iterations, 5);
  EXPECT_EQ(a.spec.settings.augmentation.rotation, 7.5);
  EXPECT_EQ(a.state, job_state::stopped);
  EXPECT_EQ(a.queue_position, -1);
  EXPECT_EQ(a.run_order, 3);
  EXPECT_EQ(a.first_iteration, 2);
  EXPECT_EQ(a.trained_iterations, 9);
  EXPECT_EQ(a.best_iteration, 8);
  EXPECT_EQ(a.batch_size, 256);
  EXPECT_EQ(a.final_metrics, done.final_metrics);
  EXPECT_EQ(a.message, done.message);
  EXPECT_EQ(a.submitted_ms, 1700000000123);
  EXPECT_EQ(a.started_ms, 1700000001000);
  EXPECT_EQ(a.finished_ms, 1700000099000);
  EXPECT_EQ(a.error, error_code::out_of_memory);
  EXPECT_EQ((*jobs)[1].error, error_code::none);
  EXPECT_EQ((*jobs)[1].spec.name, "b");
  EXPECT_EQ((*jobs)[1].state, job_state::queued);

  auto found = db->find_job_by_name("b");
  ASSERT_TRUE(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id, *second);
  auto none = db->find_job_by_name("nope");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
}

TEST(StoreJobs, DuplicateNameAndUnknownId) {
  temp_dir dir;
  auto db = open_store(dir.db());
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->insert_job(sample_job("a")));
  auto again = db->insert_job(sample_job("a"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, error_code::already_exists);
  EXPECT_TRUE(contains(again.error().message, "'a'")) << again.error().message;
  job_record ghost = sample_job("ghost");
  ghost.id = 99;
  auto updated = db->update_job(ghost);
  ASSERT_FALSE(updated);
  EXPECT_EQ(updated.error().code, error_code::unknown_job);
}

TEST(StoreJobs, NothingLostAcrossReopen) {
  temp_dir dir;
  {
    auto db = open_store(dir.db());
    ASSERT_TRUE(db);
    for (const char* name : {"a", "b", "c", "d"}) ASSERT_TRUE(db->insert_job(sample_job(name)));
    ASSERT_TRUE(db->save_queue_order({3, 1, 4}));
    ASSERT_EQ(*db->next_run_order(), 1);
    ASSERT_EQ(*db->next_run_order(), 2);
  }
  {
    auto db = open_store(dir.db());
    ASSERT_TRUE(db);
    auto jobs = db->load_jobs();
    ASSERT_TRUE(jobs);
    ASSERT_EQ(jobs->size(), 4u);
    EXPECT_EQ((*jobs)[0].queue_position, 1);
    EXPECT_EQ((*jobs)[1].queue_position, -1);
    EXPECT_EQ((*jobs)[2].queue_position, 0);
    EXPECT_EQ((*jobs)[3].queue_position, 2);
    EXPECT_EQ(*db->next_run_order(), 3);
    // New ids go on after the old ones.
    EXPECT_EQ(*db->insert_job(sample_job("e")), 5u);
    ASSERT_TRUE(db->save_queue_order({2}));
  }
  auto db = open_store(dir.db());
  ASSERT_TRUE(db);
  auto jobs = db->load_jobs();
  ASSERT_TRUE(jobs);
  std::vector<std::int64_t> positions;
  for (const auto& j : *jobs) positions.push_back(j.queue_position);
  EXPECT_EQ(positions, (std::vector<std::int64_t>{-1, 0, -1, -1, -1}));
  EXPECT_EQ(*db->next_run_order(), 4);
}

TEST(StoreJobs, QueueOrderRefusesUnknownAndDuplicateJobs) {
  temp_dir dir;
  auto db = open_store(dir.db());
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->insert_job(sample_job("a")));
  ASSERT_TRUE(db->insert_job(sample_job("b")));
  ASSERT_TRUE(db->save_queue_order({2, 1}));
  auto unknown = db->save_queue_order({1, 7});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, error_code::unknown_job);
  auto twice = db->save_queue_order({1, 1});
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, error_code::invalid_request);
  // A refused order leaves the saved one untouched (one transaction).
  auto jobs = db->load_jobs();
  ASSERT_TRUE(jobs);
  EXPECT_EQ((*jobs)[0].queue_position, 1);
  EXPECT_EQ((*jobs)[1].queue_position, 0);
}

TEST(StoreJobs, QueueOrderOfTenThousandJobsIsFast) {
  temp_dir dir;
  auto db = open_store(dir.db());
  ASSERT_TRUE(db);
  constexpr int jobs = 10000;
  std::vector<job_id> order;
  for (int i = 0; i < jobs; ++i) {
    auto id = db->insert_job(sample_job("job-" + std::to_string(i)));
    ASSERT_TRUE(id) << id.error().message;
    order.push_back(*id);
  }
  std::reverse(order.begin(), order.end());
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(db->save_queue_order(order));
  std::swap(order.front(), order.back());
  ASSERT_TRUE(db->save_queue_order(order));
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Typically a few tens of milliseconds for both; a loose bound so slow machines pass.
  EXPECT_LT(seconds, 2.0);
  auto loaded = db->load_jobs();
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->size(), static_cast<std::size_t>(jobs));
  for (std::size_t i = 0; i < order.size(); ++i) {
    ASSERT_EQ((*loaded)[order[i] - 1].queue_position, static_cast<std::int64_t>(i));
  }
}

TEST(StoreIterations, SaveReplaceAndLoadInOrder) {
  temp_dir dir;
  auto db = open_store(dir.db());
  ASSERT_TRUE(db);
  auto id = db->insert_job(sample_job("a"));
  ASSERT_TRUE(id);
  for (int it : {2, 1, 3}) {
    iteration_report r;
    r.job = *id;
    r.tool = "tool-a";
    r.iteration = it;
    r.metrics = {{"val_accuracy", 0.8 + it / 100.0}};
    r.batch_size = 64;
    ASSERT_TRUE(db->save_iteration(r));
  }
  iteration_report replaced;
  replaced.job = *id;
  replaced.iteration = 2;
  replaced.metrics = {{"val_accuracy", 0.5}};
  ASSERT_TRUE(db->save_iteration(replaced));
  auto reports = db->load_iterations(*id);
  ASSERT_TRUE(reports) << reports.error().message;
  ASSERT_EQ(reports->size(), 3u);
  EXPECT_EQ((*reports)[0].iteration, 1);
  EXPECT_EQ((*reports)[1].iteration, 2);
  EXPECT_EQ((*reports)[1].metrics.at("val_accuracy"), 0.5);
  EXPECT_EQ((*reports)[2].iteration, 3);
  EXPECT_EQ((*reports)[2].batch_size, 64);
  EXPECT_EQ((*reports)[2].tool, "tool-a");
  auto none = db->load_iterations(*id + 1);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  iteration_report orphan;
  orphan.job = 42;
  orphan.iteration = 1;
  auto refused = db->save_iteration(orphan);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, error_code::unknown_job);
}

TEST(StoreDatasetsAndSplits, RoundTripAcrossReopen) {
  temp_dir dir;
  split_record split;
  split.spec.name = "s1";
  split.spec.dataset = "fm";
  split.spec.seed = 9;
  split.assignment.resize(70000);
  for (std::size_t i = 0; i < split.assignment.size(); ++i) {
    split.assignment[i] = static_cast<std::uint8_t>(i * 2654435761u % 4);
  }
  {
    auto db = open_store(dir.db());
    ASSERT_TRUE(db);
    dataset_spec fm;
    fm.name = "fm";
    fm.path = "/usr/share/datasets/fashion-mnist";
    dataset_spec parts;
    parts.name = "parts";
    parts.kind = dataset_kind::image_folder;
    parts.path = "/data/parts";
    ASSERT_TRUE(db->save_dataset(parts));
    ASSERT_TRUE(db->save_dataset(fm));
    parts.color = true;
    ASSERT_TRUE(db->save_dataset(parts));  // replaces
    ASSERT_TRUE(db->save_split(split));
    split_record empty;
    empty.spec.name = "empty";
    ASSERT_TRUE(db->save_split(empty));
  }
  auto db = open_store(dir.db());
  ASSERT_TRUE(db);
  auto datasets = db->load_datasets();
  ASSERT_TRUE(datasets) << datasets.error().message;
  ASSERT_EQ(datasets->size(), 2u);
  EXPECT_EQ((*datasets)[0].name, "fm");
  EXPECT_EQ((*datasets)[1].name, "parts");
  EXPECT_EQ((*datasets)[1].kind, dataset_kind::image_folder);
  EXPECT_TRUE((*datasets)[1].color);

  auto loaded = db->load_split("s1");
  ASSERT_TRUE(loaded) << loaded.error().message;
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ((*loaded)->spec.seed, 9u);
  EXPECT_EQ((*loaded)->assignment, split.assignment);
  EXPECT_FALSE((*loaded)->locked);

  split.locked = true;
  split.assignment[5] = train_set;
  ASSERT_TRUE(db->save_split(split));
  loaded = db->load_split("s1");
  ASSERT_TRUE(loaded && loaded->has_value());
  EXPECT_TRUE((*loaded)->locked);
  EXPECT_EQ((*loaded)->assignment, split.assignment);

  auto empty = db->load_split("empty");
  ASSERT_TRUE(empty && empty->has_value());
  EXPECT_TRUE((*empty)->assignment.empty());
  auto missing = db->load_split("nope");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
}

TEST(StoreOpen, UnwritablePlaceSaysWhatToDo) {
  temp_dir dir;
  auto path = (dir.path() / "no-such-folder" / "trainyard.db").string();
  auto db = store::open(path);
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, error_code::storage_failed);
  EXPECT_TRUE(contains(db.error().message, path)) << db.error().message;
  EXPECT_TRUE(contains(db.error().message, "writable")) << db.error().message;
}

TEST(StoreOpen, NotADatabaseIsStorageFailed) {
  temp_dir dir;
  {
    std::ofstream out(dir.db(), std::ios::binary);
    out << std::string(4096, 'x');
  }
  auto db = store::open(dir.db());
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, error_code::storage_failed);
  EXPECT_TRUE(contains(db.error().message, dir.db())) << db.error().message;
}

TEST(StoreConcurrency, TwoStoresOnOneFileFromTwoThreads) {
  temp_dir dir;
  auto first = open_store(dir.db());
  auto second = open_store(dir.db());
  ASSERT_TRUE(first && second);
  constexpr int per_thread = 200;
  std::vector<std::int64_t> orders_a, orders_b;
  std::atomic<int> failures{0};
  auto work = [&](store* db, const std::string& prefix, std::vector<std::int64_t>& orders) {
    for (int i = 0; i < per_thread; ++i) {
      auto id = db->insert_job(sample_job(prefix + std::to_string(i)));
      if (!id) {
        ++failures;
        continue;
      }
      iteration_report r;
      r.job = *id;
      r.iteration = 1;
      if (!db->save_iteration(r)) ++failures;
      auto order = db->next_run_order();
      if (order) {
        orders.push_back(*order);
      } else {
        ++failures;
      }
      if (!db->load_jobs()) ++failures;
    }
  };
  std::thread a(work, first.get(), "a-", std::ref(orders_a));
  std::thread b(work, second.get(), "b-", std::ref(orders_b));
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  // Every run-order value handed out once.
  std::set<std::int64_t> all(orders_a.begin(), orders_a.end());
  all.insert(orders_b.begin(), orders_b.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(2 * per_thread));
  EXPECT_EQ(*all.begin(), 1);
  EXPECT_EQ(*all.rbegin(), 2 * per_thread);
  auto jobs = second->load_jobs();
  ASSERT_TRUE(jobs);
  EXPECT_EQ(jobs->size(), static_cast<std::size_t>(2 * per_thread));
}

}  // namespace
}  // namespace trainyard
