// The workspace's state database (SQLite, one file: <workspace>/trainyard.db): jobs, their states
// and queue order, the order jobs started in, per-iteration metrics, datasets, splits and locks.
// One store object per owner (the scheduler, the dataset actor); each opens its own connection
// (WAL mode, busy timeout), so they never share a handle across threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/core/error.hpp"
#include "runtime/core/reports.hpp"
#include "runtime/core/specs.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace trainyard {

/// A job as stored.
struct job_record {
  job_id id = 0;
  job_spec spec;
  job_state state = job_state::queued;
  std::int64_t queue_position = -1;  ///< 0-based while queued, -1 otherwise
  std::int64_t run_order = 0;        ///< 1, 2, ... in the order jobs started; 0 = never started
  int first_iteration = 0;           ///< the tool's iteration count when the job started
  int trained_iterations = 0;        ///< the tool's iteration count after the job
  int best_iteration = 0;
  int batch_size = 0;
  metric_map final_metrics;
  std::string message;               ///< stop/failure reason
  error_code error = error_code::none;  ///< why it failed; none unless failed
  std::int64_t submitted_ms = 0;     ///< milliseconds since the epoch; 0 = not yet
  std::int64_t started_ms = 0;
  std::int64_t finished_ms = 0;
};

/// A split as stored.
struct split_record {
  split_spec spec;
  std::vector<std::uint8_t> assignment;  ///< one split_set per image
  bool locked = false;
};

class store {
 public:
  /// Opens (creating when absent) the database file and its schema. storage_failed names the
  /// path and SQLite's message.
  static expected<std::unique_ptr<store>> open(const std::string& path);
  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  /// Inserts a job and returns its id (1, 2, ...). already_exists when the name is taken.
  expected<job_id> insert_job(const job_record& job);
  /// Writes every field of an existing job.
  expected<void> update_job(const job_record& job);
  /// All jobs, by id.
  expected<std::vector<job_record>> load_jobs();
  expected<std::optional<job_record>> find_job_by_name(const std::string& name);
  /// Sets queue_position of the given jobs to their index in `order` and -1 for every other
  /// queued-position job, in one transaction.
  expected<void> save_queue_order(const std::vector<job_id>& order);
  /// Sets the queue sort key (the queue_position column) of the given jobs only, in one
  /// transaction: what a push or a move changed (queue_policy::changed_keys()).
  expected<void> save_queue_keys(const std::vector<std::pair<job_id, std::int64_t>>& keys);
  /// Next value of the run-order counter (persisted; survives restarts).
  expected<std::int64_t> next_run_order();

  /// Appends (or replaces) an iteration's report of a job.
  expected<void> save_iteration(const iteration_report& report);
  /// Reports of a job, by iteration.
  expected<std::vector<iteration_report>> load_iterations(job_id job);

  expected<void> save_dataset(const dataset_spec& spec);  ///< insert or replace by name
  expected<std::vector<dataset_spec>> load_datasets();
  expected<void> save_split(const split_record& split);   ///< insert or replace by name
  expected<std::optional<split_record>> load_split(const std::string& name);

 private:
  explicit store(sqlite3* db);
  /// A prepared statement kept for the store's life (reset, bindings cleared): the hot paths
  /// (a job inserted or updated per request) skip SQLite's parsing and planning.
  expected<sqlite3_stmt*> cached(const char* sql, const std::string& what);
  sqlite3* db_;
  std::map<std::string, sqlite3_stmt*> statements_;
};

}  // namespace trainyard
