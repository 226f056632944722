// The console display of `trainyard run` (see console_progress.hpp). The actor keeps the latest
// state of its jobs, always fetched whole from the scheduler (one job's change can move the
// others' queue positions), and writes each drawing in one piece.
#include "actors/console_progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <tuple>

#include <caf/all.hpp>

#include "runtime/ui/monitor_view.hpp"
#include "runtime/ui/progress_line.hpp"

namespace trainyard {

namespace {

// Lines are not cut when the output is not a terminal; this is wide enough for every part.
constexpr int unlimited_columns = 1000;
// A name column wider than this is not imposed on the other lines of a block.
constexpr int widest_name_column = 32;

struct progress_state {
  scheduler_actor scheduler;
  std::vector<job_id> jobs;
  std::map<job_id, job_info> latest;
  progress_output output;
  std::string note;             // shown under the job lines
  bool note_printed = false;    // plain mode: the note went out
  std::vector<int> drawn;       // redraw mode: the widths of the block's lines on screen
  bool closed = false;          // nothing more is written
  // Plain mode: what each job's last printed line showed.
  std::map<job_id, std::tuple<job_state, int, std::int64_t>> printed;
  static inline const char* name = "console_progress";

  void update(const std::vector<job_info>& all) {
    for (const auto& j : all)
      if (std::find(jobs.begin(), jobs.end(), j.id) != jobs.end())
        latest[j.id] = j;
  }

  std::vector<job_info> shown() const {
    std::vector<job_info> out;
    for (auto id : jobs)
      if (auto it = latest.find(id); it != latest.end())
        out.push_back(it->second);
    return out;
  }

  int columns() const { return output.columns ? output.columns() : 0; }

  void draw() {
    if (closed)
      return;
    if (output.redraw)
      draw_block();
    else
      print_changes();
    output.out->flush();
  }

  // The rows the drawn block takes now. A terminal made narrower since re-wraps (reflows) a
  // line wider than it into several rows, as most do (tmux, VTE, kitty, iTerm2).
  int rows_drawn(int cols) const {
    int rows = 0;
    for (int w : drawn)
      rows += cols > 0 && w > cols ? (w + cols - 1) / cols : 1;
    return rows;
  }

  // The block again over the previous one: back to its first row, each line then cleared to
  // its end, and everything below cleared (a shorter block, or the ^C the terminal echoed).
  void draw_block() {
    const int cols = columns();
    auto lines = progress_lines(shown(), cols);
    if (!note.empty())
      lines.push_back(cols > 1 ? fit_width(note, cols - 1) : note);
    std::string frame;
    if (const int rows = rows_drawn(cols); rows > 0)
      frame += "\r\x1b[" + std::to_string(rows) + "F";
    drawn.clear();
    for (const auto& line : lines) {
      frame += line + "\x1b[K\n";
      drawn.push_back(display_width(line));
    }
    frame += "\x1b[J";
    *output.out << frame;
  }

  // One line per job whose state, iteration or queue position changed since it was printed.
  void print_changes() {
    const auto all = shown();
    const auto lines = progress_lines(all, columns());
    for (std::size_t i = 0; i < all.size(); ++i) {
      const auto& j = all[i];
      const auto now = std::make_tuple(j.state, j.iteration, j.queue_position);
      auto seen = printed.find(j.id);
      if (seen != printed.end() && seen->second == now)
        continue;
      printed[j.id] = now;
      *output.out << lines[i] << "\n";
    }
    if (!note.empty() && !note_printed) {
      *output.out << note << "\n";
      note_printed = true;
    }
  }
};

using progress_actor = console_progress_actor::stateful_pointer<progress_state>;

// Fetches every job's state and draws it; `then` runs after the drawing (also when the scheduler
// does not answer, with what was known).
template <class F>
void refresh(progress_actor self, F then) {
  self->request(self->state.scheduler, std::chrono::seconds(5), list_atom::value)
    .then(
      [self, then](const std::vector<job_info>& all) mutable {
        self->state.update(all);
        self->state.draw();
        then();
      },
      [self, then](const caf::error&) mutable {
        self->state.draw();
        then();
      });
}

void refresh(progress_actor self) {
  refresh(self, [] {});
}

console_progress_actor::behavior_type progress_display(progress_actor self,
                                                       scheduler_actor scheduler,
                                                       std::vector<job_id> jobs,
                                                       progress_output output) {
  self->state.scheduler = scheduler;
  self->state.jobs = std::move(jobs);
  self->state.output = std::move(output);
  auto ours = [self](job_id id) { return self->state.latest.count(id) > 0; };
  self->send(scheduler, subscribe_atom::value, caf::actor_cast<event_listener>(self));
  refresh(self);
  if (self->state.output.redraw)
    self->delayed_send(self, std::chrono::seconds(1), tick_atom::value);
  return {
    [=](iterated_atom, const iteration_report& report) {
      if (ours(report.job))
        refresh(self);
    },
    [=](finished_atom, const job_result& result) {
      if (ours(result.id))
        refresh(self);
    },
    [=](changed_atom, const job_info& job) {
      if (ours(job.id))
        refresh(self);
    },
    [=](workers_atom, const std::vector<worker_status>&) {},
    [=](tick_atom) {
      refresh(self);
      self->delayed_send(self, std::chrono::seconds(1), tick_atom::value);
    },
    [=](note_atom, std::string& text) {
      self->state.note = std::move(text);
      self->state.note_printed = false;
      self->state.draw();
    },
    [=](close_atom) -> caf::result<bool> {
      auto rp = self->make_response_promise<bool>();
      refresh(self, [self, rp]() mutable {
        self->state.closed = true;
        rp.deliver(true);
        self->quit();
      });
      return rp;
    },
  };
}

}  // namespace

int terminal_columns(int fd) {
  if (!isatty(fd))
    return 0;
  // A terminal that does not say its width (a serial line, an unset pty) gets the usual 80.
  winsize size{};
  return ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0 ? size.ws_col : 80;
}

std::vector<std::string> progress_lines(const std::vector<job_info>& jobs, int columns) {
  const int width = columns > 1 ? columns - 1 : unlimited_columns;
  int name_width = 0;
  for (const auto& j : jobs)
    name_width = std::max(name_width, std::min(display_width(j.name), widest_name_column));
  // Every bar as wide as the narrowest line's, so that the columns after it align too.
  int bar_width = widest_bar;
  for (const auto& j : jobs)
    bar_width = std::min(bar_width, progress_bar_width(j, width, name_width));
  std::vector<std::string> lines;
  lines.reserve(jobs.size());
  for (const auto& j : jobs)
    lines.push_back(progress_line(j, width, name_width, bar_width));
  return lines;
}

console_progress_actor spawn_console_progress(caf::actor_system& system, scheduler_actor scheduler,
                                              std::vector<job_id> jobs, progress_output output) {
  return system.spawn(progress_display, std::move(scheduler), std::move(jobs),
                      std::move(output));
}

}  // namespace trainyard
