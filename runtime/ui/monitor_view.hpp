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

#include "runtime/core/jobs.hpp"
#include "runtime/core/reports.hpp"
#include "runtime/core/specs.hpp"

namespace trainyard {

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
  void set_jobs(const std::vector<job_info>& jobs);
  /// One job changed (event `changed`): replaces or adds it.
  void update_job(const job_info& job);
  /// A job finished an iteration: progress and a point of its validation curve.
  void add_iteration(const iteration_report& report);
  /// A job reached a final state.
  void finish_job(job_id id, job_state state, const metric_map& final_metrics,
                  const std::string& message);
  /// Every worker's status (event or answer to `workers`). Workers whose node went away are shown
  /// as gone and not counted (the scheduler leaves them out after a short while).
  void set_workers(const std::vector<worker_status>& workers);

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

  /// Applies a key: moves the cursor, or returns the command it asks for. Every key answers in
  /// the notice line: a key that does not apply to the selected job (or to any) says why, an
  /// unknown key lists the keys. Cancel and stop ask first: they return nothing and the next key
  /// answers the question ('y' returns the command, any other key keeps the job).
  std::optional<monitor_command> handle_key(int key);
  /// The scheduler's answer to a command `handle_key` returned: `refusal` empty when it was
  /// done. Says so in the notice line.
  void command_answered(const monitor_command& command, const std::string& refusal);
  /// The selected job (running jobs first, then the queue in order, then finished jobs, latest
  /// first); 0 when none. The cursor follows its job from one section to another, so it stays on
  /// a job that was stopped or cancelled.
  job_id selected() const { return selected_; }
  /// True while a cancel or stop waits for its 'y'.
  bool confirming() const { return pending_.has_value(); }

  // -- reading the model ----------------------------------------------------------------------

  /// Queued jobs' ids in queue order.
  std::vector<job_id> queue_order() const;
  /// Running jobs' ids in the order they started.
  std::vector<job_id> running() const;
  /// A job by id, or nullptr.
  const job_info* job(job_id id) const;
  /// The validation metric history of a job (one value per iteration, oldest first).
  std::vector<double> curve(job_id id) const;

  /// The screen: exactly `height` lines, each at most `width` columns (UTF-8 code points).
  std::vector<std::string> render(int width, int height) const;

 private:
  // The parts of the screen, each as its lines (`focus`: the index of the selected job's line).
  std::vector<std::string> header_lines(int width, std::size_t running, std::size_t queued) const;
  std::vector<std::string> running_lines(const std::vector<job_id>& ids, int width,
                                         int name_width, std::size_t& focus) const;
  std::vector<std::string> queue_lines(const std::vector<job_id>& ids, int name_width,
                                       std::size_t& focus) const;
  std::vector<std::string> worker_lines() const;
  std::vector<std::string> finished_lines(const std::vector<job_id>& ids, int name_width,
                                          std::size_t& focus) const;
  std::size_t alive_workers() const;
  std::string name_of(job_id id) const;  // "#id" when the job is unknown
  std::string cursor(job_id id) const;   // "> " on the selected job, else "  "

  std::vector<job_id> finished() const;  // latest first
  std::vector<job_id> selectable() const;
  std::optional<monitor_command> confirm(int key);
  std::optional<monitor_command> ask(monitor_command command, const std::string& question);
  void reselect(std::size_t previous_index);
  std::size_t selected_index() const;
  void remember(job_id id, int iteration, const metric_map& metrics,
                const std::string& monitored);

  bool unicode_;
  std::map<job_id, job_info> jobs_;
  std::vector<worker_status> workers_;
  std::map<job_id, std::map<int, double>> curves_;  // job → iteration → validation metric
  std::map<job_id, std::string> curve_metric_;      // job → the metric's name
  job_id selected_ = 0;
  std::string connection_ = "not connected";
  std::string notice_;
  std::optional<monitor_command> pending_;  // a cancel or stop waiting for 'y'
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
