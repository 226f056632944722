// The live progress of `trainyard run`: an event listener that draws one bar per job (iteration,
// percent, ETA, latest validation accuracy, images/s). On a terminal it redraws in place on every
// event and once a second (to move the ETA); otherwise it prints one line per event.
#pragma once

#include <iosfwd>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/protocol.hpp"

namespace trainyard {

/// Listener interface plus the redraw tick.
using console_progress_actor = event_listener::extend<caf::reacts_to<tick_atom>>;

/// Spawns the display for `jobs` and subscribes it to the scheduler's events. It writes to `out`
/// (std::cout, or std::cerr when stdout carries results for scripts), which must outlive it.
console_progress_actor spawn_console_progress(caf::actor_system& system, scheduler_actor scheduler,
                                              std::vector<job_id> jobs, bool redraw,
                                              std::ostream& out);

/// One job as a progress line, e.g. "quickstart  [#####.....] 52%  it 4/8 ...". Pure.
std::string progress_line(const job_info& job, int bar_width);

}  // namespace trainyard
