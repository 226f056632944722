// The line `trainyard run` draws for one job, laid out to a terminal width. Pure: the width and the
// job come in as arguments, so the layout is tested at any width without a terminal.
#pragma once

#include <string>

#include "runtime/core/jobs.hpp"

namespace trainyard {

/// A job's own iterations, counted from where the job started: a continue job counts the
/// iterations it adds to its tool, not the tool's whole count.
struct job_iterations {
  int done = 0;   ///< iterations this job completed
  int total = 0;  ///< iterations this job is expected to run; 0 = the end is unknown
};

/// The job's own completed and expected iterations (from `iteration`, `target_iterations` and
/// `first_iteration`, which count over the tool's life).
job_iterations own_iterations(const job_info& job);

/// Whole percent done, from the same counts the line's `it done/total` shows: floor(100 * done /
/// total). When the end is unknown: 100 for a finished job, else 0.
int percent_done(const job_info& job, const job_iterations& counts);

/// The widest bar a progress line draws, in columns between its brackets; it narrows to
/// `narrowest_bar` before any field is dropped.
constexpr int widest_bar = 24;
constexpr int narrowest_bar = 10;

/// One job as a progress line of at most `width` columns (UTF-8 characters), e.g.
///   "quickstart  [########................]  33% running  it 1/3  best 1  val_accuracy 0.8123
///    1534 img/s  batch 64  ETA 1m05s"
/// The name is padded to `name_width` columns and the bar is at most `bar_width` columns wide, so
/// that the lines of a block align (progress_bar_width gives each line's). When the line
/// is too wide, in this order: the bar narrows to `narrowest_bar`; then images/s, batch size,
/// the metric's name (its value stays), the best iteration, a stop or failure reason, ETA, the
/// bar and the metric's value are dropped; then the name is cut (to 4 columns at least, its
/// last one "~"); what still does not fit is cut at the width. A reason kept takes the room
/// left, cut with "~" when it has less than it needs (24 columns at least). Name, percent, state
/// (with the queue position) and `it done/total` are never dropped. `best` is the job's own
/// iteration with the best monitored value, shown when it is one of this job's iterations.
std::string progress_line(const job_info& job, int width, int name_width = 0,
                          int bar_width = widest_bar);

/// The width of the bar in the line progress_line lays out with the widest bar: widest_bar,
/// narrowest_bar, or 0 when the bar is dropped.
int progress_bar_width(const job_info& job, int width, int name_width = 0);

}  // namespace trainyard
