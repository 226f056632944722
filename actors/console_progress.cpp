#include "actors/console_progress.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>

#include <caf/all.hpp>

#include "runtime/ui/monitor_view.hpp"

namespace trainyard {

namespace {

double metric(const metric_map& m, const char* key, double fallback = -1) {
  auto it = m.find(key);
  return it == m.end() ? fallback : it->second;
}

struct progress_state {
  scheduler_actor scheduler;
  std::vector<job_id> jobs;
  std::map<job_id, job_info> latest;
  bool redraw = false;
  std::ostream* out = &std::cout;
  std::size_t lines_drawn = 0;
  std::map<job_id, std::pair<job_state, int>> printed;  // plain mode: what was last printed
  static inline const char* name = "console_progress";

  void draw() {
    if (!redraw) {
      // One line per job whose state or iteration changed since it was last printed.
      for (auto id : jobs) {
        auto it = latest.find(id);
        if (it == latest.end())
          continue;
        std::pair<job_state, int> now{it->second.state, it->second.iteration};
        auto seen = printed.find(id);
        if (seen != printed.end() && seen->second == now)
          continue;
        printed[id] = now;
        *out << progress_line(it->second, 24) << "\n";
      }
      out->flush();
      return;
    }
    if (redraw && lines_drawn > 0)
      *out << "\x1b[" << lines_drawn << "F";  // back to the first line of the last drawing
    lines_drawn = 0;
    for (auto id : jobs) {
      auto it = latest.find(id);
      if (it == latest.end())
        continue;
      *out << progress_line(it->second, 24) << (redraw ? "\x1b[K\n" : "\n");
      ++lines_drawn;
    }
    out->flush();
  }
};

}  // namespace

std::string progress_line(const job_info& job, int bar_width) {
  char buf[256];
  auto filled = static_cast<int>(std::floor(job.fraction * bar_width + 1e-9));
  std::string bar(static_cast<std::size_t>(std::clamp(filled, 0, bar_width)), '#');
  bar.resize(static_cast<std::size_t>(bar_width), '.');
  std::string line = job.name;
  line.resize(std::max<std::size_t>(line.size(), 14), ' ');
  std::snprintf(buf, sizeof(buf), " [%s] %3d%% ", bar.c_str(),
                static_cast<int>(std::floor(job.fraction * 100 + 1e-9)));
  line += buf;
  line += to_string(job.state);
  if (job.state == job_state::queued && job.queue_position >= 0)
    line += " #" + std::to_string(job.queue_position + 1);
  if (job.iteration > 0 || job.state == job_state::running) {
    std::snprintf(buf, sizeof(buf), "  it %d/%d best %d", job.iteration, job.target_iterations,
                  job.best_iteration);
    line += buf;
  }
  if (auto value = metric(job.last_metrics, job.monitored_name.c_str()); value >= 0)
    line += "  " + metric_text(job.monitored_name, value);
  if (auto ips = metric(job.last_metrics, "images_per_s"); ips >= 0) {
    std::snprintf(buf, sizeof(buf), "  %.0f img/s", ips);
    line += buf;
  }
  if (job.batch_size > 0)
    line += "  batch " + std::to_string(job.batch_size);
  if (job.state == job_state::running)
    line += "  ETA " + format_duration(job.eta_seconds);
  if (is_final(job.state) && !job.message.empty() && job.state != job_state::completed)
    line += "  (" + job.message + ")";
  return line;
}

console_progress_actor spawn_console_progress(caf::actor_system& system, scheduler_actor scheduler,
                                              std::vector<job_id> jobs, bool redraw,
                                              std::ostream& out) {
  auto fn = [](console_progress_actor::stateful_pointer<progress_state> self,
               scheduler_actor scheduler, std::vector<job_id> jobs, bool redraw,
               std::ostream* out) -> console_progress_actor::behavior_type {
    self->state.scheduler = scheduler;
    self->state.jobs = std::move(jobs);
    self->state.redraw = redraw;
    self->state.out = out;
    // Fetch every job's state; draw when it arrives.
    auto refresh = [self] {
      self->request(self->state.scheduler, std::chrono::seconds(5), list_atom::value)
        .then(
          [self](const std::vector<job_info>& all) {
            for (const auto& j : all)
              if (std::find(self->state.jobs.begin(), self->state.jobs.end(), j.id) !=
                  self->state.jobs.end())
                self->state.latest[j.id] = j;
            self->state.draw();
          },
          [](const caf::error&) {});
    };
    self->send(scheduler, subscribe_atom::value, caf::actor_cast<event_listener>(self));
    refresh();
    if (redraw)
      self->delayed_send(self, std::chrono::seconds(1), tick_atom::value);
    return {
      [=](iterated_atom, const iteration_report& report) {
        if (self->state.latest.count(report.job))
          refresh();
      },
      [=](finished_atom, const job_result& result) {
        if (self->state.latest.count(result.id))
          refresh();
      },
      [=](changed_atom, const job_info& job) {
        auto it = self->state.latest.find(job.id);
        if (it == self->state.latest.end())
          return;
        auto changed = it->second.state != job.state;
        it->second = job;
        if (self->state.redraw || changed)
          self->state.draw();
      },
      [=](workers_atom, const std::vector<worker_status>&) {},
      [=](tick_atom) {
        refresh();
        self->delayed_send(self, std::chrono::seconds(1), tick_atom::value);
      },
    };
  };
  return system.spawn(fn, std::move(scheduler), std::move(jobs), redraw, &out);
}

}  // namespace trainyard
