// Layout of a job's progress line (see progress_line.hpp). Every part is formatted once; the line
// is then composed with fewer parts, in the documented order, until it fits the width.
#include "runtime/ui/progress_line.hpp"

#include <algorithm>
#include <cstdio>

#include "runtime/core/reports.hpp"
#include "runtime/ui/monitor_view.hpp"

namespace trainyard {

namespace {

// A name cut to the fewest columns a line keeps of it.
constexpr int shortest_name = 4;
// The room a stop or failure reason asks for while the line is fitted (less when it is shorter):
// a reason cut shorter would say too little to be worth the parts it costs.
constexpr int shortest_reason = 24;

// The job's line in parts, each formatted without its leading separator; empty = not shown.
struct line_parts {
  std::string name;
  job_iterations counts;     // the bar fills from the same counts as the percent
  bool finished = false;     // a finished job whose end is unknown has a full bar
  std::string percent;       // " 33%"
  std::string state;         // "queued #2"
  std::string iterations;    // "it 1/3"
  std::string best;          // "best 1"
  std::string metric_name;   // "val_accuracy"
  std::string metric_value;  // "0.8123"
  std::string images_per_s;  // "1534 img/s"
  std::string batch;         // "batch 64"
  std::string eta;           // "ETA 1m05s"
  std::string reason;        // stop or failure reason
};

// Which parts a composed line shows. Each step of `narrowings` turns one off.
struct line_plan {
  int bar = widest_bar;  // columns between the brackets; 0 = no bar
  int name_width = 0;    // columns of the name column
  int reason_width = 0;  // columns of the stop or failure reason; 0 = not shown
  bool images_per_s = true;
  bool batch = true;
  bool metric_name = true;
  bool best = true;
  bool eta = true;
  bool metric_value = true;
};

using narrowing = void (*)(line_plan&);

// The order in which a line too wide gives up its parts (progress_line.hpp says it in words).
constexpr narrowing narrowings[] = {
  [](line_plan& p) { p.bar = std::min(p.bar, narrowest_bar); },
  [](line_plan& p) { p.images_per_s = false; },
  [](line_plan& p) { p.batch = false; },
  [](line_plan& p) { p.metric_name = false; },
  [](line_plan& p) { p.best = false; },
  [](line_plan& p) { p.reason_width = 0; },
  [](line_plan& p) { p.eta = false; },
  [](line_plan& p) { p.bar = 0; },
  [](line_plan& p) { p.metric_value = false; },
};

double metric(const metric_map& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? -1 : it->second;
}

// `text` in exactly `width` columns: padded with spaces, or cut with "~" as its last column.
std::string in_columns(const std::string& text, int width) {
  const int w = display_width(text);
  if (w <= width)
    return text + std::string(static_cast<std::size_t>(width - w), ' ');
  return fit_width(text, width - 1) + "~";
}

line_parts parts_of(const job_info& job) {
  line_parts p;
  p.name = job.name;
  const auto counts = own_iterations(job);
  p.counts = counts;
  p.finished = is_final(job.state);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%3d%%", percent_done(job, counts));
  p.percent = buf;
  p.state = to_string(job.state);
  if (job.state == job_state::queued && job.queue_position >= 0)
    p.state += " #" + std::to_string(job.queue_position + 1);
  if (job.iteration > 0 || job.state == job_state::running) {
    p.iterations = "it " + std::to_string(counts.done);
    if (counts.total > 0)
      p.iterations += "/" + std::to_string(counts.total);
  }
  // The best iteration when it is one of this job's own (a continue job that has not yet
  // improved on its tool's earlier best shows none).
  if (!p.iterations.empty() && job.best_iteration > job.first_iteration)
    p.best = "best " + std::to_string(job.best_iteration - job.first_iteration);
  if (auto value = metric(job.last_metrics, job.monitored_name); value >= 0) {
    p.metric_name = job.monitored_name;
    p.metric_value = metric_text("", value).substr(1);  // the shared format, without the name
  }
  if (auto ips = metric(job.last_metrics, "images_per_s"); ips >= 0) {
    std::snprintf(buf, sizeof buf, "%.0f img/s", ips);
    p.images_per_s = buf;
  }
  if (job.batch_size > 0)
    p.batch = "batch " + std::to_string(job.batch_size);
  if (job.state == job_state::running)
    p.eta = "ETA " + format_duration(job.eta_seconds);
  if (is_final(job.state) && job.state != job_state::completed)
    p.reason = job.message;
  return p;
}

// The line with the parts `plan` keeps.
std::string compose(const line_parts& p, const line_plan& plan) {
  std::string line = in_columns(p.name, plan.name_width);
  if (plan.bar > 0) {
    const int filled = p.counts.total > 0 ? std::min(p.counts.done * plan.bar / p.counts.total,
                                                     plan.bar)
                                          : (p.finished ? plan.bar : 0);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(static_cast<std::size_t>(plan.bar), '.');
    line += " [" + bar + "]";
  }
  line += " " + p.percent + " " + p.state;
  auto add = [&line](bool shown, const std::string& part) {
    if (shown && !part.empty())
      line += "  " + part;
  };
  add(true, p.iterations);
  add(plan.best, p.best);
  if (plan.metric_value && !p.metric_value.empty())
    line += "  " + (plan.metric_name ? p.metric_name + " " : std::string()) + p.metric_value;
  add(plan.images_per_s, p.images_per_s);
  add(plan.batch, p.batch);
  add(plan.eta, p.eta);
  if (plan.reason_width > 0)
    line += "  (" + in_columns(p.reason, plan.reason_width) + ")";
  return line;
}

}  // namespace

job_iterations own_iterations(const job_info& job) {
  job_iterations out;
  out.done = std::max(job.iteration - job.first_iteration, 0);
  if (job.target_iterations > 0)
    out.total = std::max(job.target_iterations - job.first_iteration, out.done);
  return out;
}

int percent_done(const job_info& job, const job_iterations& counts) {
  if (counts.total <= 0)
    return is_final(job.state) ? 100 : 0;
  return std::min(counts.done * 100 / counts.total, 100);
}

namespace {

// The parts of `parts` a line of `width` columns keeps, and the line.
std::pair<line_plan, std::string> fit(const line_parts& parts, int width, int name_width,
                                      int bar_width) {
  line_plan plan;
  plan.bar = std::clamp(bar_width, 0, widest_bar);
  plan.name_width = std::max(name_width, display_width(parts.name));
  // The reason asks for its shortest room while the line is fitted, and takes what is left after.
  const int full_reason = display_width(parts.reason);
  plan.reason_width = std::min(full_reason, shortest_reason);
  std::string line = compose(parts, plan);
  for (auto narrow : narrowings) {
    if (display_width(line) <= width)
      break;
    narrow(plan);
    line = compose(parts, plan);
  }
  if (const int excess = display_width(line) - width; excess > 0) {
    plan.name_width = std::max(plan.name_width - excess, shortest_name);
    line = compose(parts, plan);
  }
  if (const int room = width - display_width(line); plan.reason_width > 0 && room > 0) {
    plan.reason_width = std::min(full_reason, plan.reason_width + room);
    line = compose(parts, plan);
  }
  return {plan, fit_width(line, width)};
}

}  // namespace

std::string progress_line(const job_info& job, int width, int name_width, int bar_width) {
  return fit(parts_of(job), width, name_width, bar_width).second;
}

int progress_bar_width(const job_info& job, int width, int name_width) {
  return fit(parts_of(job), width, name_width, widest_bar).first.bar;
}

}  // namespace trainyard
