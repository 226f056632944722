// The live progress of `trainyard run`: an event listener that shows one line per job
// (runtime/ui/progress_line.hpp lays it out to the terminal's width). On a terminal it redraws
// its block of lines in place on every event and once a second (to move the ETA); otherwise it
// prints a job's line whenever its state, iteration or queue position changes.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/protocol.hpp"

namespace trainyard {

/// Asks the display to draw once more from the scheduler's current state and end. The answer
/// comes once the display will write nothing more, so that the caller may print below it.
using close_atom = caf::atom_constant<caf::atom("close")>;
/// A line of text for the display to show under its job lines (on a terminal, where anything
/// printed past the display would be drawn over) or to print once (otherwise).
using note_atom = caf::atom_constant<caf::atom("note")>;

/// Listener interface plus the redraw tick, notes and the closing request.
using console_progress_actor =
  event_listener::extend<caf::reacts_to<tick_atom>, caf::reacts_to<note_atom, std::string>,
                         caf::replies_to<close_atom>::with<bool>>;

/// Where the display writes.
struct progress_output {
  /// std::cout, or std::cerr when stdout carries results for scripts; must outlive the display.
  std::ostream* out = nullptr;
  /// Redraw the block in place (a terminal); false: one line per change (logs, pipes, --plain).
  bool redraw = false;
  /// The terminal's width in columns now, asked before every drawing so that a resized
  /// terminal is followed; 0 = not a terminal, lines are not cut.
  std::function<int()> columns;
};

/// The width of the terminal `fd` is (ioctl TIOCGWINSZ), or 0 when `fd` is not a terminal.
int terminal_columns(int fd);

/// Spawns the display for `jobs` and subscribes it to the scheduler's events.
console_progress_actor spawn_console_progress(caf::actor_system& system, scheduler_actor scheduler,
                                              std::vector<job_id> jobs, progress_output output);

/// The lines of `jobs` as the display draws them in a terminal of `columns` columns (0 = not a
/// terminal): each fits in one column less than the terminal has, so that no terminal wraps it;
/// the names are padded to a common column, and every bar is as wide as the narrowest line's
/// (so that the percent and state columns align). Pure.
std::vector<std::string> progress_lines(const std::vector<job_info>& jobs, int columns);

}  // namespace trainyard
