// The monitor's model and drawing (see monitor_view.hpp). Layout, top to bottom: the header with
// the connection, a notice line when there is one, then the sections Running, Queue, Workers and
// Finished, and the key help at the bottom. On a short screen the sections share the rows by
// priority: the running jobs and a few queued ones first, then workers, then the rest of the
// queue, then finished jobs; a section that does not fit says how many rows it hides.
#include "runtime/ui/monitor_view.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace trainyard {

namespace {

const char* const blocks[] = {"\u2581", "\u2582", "\u2583", "\u2584",
                              "\u2585", "\u2586", "\u2587", "\u2588"};
const char ascii_levels[] = "_.-:=+*#";
constexpr int curve_points = 16;      // iterations a running job's curve shows
constexpr std::size_t curve_keep = 64;  // iterations remembered per job

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

std::string pad(std::string s, int width) {
  auto w = display_width(s);
  if (w < width)
    s.append(static_cast<std::size_t>(width - w), ' ');
  return s;
}

std::string memory_text(std::uint64_t bytes) {
  if (bytes == 0)
    return "-";
  double gib = static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0);
  return fixed(gib, gib < 10 ? 1 : 0) + " GiB";
}

// The short name of a metric on screen: "val_accuracy" → "val_acc", "test_accuracy" → "test_acc".
std::string short_metric(const std::string& name) {
  if (name == "val_accuracy")
    return "val_acc";
  if (name == "test_accuracy")
    return "test_acc";
  return name;
}

// The rows of one section: its title and items, of which rows [first, first + shown) are drawn.
struct section {
  std::string title;
  std::vector<std::string> items;
  std::size_t focus = 0;  // the item to keep visible (the cursor's)
  int rows = 0;           // granted, title included
};

void draw_section(const section& s, std::vector<std::string>& out) {
  if (s.rows <= 0)
    return;
  auto shown = static_cast<std::size_t>(s.rows - 1);
  auto n = s.items.size();
  std::size_t first = 0;
  if (shown < n && shown > 0) {
    auto half = shown / 2;
    first = s.focus > half ? s.focus - half : 0;
    first = std::min(first, n - shown);
  }
  std::string title = s.title;
  if (shown < n) {
    if (shown == 0)
      title += "  (" + std::to_string(n) + " not shown)";
    else
      title += "  (showing " + std::to_string(first + 1) + "-" + std::to_string(first + shown) +
               " of " + std::to_string(n) + ")";
  }
  out.push_back(title);
  for (std::size_t i = first; i < std::min(n, first + shown); ++i)
    out.push_back(s.items[i]);
}

}  // namespace

// -- free functions ------------------------------------------------------------------------------

std::optional<std::pair<std::string, double>> validation_metric(const metric_map& metrics,
                                                                const std::string& monitored) {
  if (auto it = metrics.find(monitored); it != metrics.end())
    return *it;
  return std::nullopt;
}

std::string sparkline(const std::vector<double>& values, int width, bool unicode) {
  if (width <= 0 || values.empty())
    return {};
  auto n = std::min(values.size(), static_cast<std::size_t>(width));
  auto first = values.end() - static_cast<std::ptrdiff_t>(n);
  auto [lo, hi] = std::minmax_element(first, values.end());
  double low = *lo, span = *hi - *lo;
  std::string out;
  for (auto it = first; it != values.end(); ++it) {
    int level = span > 1e-12 ? static_cast<int>(std::lround((*it - low) / span * 7)) : 3;
    level = std::clamp(level, 0, 7);
    if (unicode)
      out += blocks[level];
    else
      out += ascii_levels[level];
  }
  return out;
}

std::string format_duration(double seconds) {
  if (seconds < 0)
    return "--";
  auto total = static_cast<long>(std::lround(seconds));
  char buf[32];
  if (total >= 3600)
    std::snprintf(buf, sizeof(buf), "%ldh%02ldm", total / 3600, (total % 3600) / 60);
  else if (total >= 60)
    std::snprintf(buf, sizeof(buf), "%ldm%02lds", total / 60, total % 60);
  else
    std::snprintf(buf, sizeof(buf), "%lds", total);
  return buf;
}

int display_width(const std::string& text) {
  int n = 0;
  for (unsigned char c : text)
    if ((c & 0xC0) != 0x80)
      ++n;
  return n;
}

std::string fit_width(const std::string& text, int width) {
  if (width <= 0)
    return {};
  int n = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0) != 0x80 && ++n > width)
      return text.substr(0, i);
  }
  return text;
}

// -- the model -----------------------------------------------------------------------------------

void monitor_view::set_jobs(const std::vector<job_info>& jobs) {
  auto previous = selected_index();
  jobs_.clear();
  for (const auto& j : jobs) {
    jobs_[j.id] = j;
    remember(j.id, j.iteration, j.last_metrics, j.monitored_name);
  }
  for (auto it = curves_.begin(); it != curves_.end();)
    it = jobs_.count(it->first) ? std::next(it) : curves_.erase(it);
  reselect(previous);
}

void monitor_view::update_job(const job_info& job) {
  auto previous = selected_index();
  jobs_[job.id] = job;
  remember(job.id, job.iteration, job.last_metrics, job.monitored_name);
  reselect(previous);
}

void monitor_view::add_iteration(const iteration_report& report) {
  auto it = jobs_.find(report.job);
  if (it != jobs_.end()) {
    auto& j = it->second;
    j.iteration = report.iteration;
    j.target_iterations = report.target_iterations;
    j.best_iteration = report.best_iteration;
    j.last_metrics = report.metrics;
    if (!report.monitored_name.empty())
      j.monitored_name = report.monitored_name;
    if (report.batch_size > 0)
      j.batch_size = report.batch_size;
  }
  remember(report.job, report.iteration, report.metrics, report.monitored_name);
}

void monitor_view::finish_job(job_id id, job_state state, const metric_map& final_metrics,
                              const std::string& message) {
  auto it = jobs_.find(id);
  if (it == jobs_.end())
    return;
  auto previous = selected_index();
  it->second.state = state;
  it->second.final_metrics = final_metrics;
  it->second.message = message;
  it->second.queue_position = -1;
  if (state == job_state::completed)
    it->second.fraction = 1;
  reselect(previous);
}

void monitor_view::set_workers(const std::vector<worker_status>& workers) { workers_ = workers; }

std::size_t monitor_view::alive_workers() const {
  return static_cast<std::size_t>(std::count_if(workers_.begin(), workers_.end(),
                                                [](const worker_status& w) { return w.alive; }));
}

void monitor_view::remember(job_id id, int iteration, const metric_map& metrics,
                            const std::string& monitored) {
  if (iteration <= 0)
    return;
  auto metric = validation_metric(metrics, monitored);
  if (!metric)
    return;
  auto& points = curves_[id];
  points[iteration] = metric->second;
  curve_metric_[id] = metric->first;
  while (points.size() > curve_keep)
    points.erase(points.begin());
}

void monitor_view::connecting(const std::string& where) {
  live_ = false;
  connection_ = "connecting to " + where + (unicode_ ? "\u2026" : "...");
}

void monitor_view::connected(const std::string& where, const std::string& at) {
  live_ = true;
  connection_ = (ever_connected_ ? "reconnected to " : "connected to ") + where;
  if (ever_connected_)
    connection_ += " at " + at;
  ever_connected_ = true;
}

void monitor_view::connection_lost(const std::string& at, const std::string& why) {
  live_ = false;
  connection_ = "scheduler went away at " + at + ", reconnecting" + (unicode_ ? "\u2026" : "...");
  if (!why.empty())
    connection_ += " (" + why + ")";
}

void monitor_view::reconnect_failed(const std::string& why, double retry_seconds) {
  auto cut = connection_.find(" (");
  auto head = cut == std::string::npos ? connection_ : connection_.substr(0, cut);
  if (ever_connected_ && head.rfind("scheduler went away", 0) == 0)
    connection_ = head;
  else
    connection_ = "cannot reach the scheduler";
  connection_ += " (" + why + "; next try in " + fixed(retry_seconds, 1) + " s)";
}

// -- selection and keys --------------------------------------------------------------------------

std::vector<job_id> monitor_view::queue_order() const {
  std::vector<const job_info*> q;
  for (const auto& [id, j] : jobs_)
    if (j.state == job_state::queued)
      q.push_back(&j);
  std::stable_sort(q.begin(), q.end(), [](const job_info* a, const job_info* b) {
    return a->queue_position < b->queue_position;
  });
  std::vector<job_id> out;
  for (auto* j : q)
    out.push_back(j->id);
  return out;
}

std::vector<job_id> monitor_view::running() const {
  std::vector<const job_info*> r;
  for (const auto& [id, j] : jobs_)
    if (j.state == job_state::running)
      r.push_back(&j);
  std::stable_sort(r.begin(), r.end(), [](const job_info* a, const job_info* b) {
    return a->run_order < b->run_order;
  });
  std::vector<job_id> out;
  for (auto* j : r)
    out.push_back(j->id);
  return out;
}

const job_info* monitor_view::job(job_id id) const {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : &it->second;
}

std::vector<double> monitor_view::curve(job_id id) const {
  std::vector<double> out;
  if (auto it = curves_.find(id); it != curves_.end())
    for (const auto& [iteration, value] : it->second)
      out.push_back(value);
  return out;
}

std::vector<job_id> monitor_view::finished() const {
  std::vector<const job_info*> done;
  for (const auto& [id, j] : jobs_)
    if (is_final(j.state))
      done.push_back(&j);
  std::stable_sort(done.begin(), done.end(), [](const job_info* a, const job_info* b) {
    return a->run_order != b->run_order ? a->run_order > b->run_order : a->id > b->id;
  });
  std::vector<job_id> out;
  for (auto* j : done)
    out.push_back(j->id);
  return out;
}

std::vector<job_id> monitor_view::selectable() const {
  auto out = running();
  for (const auto& part : {queue_order(), finished()})
    out.insert(out.end(), part.begin(), part.end());
  return out;
}

std::size_t monitor_view::selected_index() const {
  auto all = selectable();
  auto it = std::find(all.begin(), all.end(), selected_);
  return it == all.end() ? 0 : static_cast<std::size_t>(it - all.begin());
}

// The cursor follows its job while the workspace knows it (it moved in the queue, started,
// finished, was cancelled); when the job is gone from the list the cursor stays on the same row,
// clamped.
void monitor_view::reselect(std::size_t previous_index) {
  auto all = selectable();
  if (all.empty()) {
    selected_ = 0;
    return;
  }
  if (std::find(all.begin(), all.end(), selected_) != all.end())
    return;
  selected_ = all[std::min(previous_index, all.size() - 1)];
}

namespace {

const char* const key_help =
  "keys: arrows or j/k select, u/d move, t top, c cancel, s stop, q quit";

std::string quoted(const job_info& j) { return "'" + j.name + "'"; }

}  // namespace

// A cancel or stop waits for 'y'; any other key keeps the job and is not applied otherwise.
std::optional<monitor_command> monitor_view::confirm(int key) {
  auto command = *pending_;
  pending_.reset();
  auto* j = job(command.job);
  const std::string name = j ? quoted(*j) : "job " + std::to_string(command.job);
  if (key != 'y' && key != 'Y') {
    set_notice(name + " kept: nothing was " +
               (command.what == monitor_command::kind::cancel ? "cancelled" : "stopped"));
    return std::nullopt;
  }
  set_notice((command.what == monitor_command::kind::cancel ? "cancelling " : "stopping ") +
             name + (unicode_ ? "\u2026" : "..."));
  return command;
}

std::optional<monitor_command> monitor_view::ask(monitor_command command,
                                                 const std::string& question) {
  pending_ = command;
  set_notice(question + "? y = yes, any other key = no");
  return std::nullopt;
}

std::optional<monitor_command> monitor_view::handle_key(int key) {
  using kind = monitor_command::kind;
  if (pending_)
    return confirm(key);
  if (key == 'q' || key == 'Q')
    return monitor_command{kind::quit, 0, 0};
  auto all = selectable();
  auto index = selected_index();
  auto select = [&](std::ptrdiff_t i) {
    if (all.empty()) {
      set_notice("no jobs to select yet");
      return;
    }
    const auto last = static_cast<std::ptrdiff_t>(all.size()) - 1;
    if (i < 0 && selected_ == all.front())
      set_notice("already on the first job");
    else if (i > last && selected_ == all.back())
      set_notice("already on the last job");
    else
      set_notice("");
    selected_ = all[static_cast<std::size_t>(std::clamp<std::ptrdiff_t>(i, 0, last))];
  };
  auto i = static_cast<std::ptrdiff_t>(index);
  switch (key) {
    case monitor_key::up: case 'k': select(i - 1); return std::nullopt;
    case monitor_key::down: case 'j': select(i + 1); return std::nullopt;
    case monitor_key::home: case 'g': select(0); return std::nullopt;
    case monitor_key::end: case 'G': select(static_cast<std::ptrdiff_t>(all.size()) - 1);
      return std::nullopt;
    case monitor_key::page_up: select(i - 10); return std::nullopt;
    case monitor_key::page_down: select(i + 10); return std::nullopt;
    default: break;
  }
  bool is_command = key == 'u' || key == '+' || key == 'd' || key == '-' || key == 't' ||
                    key == 'c' || key == 's';
  if (!is_command) {
    const bool printable = key > ' ' && key < 0x7f;
    set_notice((printable ? "'" + std::string(1, static_cast<char>(key)) + "' does nothing"
                          : std::string("that key does nothing")) +
               "; " + key_help);
    return std::nullopt;
  }
  auto* j = job(selected_);
  if (!j) {
    set_notice("no job selected: the queue is empty and nothing runs");
    return std::nullopt;
  }
  if (is_final(j->state)) {
    set_notice(quoted(*j) + " is " + to_string(j->state) +
               ": finished jobs cannot be moved, cancelled or stopped");
    return std::nullopt;
  }
  if (key == 's') {
    if (j->state == job_state::running)
      return ask({kind::stop, j->id, 0}, "stop running job " + quoted(*j) +
                                           " (it keeps its last finished iteration)");
    return ask({kind::stop, j->id, 0}, "stop queued job " + quoted(*j) + " (it is cancelled)");
  }
  if (j->state != job_state::queued) {
    set_notice(quoted(*j) + " is running: only queued jobs can be moved or cancelled; " +
               "press s to stop it");
    return std::nullopt;
  }
  auto q = queue_order();
  auto pos = static_cast<std::uint32_t>(std::find(q.begin(), q.end(), j->id) - q.begin());
  const std::string moving = "moving " + quoted(*j) + " to position ";
  switch (key) {
    case 'u': case '+':
      if (pos == 0)
        break;
      set_notice(moving + std::to_string(pos));
      return monitor_command{kind::move, j->id, pos - 1};
    case 'd': case '-':
      if (pos + 1 >= q.size()) {
        set_notice(quoted(*j) + " is already at the end of the queue");
        return std::nullopt;
      }
      set_notice(moving + std::to_string(pos + 2));
      return monitor_command{kind::move, j->id, pos + 1};
    case 't':
      if (pos == 0)
        break;
      set_notice(moving + "1");
      return monitor_command{kind::top, j->id, 0};
    default:  // 'c'
      return ask({kind::cancel, j->id, 0}, "cancel queued job " + quoted(*j));
  }
  set_notice(quoted(*j) + " is already at the head of the queue");
  return std::nullopt;
}

void monitor_view::command_answered(const monitor_command& command, const std::string& refusal) {
  using kind = monitor_command::kind;
  auto* j = job(command.job);
  const std::string name = j ? quoted(*j) : "job " + std::to_string(command.job);
  const char* what = command.what == kind::cancel ? "cancelling "
                     : command.what == kind::stop ? "stopping "
                                                  : "moving ";
  if (!refusal.empty()) {
    set_notice(what + name + " refused: " + refusal);
    return;
  }
  switch (command.what) {
    case kind::move:
      set_notice("moved " + name + " to position " + std::to_string(command.position + 1));
      return;
    case kind::top: set_notice("moved " + name + " to the head of the queue"); return;
    case kind::cancel: set_notice("cancelled " + name); return;
    case kind::stop:
      set_notice(j && j->state == job_state::running
                     ? "stopping " + name + ": it ends after the current step"
                     : "stopped " + name);
      return;
    case kind::quit: return;
  }
}

// -- drawing -------------------------------------------------------------------------------------

std::vector<std::string> monitor_view::header_lines(int width, std::size_t running,
                                                     std::size_t queued) const {
  // Title, connection, and the counts at the right when they fit.
  std::string header = "trainyard monitor | " + connection_;
  std::string counts = std::to_string(running) + " running, " + std::to_string(queued) +
                       " queued, " + std::to_string(alive_workers()) + " workers";
  if (display_width(header) + 2 + display_width(counts) <= width)
    header = pad(header, width - display_width(counts)) + counts;
  std::vector<std::string> top{header};
  if (!notice_.empty())
    top.push_back("! " + notice_);
  return top;
}

std::string monitor_view::name_of(job_id id) const {
  auto* j = job(id);
  return j ? j->name : "#" + std::to_string(id);
}

std::string monitor_view::cursor(job_id id) const {
  return id == selected_ ? "> " : "  ";
}

std::vector<std::string> monitor_view::running_lines(const std::vector<job_id>& ids, int width,
                                                     int name_width, std::size_t& focus) const {
  // A progress bar, iteration/target, ETA, best iteration, metrics, the curve.
  std::vector<std::string> items;
  int bar_width = std::clamp((width - 40) / 5, 5, 30);
  for (std::size_t k = 0; k < ids.size(); ++k) {
    const auto& j = jobs_.at(ids[k]);
    if (j.id == selected_)
      focus = k;
    auto filled = std::clamp(static_cast<int>(std::floor(j.fraction * bar_width + 1e-9)), 0,
                             bar_width);
    std::string line = cursor(j.id) + pad(fit_width(j.name, name_width), name_width) + " [" +
                       std::string(static_cast<std::size_t>(filled), '#') +
                       std::string(static_cast<std::size_t>(bar_width - filled), '.') + "] " +
                       pad(std::to_string(static_cast<int>(std::floor(j.fraction * 100 + 1e-9))) +
                             "%",
                           4);
    line += "  it " + std::to_string(j.iteration) + "/" + std::to_string(j.target_iterations);
    line += "  ETA " + format_duration(j.eta_seconds);
    if (j.best_iteration > 0)
      line += "  best " + std::to_string(j.best_iteration);
    if (auto m = validation_metric(j.last_metrics, j.monitored_name)) {
      line += "  " + short_metric(m->first) + " " + fixed(m->second, 4);
      auto c = curve(j.id);
      if (c.size() >= 2)
        line += " " + sparkline(c, curve_points, unicode_);
    }
    if (auto it = j.last_metrics.find("train_loss"); it != j.last_metrics.end())
      line += "  loss " + fixed(it->second, 3);
    if (auto it = j.last_metrics.find("images_per_s"); it != j.last_metrics.end())
      line += "  " + fixed(it->second, 0) + " img/s";
    if (j.batch_size > 0)
      line += "  batch " + std::to_string(j.batch_size);
    items.push_back(line);
  }
  return items;
}

std::vector<std::string> monitor_view::queue_lines(const std::vector<job_id>& ids,
                                                   int name_width, std::size_t& focus) const {
  std::vector<std::string> items;
  for (std::size_t k = 0; k < ids.size(); ++k) {
    const auto& j = jobs_.at(ids[k]);
    if (j.id == selected_)
      focus = k;
    std::string line = cursor(j.id) + pad(std::to_string(k + 1) + ".", 4) +
                       pad(fit_width(j.name, name_width), name_width) + "  tool " + j.tool +
                       "  split " + j.split;
    if (j.iteration > 0)
      line += "  resumes at it " + std::to_string(j.iteration);
    items.push_back(line);
  }
  return items;
}

std::vector<std::string> monitor_view::worker_lines() const {
  // Node, device (a GPU with its name), its memory in use of its total, the node process's own
  // memory, job.
  std::vector<std::string> items;
  int node_width = 4;
  for (const auto& w : workers_)
    node_width = std::max(node_width, display_width(w.info.node));
  node_width = std::min(node_width, 24);
  for (const auto& w : workers_) {
    std::string what = !w.alive ? "gone" : w.job == 0 ? "idle" : name_of(w.job);
    std::string node = fit_width(w.info.node.empty() ? "-" : w.info.node, node_width);
    std::string memory = memory_text(w.info.memory_bytes);
    if (w.info.memory_used_bytes > 0)
      memory = memory_text(w.info.memory_used_bytes) + " of " + memory;
    std::string process = w.info.process_bytes > 0
                            ? "process " + memory_text(w.info.process_bytes)
                            : std::string();
    const std::string device =
        w.info.device_name.empty() ? w.info.name
                                   : w.info.name + " " + fit_width(w.info.device_name, 20);
    items.push_back("  " + pad(node, node_width) + "  " + pad(device, 8) + "  " +
                    pad(memory, 17) + "  " + pad(process, 16) + "  " + what);
  }
  return items;
}

std::vector<std::string> monitor_view::finished_lines(const std::vector<job_id>& ids,
                                                      int name_width, std::size_t& focus) const {
  std::vector<std::string> items;
  for (std::size_t k = 0; k < ids.size(); ++k) {
    const auto* j = &jobs_.at(ids[k]);
    if (j->id == selected_)
      focus = k;
    std::string line = cursor(j->id) + pad(fit_width(j->name, name_width), name_width) + "  " +
                       pad(to_string(j->state), 9);
    if (j->iteration > 0)
      line += "  it " + std::to_string(j->iteration);
    auto& metrics = j->final_metrics.empty() ? j->last_metrics : j->final_metrics;
    if (auto m = validation_metric(metrics, j->monitored_name))
      line += "  " + short_metric(m->first) + " " + fixed(m->second, 4);
    if (auto m = validation_metric(metrics, test_metric_of(j->monitored_name)))
      line += "  " + short_metric(m->first) + " " + fixed(m->second, 4);
    if (!j->message.empty() && j->state != job_state::completed)
      line += "  (" + j->message + ")";
    items.push_back(line);
  }
  return items;
}

std::vector<std::string> monitor_view::render(int width, int height) const {
  std::vector<std::string> out;
  if (height <= 0)
    return out;
  width = std::max(width, 0);
  auto run_ids = running();
  auto queue_ids = queue_order();
  const std::vector<std::string> top = header_lines(width, run_ids.size(), queue_ids.size());
  std::string help = pending_ ? "y = yes, any other key = no"
                     : unicode_ ? "\u2191\u2193/jk select  u/d move up/down  t top  c cancel  "
                                  "s stop  q quit"
                                : "arrows/jk select  u/d move up/down  t top  c cancel  s stop  "
                                  "q quit";
  if (display_width(help) > width)
    help = "jk u/d t=top c=cancel s=stop q=quit";

  int body = height - static_cast<int>(top.size()) - 1;  // minus the help line
  bool with_help = body >= 2;
  if (!with_help)
    body = height - static_cast<int>(top.size());

  int name_width = 4;
  for (const auto& [id, j] : jobs_)
    name_width = std::max(name_width, display_width(j.name));
  name_width = std::min(name_width, std::max(8, width / 4));

  section run_s;
  run_s.title = "Running (" + std::to_string(run_ids.size()) + ")";
  run_s.items = running_lines(run_ids, width, name_width, run_s.focus);
  section queue_s;
  queue_s.title = "Queue (" + std::to_string(queue_ids.size()) + ")";
  if (queue_ids.empty())
    queue_s.title += "  empty";
  queue_s.items = queue_lines(queue_ids, name_width, queue_s.focus);
  section work_s;
  work_s.title = "Workers (" + std::to_string(alive_workers()) + ")";
  if (alive_workers() < workers_.size())
    work_s.title += "  " + std::to_string(workers_.size() - alive_workers()) +
                    " gone (their nodes went away)";
  if (workers_.empty())
    work_s.title += "  none: queued jobs wait for a node to join";
  work_s.items = worker_lines();
  section done_s;
  done_s.items = finished_lines(finished(), name_width, done_s.focus);
  done_s.title = "Finished (" + std::to_string(done_s.items.size()) + ")";

  // Share the body's rows: first what matters most, then the rest in order of interest.
  int left = std::max(body, 0);
  auto grant = [&](section& s, int want) {
    int extra = std::clamp(want - s.rows, 0, left);
    s.rows += extra;
    left -= extra;
  };
  auto want = [](const section& s) { return 1 + static_cast<int>(s.items.size()); };
  grant(run_s, want(run_s));
  grant(queue_s, std::min(want(queue_s), 4));
  grant(work_s, std::min(want(work_s), 3));
  grant(queue_s, want(queue_s));
  grant(work_s, want(work_s));
  if (!done_s.items.empty())
    grant(done_s, want(done_s));

  std::vector<std::string> lines = top;
  draw_section(run_s, lines);
  draw_section(queue_s, lines);
  draw_section(work_s, lines);
  draw_section(done_s, lines);
  lines.resize(static_cast<std::size_t>(height) - (with_help ? 1 : 0));
  if (with_help)
    lines.push_back(help);
  for (auto& l : lines)
    l = fit_width(l, width);
  return lines;
}

}  // namespace trainyard
