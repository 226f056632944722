// The model and the drawing of `trainyard monitor`, apart from any terminal, actor or clock: what
// the monitor knows about the scheduler (jobs, queue order, workers, a short history of each
// job's validation metric, the connection), which job the cursor is on, how a key turns into a
// command, and how all of it fits into a screen of any size as plain text lines.
//
// Pure and single-threaded: the monitor actor (actors/monitor.hpp) owns one and feeds it the
// scheduler's events; the terminal front end only copies the lines `render` returns to the
// screen. Times come in as preformatted text ("14:03:27"), so tests need no clock.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "runtime/core/reports.hpp"
#include "runtime/core/specs.hpp"

namespace trainyard {

/// What the monitor shows of a job (a plain copy of the protocol's job_info).
struct monitor_job {
  job_id id = 0;
  std::string name;
  std::string tool;
  std::string split;
  job_state state = job_state::queued;
  std::int64_t queue_position = -1;  ///< 0-based while queued
  std::int64_t run_order = 0;        ///< 1, 2, ... in the order jobs started; 0 = not yet
  int iteration = 0;
  int target_iterations = 0;
  int best_iteration = 0;
  double fraction = 0;      ///< in [0, 1]
  double eta_seconds = -1;  ///< -1 = unknown
  int batch_size = 0;
  metric_map last_metrics;
  metric_map final_metrics;
  std::string message;  ///< stop/failure reason
  std::string monitored_name;  ///< the validation metric the tool's kind monitors
};

/// What the monitor shows of a worker (a plain copy of the protocol's worker_status).
struct monitor_worker {
  std::uint32_t index = 0;
  std::string node;    ///< the node process hosting it, e.g. "gpu3:4711"
  std::string device;  ///< "cpu", "cuda:0"
  std::uint64_t memory_bytes = 0;
  job_id job = 0;      ///< 0 = idle
  bool alive = true;
};

/// Keys the view understands besides printable characters; the terminal front end maps its own
/// codes (curses KEY_UP, ...) to these.
namespace monitor_key {
constexpr int up = 0x10001;
constexpr int down = 0x10002;
constexpr int home = 0x10003;
constexpr int end = 0x10004;
constexpr int page_up = 0x10005;
constexpr int page_down = 0x10006;
}  // namespace monitor_key

/// A request the user made with a key, for the scheduler (or the monitor itself for quit).
struct monitor_command {
  enum class kind { move, top, cancel, stop, quit };
  kind what = kind::quit;
  job_id job = 0;              ///< the selected job (0 for quit)
  std::uint32_t position = 0;  ///< move: the 0-based queue position to move to
  bool operator==(const monitor_command& o) const {
    return what == o.what && job == o.job && position == o.position;
  }
};

/// The monitor's state and its text rendering.
class monitor_view {
 public:
  /// `unicode`: draw the curve with block characters (▁▂▃▄▅▆▇█) and use "…"; else ASCII only.
  explicit monitor_view(bool unicode = true) : unicode_(unicode) {}

  // -- what the scheduler says ----------------------------------------------------------------

  /// The whole job list (answer to `list`): replaces every job; jobs not in it vanish.
  void set_jobs(const std::vector<monitor_job>& jobs);
  /// One job changed (event `changed`): replaces or adds it.
  void update_job(const monitor_job& job);
  /// A job finished an iteration: progress and a point of its validation curve.
  void add_iteration(const iteration_report& report);
  /// A job reached a final state.
  void finish_job(job_id id, job_state state, const metric_map& final_metrics,
                  const std::string& message);
  /// Every worker's status (event or answer to `workers`).
  void set_workers(const std::vector<monitor_worker>& workers);

  // -- the connection -------------------------------------------------------------------------

  /// Trying to reach the scheduler at `where` ("127.0.0.1:7000").
  void connecting(const std::string& where);
  /// Subscribed to the scheduler at `where`; `at` is the local time, "14:03:27". The first time
  /// the line says "connected", after a loss "reconnected".
  void connected(const std::string& where, const std::string& at);
  /// The scheduler went away at `at`; `why` is the reason to show (may be empty).
  void connection_lost(const std::string& at, const std::string& why);
  /// A reconnection attempt failed; the next is in `retry_seconds`.
  void reconnect_failed(const std::string& why, double retry_seconds);
  /// The connection line as shown in the header.
  const std::string& connection_line() const { return connection_; }
  /// True while subscribed to a live scheduler.
  bool is_connected() const { return live_; }

  /// A one-line message under the header (a refused command, a hint); empty clears it.
  void set_notice(const std::string& text) { notice_ = text; }
  const std::string& notice() const { return notice_; }

  // -- keys and selection ---------------------------------------------------------------------

  /// Applies a key: moves the cursor, or returns the command it asks for. Keys that do not apply
  /// to the selected job set a notice that says why and return nothing.
  std::optional<monitor_command> handle_key(int key);
  /// The selected job (running jobs come first, then the queue in order); 0 when none.
  job_id selected() const { return selected_; }

  // -- reading the model ----------------------------------------------------------------------

  /// Queued jobs' ids in queue order.
  std::vector<job_id> queue_order() const;
  /// Running jobs' ids in the order they started.
  std::vector<job_id> running() const;
  /// A job by id, or nullptr.
  const monitor_job* job(job_id id) const;
  /// The validation metric history of a job (one value per iteration, oldest first).
  std::vector<double> curve(job_id id) const;

  /// The screen: exactly `height` lines, each at most `width` columns (UTF-8 code points).
  std::vector<std::string> render(int width, int height) const;

 private:
  std::vector<job_id> selectable() const;
  void reselect(std::size_t previous_index);
  std::size_t selected_index() const;
  void remember(job_id id, int iteration, const metric_map& metrics,
                const std::string& monitored);

  bool unicode_;
  std::map<job_id, monitor_job> jobs_;
  std::vector<monitor_worker> workers_;
  std::map<job_id, std::map<int, double>> curves_;  // job → iteration → validation metric
  std::map<job_id, std::string> curve_metric_;      // job → the metric's name
  job_id selected_ = 0;
  std::string connection_ = "not connected";
  std::string notice_;
  bool live_ = false;
  bool ever_connected_ = false;
};

/// The metric named `monitored` (the tool kind's monitored metric, or its test twin) with its
/// value; nullopt when `metrics` does not hold it.
std::optional<std::pair<std::string, double>> validation_metric(const metric_map& metrics,
                                                                const std::string& monitored);

/// The last `width` values as a curve scaled between their minimum and maximum: one block
/// character (▁ to █, or ASCII "_.-:=+*#") per value; a flat curve sits in the middle.
std::string sparkline(const std::vector<double>& values, int width, bool unicode);

/// Seconds as "42s", "3m07s", "2h05m"; "--" when negative (unknown).
std::string format_duration(double seconds);

/// Columns a UTF-8 string takes (its code points; the monitor draws no double-width text).
int display_width(const std::string& text);

/// The string cut to at most `width` columns without splitting a UTF-8 character.
std::string fit_width(const std::string& text, int width);

}  // namespace trainyard
