// The monitor actor (see monitor.hpp): translates the scheduler's events and the user's keys into
// monitor_view calls, the view's commands into requests, and decides when to draw. The view holds
// every display decision; this file only holds the timing (coalesced redraws, reconnection
// pauses) and the wiring.
#include "actors/monitor.hpp"

#include <algorithm>
#include <ctime>

#include <caf/all.hpp>

#include "runtime/ui/monitor_view.hpp"

namespace trainyard {

namespace {

using clock_type = std::chrono::steady_clock;

std::string local_time_text() {
  auto t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof(buf), "%H:%M:%S", &tm);
  return buf;
}

struct monitor_state {
  monitor_view view;
  scheduler_connector connect;
  std::shared_ptr<monitor_screen> screen;
  monitor_settings settings;
  scheduler_actor scheduler;              // null while disconnected
  std::chrono::milliseconds retry{0};     // pause before the next connection attempt
  clock_type::time_point last_draw{};
  bool redraw_due = false;                // a redraw_atom is on its way
  bool list_in_flight = false;            // a list request is pending
  bool list_again = false;                // something changed while it was pending
  static inline const char* name = "monitor";
};

using self_ptr = monitor_actor::stateful_pointer<monitor_state>;

void draw_now(self_ptr self) {
  auto& st = self->state;
  auto [width, height] = st.screen->size();
  st.screen->draw(st.view.render(width, height));
  st.last_draw = clock_type::now();
}

// Draws now unless the last drawing is too recent; then once when the interval is over.
void request_redraw(self_ptr self) {
  auto& st = self->state;
  if (st.redraw_due)
    return;
  auto since = clock_type::now() - st.last_draw;
  if (since >= st.settings.redraw_interval) {
    draw_now(self);
    return;
  }
  st.redraw_due = true;
  self->delayed_send(self, st.settings.redraw_interval - since, redraw_atom::value);
}

// Asks for every job; a burst of changes costs one request in flight plus one after it.
void refresh_jobs(self_ptr self) {
  auto& st = self->state;
  if (!st.scheduler)
    return;
  if (st.list_in_flight) {
    st.list_again = true;
    return;
  }
  st.list_in_flight = true;
  auto from = st.scheduler;
  self->request(st.scheduler, st.settings.request_timeout, list_atom::value)
    .then(
      [=](const std::vector<job_info>& all) {
        auto& st = self->state;
        if (st.scheduler != from)
          return;  // an answer from a scheduler that went away since
        st.list_in_flight = false;
        st.view.set_jobs(all);
        request_redraw(self);
        if (std::exchange(st.list_again, false))
          refresh_jobs(self);
      },
      [=](const caf::error& err) {
        auto& st = self->state;
        if (st.scheduler != from)
          return;
        st.list_in_flight = false;
        st.list_again = false;
        st.view.set_notice("cannot list the jobs: " + describe(err));
        request_redraw(self);
      });
}

void refresh_workers(self_ptr self) {
  auto& st = self->state;
  if (!st.scheduler)
    return;
  auto from = st.scheduler;
  self->request(st.scheduler, st.settings.request_timeout, workers_atom::value)
    .then(
      [=](const std::vector<worker_status>& ws) {
        if (self->state.scheduler != from)
          return;
        self->state.view.set_workers(ws);
        request_redraw(self);
      },
      [=](const caf::error&) {});  // the workers event on subscribe brings them too
}

void schedule_connect(self_ptr self) {
  auto& st = self->state;
  self->delayed_send(self, st.retry, connect_atom::value);
}

void try_connect(self_ptr self) {
  auto& st = self->state;
  if (st.scheduler)
    return;
  auto got = st.connect();
  if (!got) {
    auto wait = std::max(st.retry, st.settings.first_retry);
    st.retry = std::min(wait * 2, st.settings.last_retry);
    st.view.reconnect_failed(got.error().message, static_cast<double>(wait.count()) / 1000);
    draw_now(self);
    self->delayed_send(self, wait, connect_atom::value);
    return;
  }
  st.scheduler = *got;
  st.retry = st.settings.first_retry;
  self->monitor(st.scheduler);
  self->send(st.scheduler, subscribe_atom::value, caf::actor_cast<event_listener>(self));
  st.view.connected(st.settings.where, local_time_text());
  st.list_in_flight = false;
  st.list_again = false;
  refresh_jobs(self);
  refresh_workers(self);
  draw_now(self);
}

// Sends a command from a key; the answer, done or refused, shows in the notice line.
template <class T, class... Ts>
void send_command(self_ptr self, const monitor_command& cmd, Ts... xs) {
  auto& st = self->state;
  if (!st.scheduler) {
    st.view.command_answered(cmd, "not connected to the scheduler");
    draw_now(self);
    return;
  }
  self->request(st.scheduler, st.settings.request_timeout, xs...)
    .then(
      [=](const T&) {
        self->state.view.command_answered(cmd, "");
        refresh_jobs(self);
        draw_now(self);
      },
      [=](const caf::error& err) {
        self->state.view.command_answered(cmd, describe(err));
        draw_now(self);
      });
}

void run_command(self_ptr self, const monitor_command& cmd) {
  using kind = monitor_command::kind;
  switch (cmd.what) {
    case kind::quit:
      self->quit();
      return;
    case kind::move:
      send_command<job_info>(self, cmd, move_atom::value, cmd.job, cmd.position);
      return;
    case kind::top:
      send_command<job_info>(self, cmd, top_atom::value, cmd.job);
      return;
    case kind::cancel:
      send_command<job_info>(self, cmd, cancel_atom::value, cmd.job);
      return;
    case kind::stop:
      send_command<job_info>(self, cmd, stop_atom::value, cmd.job,
                             std::string("stopped from the monitor"));
      return;
  }
}

monitor_actor::behavior_type monitor_behavior(self_ptr self, scheduler_connector connect,
                                              std::shared_ptr<monitor_screen> screen,
                                              monitor_settings settings) {
  auto& st = self->state;
  st.view = monitor_view(settings.unicode);
  st.connect = std::move(connect);
  st.screen = std::move(screen);
  st.settings = std::move(settings);
  st.retry = st.settings.first_retry;
  st.view.connecting(st.settings.where);
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& st = self->state;
    if (!st.scheduler || msg.source != st.scheduler.address())
      return;
    st.scheduler = nullptr;
    st.list_in_flight = false;
    st.view.connection_lost(local_time_text(), "");
    draw_now(self);
    schedule_connect(self);
  });
  self->send(self, connect_atom::value);
  self->delayed_send(self, st.settings.workers_interval, poll_atom::value);
  return {
    [=](iterated_atom, const iteration_report& report) {
      self->state.view.add_iteration(report);
      refresh_jobs(self);  // progression and ETA come with the job list
      request_redraw(self);
    },
    [=](finished_atom, const job_result& result) {
      self->state.view.finish_job(result.id, result.state, result.final_metrics, result.message);
      refresh_jobs(self);
      refresh_workers(self);
      request_redraw(self);
    },
    [=](changed_atom, const job_info& job) {
      self->state.view.update_job(job);
      refresh_jobs(self);     // a move changes other jobs' positions too
      refresh_workers(self);  // a start or an end changes what a worker does
      request_redraw(self);
    },
    [=](workers_atom, const std::vector<worker_status>& ws) {
      self->state.view.set_workers(ws);
      request_redraw(self);
    },
    [=](key_atom, int key) {
      auto cmd = self->state.view.handle_key(key);
      if (cmd)
        run_command(self, *cmd);
      if (!cmd || cmd->what != monitor_command::kind::quit)
        draw_now(self);
    },
    [=](resize_atom) { draw_now(self); },
    [=](redraw_atom) {
      self->state.redraw_due = false;
      draw_now(self);
    },
    [=](connect_atom) { try_connect(self); },
    [=](poll_atom) {
      refresh_workers(self);
      self->delayed_send(self, self->state.settings.workers_interval, poll_atom::value);
    },
  };
}

}  // namespace

monitor_actor spawn_monitor(caf::actor_system& system, scheduler_connector connect,
                            std::shared_ptr<monitor_screen> screen, monitor_settings settings) {
  return system.spawn<caf::detached>(monitor_behavior, std::move(connect), std::move(screen),
                                     std::move(settings));
}

}  // namespace trainyard
