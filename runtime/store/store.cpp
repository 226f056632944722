// The workspace's state database on the SQLite C API. Each store object owns one connection and is
// used by one thread at a time (its owning actor); several stores, in one process or several, may
// open the same file: WAL lets readers run beside the writer, the busy timeout makes writers wait
// for each other, and every write transaction starts IMMEDIATE so that it takes the write lock
// up front instead of failing half-way when another connection wrote first.
// Values are always bound to prepared statements; specs and reports are stored as JSON text.
#include "runtime/store/store.hpp"

#include <sqlite3.h>

#include <memory>
#include <string>
#include <unordered_set>

#include "runtime/store/spec_json.hpp"

namespace trainyard {

namespace {

constexpr int schema_version = 1;

// The tables of trainyard.db (docs/commands.md, "Files a run leaves"); specs, metrics and
// reports are JSON.
constexpr const char* schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  spec TEXT NOT NULL,
  state INTEGER NOT NULL,
  queue_position INTEGER NOT NULL DEFAULT -1,
  run_order INTEGER NOT NULL DEFAULT 0,
  first_iteration INTEGER NOT NULL DEFAULT 0,
  trained_iterations INTEGER NOT NULL DEFAULT 0,
  best_iteration INTEGER NOT NULL DEFAULT 0,
  batch_size INTEGER NOT NULL DEFAULT 0,
  final_metrics TEXT NOT NULL DEFAULT '{}',
  message TEXT NOT NULL DEFAULT '',
  submitted_ms INTEGER NOT NULL DEFAULT 0,
  started_ms INTEGER NOT NULL DEFAULT 0,
  finished_ms INTEGER NOT NULL DEFAULT 0,
  error INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_by_queue_position ON jobs(queue_position)
  WHERE queue_position >= 0;
CREATE TABLE IF NOT EXISTS iterations (
  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  iteration INTEGER NOT NULL,
  report TEXT NOT NULL,
  PRIMARY KEY (job_id, iteration)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS datasets (
  name TEXT PRIMARY KEY,
  spec TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS splits (
  name TEXT PRIMARY KEY,
  spec TEXT NOT NULL,
  assignment BLOB NOT NULL,
  locked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS counters (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
)sql";

constexpr const char* job_columns =
    "id, spec, state, queue_position, run_order, first_iteration, trained_iterations, "
    "best_iteration, batch_size, final_metrics, message, submitted_ms, started_ms, finished_ms, "
    "error";

struct finalize_statement {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using statement = std::unique_ptr<sqlite3_stmt, finalize_statement>;

std::string path_of(sqlite3* db) {
  const char* p = sqlite3_db_filename(db, "main");
  return p != nullptr && *p != '\0' ? p : "(in memory)";
}

/// What to do about the common failures; `otherwise` for the rest.
std::string advice(int code, const char* otherwise) {
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return "; another process kept the database locked for over 5 s, try again";
    case SQLITE_FULL:
      return "; the disk is full";
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
      return "; is the workspace folder writable?";
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return "; the file is damaged or not a trainyard database: restore it or use another "
             "workspace";
    case SQLITE_IOERR:
      return "; check the disk holding the workspace";
    default:
      return otherwise;
  }
}

failure sql_failure(sqlite3* db, const std::string& what, const char* otherwise = "") {
  int code = sqlite3_extended_errcode(db);
  return make_failure(error_code::storage_failed, "state database " + path_of(db) + ": " + what +
                                                      " failed: " + sqlite3_errmsg(db) +
                                                      advice(code, otherwise));
}

failure bad_row(sqlite3* db, const std::string& what, const failure& f) {
  return make_failure(error_code::storage_failed,
                      "state database " + path_of(db) + ": " + what + ": " + f.message);
}

expected<void> exec(sqlite3* db, const char* sql, const std::string& what,
                    const char* otherwise = "") {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return sql_failure(db, what, otherwise);
  }
  return {};
}

expected<statement> prepare(sqlite3* db, const std::string& sql, const std::string& what) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &raw, nullptr) !=
      SQLITE_OK) {
    return sql_failure(db, what);
  }
  return statement(raw);
}

void bind(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}
void bind(sqlite3_stmt* s, int i, std::int64_t v) { sqlite3_bind_int64(s, i, v); }
void bind(sqlite3_stmt* s, int i, int v) { sqlite3_bind_int64(s, i, v); }
void bind_blob(sqlite3_stmt* s, int i, const std::vector<std::uint8_t>& v) {
  // A non-null pointer even when empty: a null one would store NULL, not an empty blob.
  static const std::uint8_t nothing = 0;
  sqlite3_bind_blob(s, i, v.empty() ? &nothing : v.data(), static_cast<int>(v.size()),
                    SQLITE_TRANSIENT);
}

std::string column_text(sqlite3_stmt* s, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return p != nullptr ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, i)))
                      : std::string();
}

/// A write transaction: BEGIN IMMEDIATE now, ROLLBACK unless committed.
class write_transaction {
 public:
  explicit write_transaction(sqlite3* db) : db_(db) {}
  ~write_transaction() {
    if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  write_transaction(const write_transaction&) = delete;
  write_transaction& operator=(const write_transaction&) = delete;

  expected<void> begin(const std::string& what) {
    auto ok = exec(db_, "BEGIN IMMEDIATE", what + " (begin)");
    open_ = static_cast<bool>(ok);
    return ok;
  }
  expected<void> commit(const std::string& what) {
    auto ok = exec(db_, "COMMIT", what + " (commit)");
    if (ok) open_ = false;
    return ok;
  }

 private:
  sqlite3* db_;
  bool open_ = false;
};

/// Binds every column of a job after the name, from parameter `first` on (14 parameters).
void bind_job_fields(sqlite3_stmt* s, int first, const job_record& job) {
  bind(s, first + 0, to_json(job.spec));
  bind(s, first + 1, static_cast<int>(job.state));
  bind(s, first + 2, job.queue_position);
  bind(s, first + 3, job.run_order);
  bind(s, first + 4, job.first_iteration);
  bind(s, first + 5, job.trained_iterations);
  bind(s, first + 6, job.best_iteration);
  bind(s, first + 7, job.batch_size);
  bind(s, first + 8, to_json(job.final_metrics));
  bind(s, first + 9, job.message);
  bind(s, first + 10, job.submitted_ms);
  bind(s, first + 11, job.started_ms);
  bind(s, first + 12, job.finished_ms);
  bind(s, first + 13, static_cast<int>(job.error));
}

/// Reads a row selected with `job_columns`.
expected<job_record> read_job(sqlite3* db, sqlite3_stmt* s) {
  job_record job;
  job.id = static_cast<job_id>(sqlite3_column_int64(s, 0));
  std::string where = "job " + std::to_string(job.id);
  auto spec = job_spec_from_json(column_text(s, 1));
  if (!spec) return bad_row(db, where + "'s spec", spec.error());
  job.spec = std::move(*spec);
  auto state = sqlite3_column_int64(s, 2);
  if (state < 0 || state > static_cast<int>(job_state::cancelled)) {
    return make_failure(error_code::storage_failed, "state database " + path_of(db) + ": " + where +
                                                        " has the unknown state " +
                                                        std::to_string(state));
  }
  job.state = static_cast<job_state>(state);
  job.queue_position = sqlite3_column_int64(s, 3);
  job.run_order = sqlite3_column_int64(s, 4);
  job.first_iteration = sqlite3_column_int(s, 5);
  job.trained_iterations = sqlite3_column_int(s, 6);
  job.best_iteration = sqlite3_column_int(s, 7);
  job.batch_size = sqlite3_column_int(s, 8);
  auto metrics = metric_map_from_json(column_text(s, 9));
  if (!metrics) return bad_row(db, where + "'s final metrics", metrics.error());
  job.final_metrics = std::move(*metrics);
  job.message = column_text(s, 10);
  job.submitted_ms = sqlite3_column_int64(s, 11);
  job.started_ms = sqlite3_column_int64(s, 12);
  job.finished_ms = sqlite3_column_int64(s, 13);
  job.error = static_cast<error_code>(sqlite3_column_int(s, 14));
  return job;
}

bool is_constraint(sqlite3* db, int extended) { return sqlite3_extended_errcode(db) == extended; }

}  // namespace

expected<std::unique_ptr<store>> store::open(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    sqlite3_close_v2(raw);
    return make_failure(error_code::storage_failed,
                        "cannot open the state database " + path + ": " + why +
                            "; does its folder exist, and is the workspace folder writable?");
  }
  // From here the store owns the handle and closes it on every failure path.
  std::unique_ptr<store> s(new store(raw));
  sqlite3* db = s->db_;
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 5000);  // = PRAGMA busy_timeout=5000: wait for other writers
  const char* open_advice = "; is the workspace folder writable and on a local disk?";
  // WAL: readers do not block the writer; NORMAL sync is durable across process crashes (an OS
  // crash may lose the last commits, never corrupt the file).
  if (auto ok = exec(db, "PRAGMA journal_mode=WAL", "setting WAL journal mode", open_advice); !ok) {
    return ok.error();
  }
  if (auto ok = exec(db, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON",
                     "setting connection options", open_advice);
      !ok) {
    return ok.error();
  }
  write_transaction tx(db);
  if (auto ok = tx.begin("creating the schema"); !ok) return ok.error();
  auto version_stmt = prepare(db, "PRAGMA user_version", "reading the schema version");
  if (!version_stmt) return version_stmt.error();
  if (sqlite3_step(version_stmt->get()) != SQLITE_ROW) {
    return sql_failure(db, "reading the schema version");
  }
  int version = sqlite3_column_int(version_stmt->get(), 0);
  version_stmt->reset();  // finalize before changing the schema
  if (version > schema_version) {
    return make_failure(error_code::storage_failed,
                        "state database " + path + " has schema version " +
                            std::to_string(version) + ", newer than this trainyard's " +
                            std::to_string(schema_version) +
                            ": use a newer trainyard or another workspace");
  }
  if (auto ok = exec(db, schema_sql, "creating the schema"); !ok) return ok.error();
  if (version < schema_version) {
    // A constant, not a value from outside: pragmas take no bound parameters.
    std::string set_version = "PRAGMA user_version=" + std::to_string(schema_version);
    if (auto ok = exec(db, set_version.c_str(), "setting the schema version"); !ok) {
      return ok.error();
    }
  }
  if (auto ok = tx.commit("creating the schema"); !ok) return ok.error();
  return s;
}

store::store(sqlite3* db) : db_(db) {}

store::~store() {
  for (auto& [sql, stmt] : statements_)
    sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

expected<sqlite3_stmt*> store::cached(const char* sql, const std::string& what) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    auto s = prepare(db_, sql, what);
    if (!s) return s.error();
    it = statements_.emplace(sql, s->release()).first;
  }
  sqlite3_reset(it->second);
  sqlite3_clear_bindings(it->second);
  return it->second;
}

expected<job_id> store::insert_job(const job_record& job) {
  auto s = cached(
                   "INSERT INTO jobs (name, spec, state, queue_position, run_order, "
                   "first_iteration, trained_iterations, best_iteration, batch_size, "
                   "final_metrics, message, submitted_ms, started_ms, finished_ms, error) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                   "inserting a job");
  if (!s) return s.error();
  bind(*s, 1, job.spec.name);
  bind_job_fields(*s, 2, job);
  if (sqlite3_step(*s) != SQLITE_DONE) {
    if (is_constraint(db_, SQLITE_CONSTRAINT_UNIQUE)) {
      return make_failure(error_code::already_exists,
                          "a job named '" + job.spec.name +
                              "' already exists; choose another name or continue that job");
    }
    return sql_failure(db_, "inserting job '" + job.spec.name + "'");
  }
  return static_cast<job_id>(sqlite3_last_insert_rowid(db_));
}

expected<void> store::update_job(const job_record& job) {
  auto s = cached(
                   "UPDATE jobs SET spec = ?1, state = ?2, queue_position = ?3, run_order = ?4, "
                   "first_iteration = ?5, trained_iterations = ?6, best_iteration = ?7, "
                   "batch_size = ?8, final_metrics = ?9, message = ?10, submitted_ms = ?11, "
                   "started_ms = ?12, finished_ms = ?13, error = ?14, name = ?15 WHERE id = ?16",
                   "updating a job");
  if (!s) return s.error();
  bind_job_fields(*s, 1, job);
  bind(*s, 15, job.spec.name);
  bind(*s, 16, static_cast<std::int64_t>(job.id));
  if (sqlite3_step(*s) != SQLITE_DONE) {
    if (is_constraint(db_, SQLITE_CONSTRAINT_UNIQUE)) {
      return make_failure(error_code::already_exists,
                          "cannot rename job " + std::to_string(job.id) + " to '" + job.spec.name +
                              "': another job has that name");
    }
    return sql_failure(db_, "updating job " + std::to_string(job.id));
  }
  if (sqlite3_changes(db_) == 0) {
    return make_failure(error_code::unknown_job,
                        "no job with id " + std::to_string(job.id) + " in " + path_of(db_));
  }
  return {};
}

expected<std::vector<job_record>> store::load_jobs() {
  auto s = prepare(db_, std::string("SELECT ") + job_columns + " FROM jobs ORDER BY id",
                   "loading the jobs");
  if (!s) return s.error();
  std::vector<job_record> jobs;
  int rc = 0;
  while ((rc = sqlite3_step(s->get())) == SQLITE_ROW) {
    auto job = read_job(db_, s->get());
    if (!job) return job.error();
    jobs.push_back(std::move(*job));
  }
  if (rc != SQLITE_DONE) return sql_failure(db_, "loading the jobs");
  return jobs;
}

expected<std::optional<job_record>> store::find_job_by_name(const std::string& name) {
  auto s = prepare(db_, std::string("SELECT ") + job_columns + " FROM jobs WHERE name = ?1",
                   "finding a job");
  if (!s) return s.error();
  bind(s->get(), 1, name);
  int rc = sqlite3_step(s->get());
  if (rc == SQLITE_DONE) return std::optional<job_record>();
  if (rc != SQLITE_ROW) return sql_failure(db_, "finding job '" + name + "'");
  auto job = read_job(db_, s->get());
  if (!job) return job.error();
  return std::optional<job_record>(std::move(*job));
}

expected<void> store::save_queue_keys(const std::vector<std::pair<job_id, std::int64_t>>& keys) {
  if (keys.empty())
    return {};
  const std::string what = "saving the queue order";
  write_transaction tx(db_);
  if (auto ok = tx.begin(what); !ok) return ok;
  auto s = prepare(db_, "UPDATE jobs SET queue_position = ?1 WHERE id = ?2", what);
  if (!s) return s.error();
  for (const auto& [id, key] : keys) {
    sqlite3_stmt* st = s->get();
    sqlite3_reset(st);
    bind(st, 1, key);
    bind(st, 2, static_cast<std::int64_t>(id));
    if (sqlite3_step(st) != SQLITE_DONE) return sql_failure(db_, what);
    if (sqlite3_changes(db_) == 0)
      return make_failure(error_code::unknown_job, "cannot queue job " + std::to_string(id) +
                                                       ": no such job in " + path_of(db_));
  }
  return tx.commit(what);
}

expected<void> store::save_queue_order(const std::vector<job_id>& order) {
  std::unordered_set<job_id> seen;
  seen.reserve(order.size());
  for (job_id id : order) {
    if (!seen.insert(id).second) {
      return make_failure(error_code::invalid_request,
                          "job " + std::to_string(id) + " appears twice in the queue order");
    }
  }
  const std::string what = "saving the queue order";
  write_transaction tx(db_);
  if (auto ok = tx.begin(what); !ok) return ok;
  if (auto ok = exec(db_, "UPDATE jobs SET queue_position = -1 WHERE queue_position >= 0", what);
      !ok) {
    return ok;
  }
  auto s = prepare(db_, "UPDATE jobs SET queue_position = ?1 WHERE id = ?2", what);
  if (!s) return s.error();
  for (std::size_t i = 0; i < order.size(); ++i) {
    sqlite3_stmt* st = s->get();
    sqlite3_reset(st);
    bind(st, 1, static_cast<std::int64_t>(i));
    bind(st, 2, static_cast<std::int64_t>(order[i]));
    if (sqlite3_step(st) != SQLITE_DONE) return sql_failure(db_, what);
    if (sqlite3_changes(db_) == 0) {
      return make_failure(error_code::unknown_job, "cannot queue job " + std::to_string(order[i]) +
                                                       ": no such job in " + path_of(db_));
    }
  }
  return tx.commit(what);
}

expected<std::int64_t> store::next_run_order() {
  // One statement, so atomic even with another store on the same file.
  auto s = prepare(db_,
                   "INSERT INTO counters (name, value) VALUES ('run_order', 1) "
                   "ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
                   "advancing the run-order counter");
  if (!s) return s.error();
  if (sqlite3_step(s->get()) != SQLITE_ROW) {
    return sql_failure(db_, "advancing the run-order counter");
  }
  std::int64_t value = sqlite3_column_int64(s->get(), 0);
  if (sqlite3_step(s->get()) != SQLITE_DONE) {
    return sql_failure(db_, "advancing the run-order counter");
  }
  return value;
}

expected<void> store::save_iteration(const iteration_report& report) {
  auto s = prepare(db_,
                   "INSERT INTO iterations (job_id, iteration, report) VALUES (?1, ?2, ?3) "
                   "ON CONFLICT (job_id, iteration) DO UPDATE SET report = excluded.report",
                   "saving an iteration");
  if (!s) return s.error();
  bind(s->get(), 1, static_cast<std::int64_t>(report.job));
  bind(s->get(), 2, report.iteration);
  bind(s->get(), 3, to_json(report));
  if (sqlite3_step(s->get()) != SQLITE_DONE) {
    if (is_constraint(db_, SQLITE_CONSTRAINT_FOREIGNKEY)) {
      return make_failure(error_code::unknown_job,
                          "cannot save iteration " + std::to_string(report.iteration) + " of job " +
                              std::to_string(report.job) + ": no such job in " + path_of(db_));
    }
    return sql_failure(db_, "saving iteration " + std::to_string(report.iteration) + " of job " +
                                std::to_string(report.job));
  }
  return {};
}

expected<std::vector<iteration_report>> store::load_iterations(job_id job) {
  auto s = prepare(db_,
                   "SELECT iteration, report FROM iterations WHERE job_id = ?1 "
                   "ORDER BY iteration",
                   "loading iterations");
  if (!s) return s.error();
  bind(s->get(), 1, static_cast<std::int64_t>(job));
  std::vector<iteration_report> reports;
  int rc = 0;
  while ((rc = sqlite3_step(s->get())) == SQLITE_ROW) {
    auto report = iteration_report_from_json(column_text(s->get(), 1));
    if (!report) {
      return bad_row(db_,
                     "iteration " + std::to_string(sqlite3_column_int64(s->get(), 0)) + " of job " +
                         std::to_string(job),
                     report.error());
    }
    reports.push_back(std::move(*report));
  }
  if (rc != SQLITE_DONE)
    return sql_failure(db_, "loading the iterations of job " + std::to_string(job));
  return reports;
}

expected<void> store::save_dataset(const dataset_spec& spec) {
  auto s = prepare(db_,
                   "INSERT INTO datasets (name, spec) VALUES (?1, ?2) "
                   "ON CONFLICT (name) DO UPDATE SET spec = excluded.spec",
                   "saving a dataset");
  if (!s) return s.error();
  bind(s->get(), 1, spec.name);
  bind(s->get(), 2, to_json(spec));
  if (sqlite3_step(s->get()) != SQLITE_DONE) {
    return sql_failure(db_, "saving dataset '" + spec.name + "'");
  }
  return {};
}

expected<std::vector<dataset_spec>> store::load_datasets() {
  auto s = prepare(db_, "SELECT name, spec FROM datasets ORDER BY name", "loading the datasets");
  if (!s) return s.error();
  std::vector<dataset_spec> out;
  int rc = 0;
  while ((rc = sqlite3_step(s->get())) == SQLITE_ROW) {
    auto spec = dataset_spec_from_json(column_text(s->get(), 1));
    if (!spec) return bad_row(db_, "dataset '" + column_text(s->get(), 0) + "'", spec.error());
    out.push_back(std::move(*spec));
  }
  if (rc != SQLITE_DONE) return sql_failure(db_, "loading the datasets");
  return out;
}

expected<void> store::save_split(const split_record& split) {
  auto s = prepare(db_,
                   "INSERT INTO splits (name, spec, assignment, locked) VALUES (?1, ?2, ?3, ?4) "
                   "ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, "
                   "assignment = excluded.assignment, locked = excluded.locked",
                   "saving a split");
  if (!s) return s.error();
  bind(s->get(), 1, split.spec.name);
  bind(s->get(), 2, to_json(split.spec));
  bind_blob(s->get(), 3, split.assignment);
  bind(s->get(), 4, split.locked ? 1 : 0);
  if (sqlite3_step(s->get()) != SQLITE_DONE) {
    return sql_failure(db_, "saving split '" + split.spec.name + "'");
  }
  return {};
}

expected<std::optional<split_record>> store::load_split(const std::string& name) {
  auto s = prepare(db_, "SELECT spec, assignment, locked FROM splits WHERE name = ?1",
                   "loading a split");
  if (!s) return s.error();
  bind(s->get(), 1, name);
  int rc = sqlite3_step(s->get());
  if (rc == SQLITE_DONE) return std::optional<split_record>();
  if (rc != SQLITE_ROW) return sql_failure(db_, "loading split '" + name + "'");
  split_record out;
  auto spec = split_spec_from_json(column_text(s->get(), 0));
  if (!spec) return bad_row(db_, "split '" + name + "'", spec.error());
  out.spec = std::move(*spec);
  const auto* blob = static_cast<const std::uint8_t*>(sqlite3_column_blob(s->get(), 1));
  int bytes = sqlite3_column_bytes(s->get(), 1);
  if (blob != nullptr && bytes > 0) out.assignment.assign(blob, blob + bytes);
  out.locked = sqlite3_column_int(s->get(), 2) != 0;
  return std::optional<split_record>(std::move(out));
}

}  // namespace trainyard
