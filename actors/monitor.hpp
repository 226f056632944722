// The monitor actor behind `trainyard monitor`: an event listener that keeps a monitor_view
// (runtime/ui/monitor_view.hpp) up to date with a scheduler and draws it on an injected screen.
//
// It subscribes to the scheduler, asks for the job list and the workers at start and whenever a
// job changes (a move broadcasts only the moved job, so the whole order is asked again), and
// redraws on events only, at most once per redraw interval, plus at once on keys and resizes. The
// workers are asked for every few seconds besides, for their memory in use.
// Keys arrive as messages from whoever reads the keyboard; commands go to the scheduler and a
// refusal shows in the notice line. It monitors the scheduler: when it goes away the header says
// so and the actor calls `connect` again with growing pauses until it gets a scheduler back.
//
// The actor runs detached (on its own thread) because `connect` may block for a while; the screen
// is called from that thread only.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/protocol.hpp"
#include "runtime/core/error.hpp"

namespace trainyard {

using key_atom = caf::atom_constant<caf::atom("key")>;
using resize_atom = caf::atom_constant<caf::atom("resize")>;
using redraw_atom = caf::atom_constant<caf::atom("redraw")>;
using connect_atom = caf::atom_constant<caf::atom("connect")>;
using poll_atom = caf::atom_constant<caf::atom("poll")>;

/// The monitor's messages: the scheduler's events plus its own.
using monitor_actor = event_listener::extend<
  // A key was pressed: a character, or a monitor_key code.
  caf::reacts_to<key_atom, int>,
  // The terminal changed size: draw again now.
  caf::reacts_to<resize_atom>,
  // Internal: the coalesced redraw is due.
  caf::reacts_to<redraw_atom>,
  // Internal: try to reach the scheduler (again).
  caf::reacts_to<connect_atom>,
  // Internal: ask for the workers again (their memory, gone nodes).
  caf::reacts_to<poll_atom>>;

/// Where the monitor draws. Called from the monitor actor's thread only; an implementation that
/// shares its terminal with a key-reading thread serialises the two itself.
class monitor_screen {
 public:
  virtual ~monitor_screen() = default;
  /// Columns and rows available now.
  virtual std::pair<int, int> size() = 0;
  /// Replaces the whole screen with these lines (as many as the height, each fits the width).
  virtual void draw(const std::vector<std::string>& lines) = 0;
};

/// Reaches the scheduler: blocking, bounded. Called at start and after each loss.
using scheduler_connector = std::function<expected<scheduler_actor>()>;

/// How the monitor behaves; every field has a default.
struct monitor_settings {
  std::string where = "the scheduler";  ///< shown in the header, e.g. "127.0.0.1:7000"
  bool unicode = true;                  ///< block characters for curves; false: ASCII only
  /// Bursts of events are drawn at most once per this interval. Default 50 ms.
  std::chrono::milliseconds redraw_interval{50};
  /// Pause before the first reconnection attempt; doubled after each failure. Default 0.5 s.
  std::chrono::milliseconds first_retry{500};
  /// Longest pause between reconnection attempts. Default 5 s.
  std::chrono::milliseconds last_retry{5000};
  /// The workers are asked for again at this interval: their memory changes without events, and
  /// the scheduler drops a gone node's workers after a while. Default 2 s.
  std::chrono::milliseconds workers_interval{2000};
  /// Bound on each request to the scheduler (list, workers, commands). Default 10 s.
  std::chrono::milliseconds request_timeout{10000};
};

/// Spawns the monitor (detached) and lets it connect. It quits on the key 'q' (or an exit
/// message); whoever reads keys can `attach_functor` to the returned actor to learn that.
monitor_actor spawn_monitor(caf::actor_system& system, scheduler_connector connect,
                            std::shared_ptr<monitor_screen> screen, monitor_settings settings);

}  // namespace trainyard
