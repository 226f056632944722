// `trainyard monitor --scheduler HOST:PORT`: the ncurses front end of the monitor actor
// (actors/monitor.hpp). Any number of monitors may attach to a scheduler, at any time.
//
// Threads: the main thread owns the keyboard: it waits for input with poll(), reads every key with
// getch() and sends it to the monitor actor (a resize arrives as KEY_RESIZE: ncurses catches
// SIGWINCH itself). The monitor actor draws from its own thread through curses_screen. Curses is
// not thread-safe, so every curses call of either thread holds one mutex; the key thread never
// holds it while waiting. The program ends when the actor terminates ('q', or Ctrl-C here).
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <clocale>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <iostream>
#include <langinfo.h>
#include <mutex>

#include <caf/all.hpp>
#include <curses.h>

#include "actors/embedded_yard.hpp"
#include "actors/monitor.hpp"
#include "config/command_line.hpp"
#include "nodes/commands.hpp"
#include "runtime/ui/monitor_view.hpp"

#include "actors/remote.hpp"

namespace trainyard {

namespace {

std::atomic<bool> interrupted{false};

extern "C" void on_monitor_signal(int) { interrupted.store(true); }

enum colour_pair : short { header_ok = 1, header_bad = 2, notice = 3 };

// Draws the monitor's lines with curses; the first line is the header, the last the key help,
// "! " starts the notice, "> " the selected job, and unindented lines are section titles.
class curses_screen : public monitor_screen {
 public:
  curses_screen(std::mutex& mutex, bool colours) : mutex_(mutex), colours_(colours) {}

  std::pair<int, int> size() override {
    std::lock_guard<std::mutex> lock(mutex_);
    int rows = 0, cols = 0;
    getmaxyx(stdscr, rows, cols);
    return {cols, rows};
  }

  void draw(const std::vector<std::string>& lines) override {
    std::lock_guard<std::mutex> lock(mutex_);
    erase();
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const auto& line = lines[i];
      attr_t attrs = A_NORMAL;
      short pair = 0;
      if (i == 0) {
        bool bad = line.find("went away") != std::string::npos ||
                   line.find("cannot reach") != std::string::npos;
        attrs = A_BOLD;
        pair = bad ? header_bad : header_ok;
      } else if (i + 1 == lines.size()) {
        attrs = A_DIM;
      } else if (line.rfind("! ", 0) == 0) {
        attrs = A_BOLD;
        pair = notice;
      } else if (line.rfind("> ", 0) == 0) {
        attrs = A_REVERSE;
      } else if (!line.empty() && line[0] != ' ') {
        attrs = A_BOLD;
      }
      if (!colours_)
        pair = 0;
      attr_set(attrs, pair, nullptr);
      mvaddstr(static_cast<int>(i), 0, line.c_str());  // the bottom-right cell may answer ERR
      attr_set(A_NORMAL, 0, nullptr);
    }
    refresh();
  }

 private:
  std::mutex& mutex_;
  bool colours_;
};

int to_monitor_key(int ch) {
  switch (ch) {
    case KEY_UP: return monitor_key::up;
    case KEY_DOWN: return monitor_key::down;
    case KEY_HOME: return monitor_key::home;
    case KEY_END: return monitor_key::end;
    case KEY_PPAGE: return monitor_key::page_up;
    case KEY_NPAGE: return monitor_key::page_down;
    default: return ch;
  }
}

// Runs the terminal until the monitor actor ends. The terminal is restored on every way out.
int run_terminal(caf::actor_system& system, scheduler_connector connect,
                 monitor_settings settings) {
  if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
    std::cerr << "trainyard monitor: needs a terminal (stdin and stdout); for scripts use "
                 "`trainyard queue --json`"
              << std::endl;
    return bad_input_exit_code;
  }
  std::mutex curses_mutex;
  bool colours = false;
  {
    std::lock_guard<std::mutex> lock(curses_mutex);
    initscr();
    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    curs_set(0);
    if (has_colors()) {
      colours = true;
      start_color();
      use_default_colors();
      init_pair(header_ok, COLOR_CYAN, -1);
      init_pair(header_bad, COLOR_RED, -1);
      init_pair(notice, COLOR_YELLOW, -1);
    }
  }
  std::signal(SIGINT, on_monitor_signal);
  std::signal(SIGTERM, on_monitor_signal);
  std::signal(SIGHUP, on_monitor_signal);

  auto screen = std::make_shared<curses_screen>(curses_mutex, colours);
  auto monitor = spawn_monitor(system, std::move(connect), screen, std::move(settings));
  std::mutex done_mutex;
  std::condition_variable done_cv;
  bool done = false;
  monitor->attach_functor([&] {
    std::lock_guard<std::mutex> lock(done_mutex);
    done = true;
    done_cv.notify_all();
  });
  auto finished = [&] {
    std::lock_guard<std::mutex> lock(done_mutex);
    return done;
  };

  while (!finished()) {
    if (interrupted.load()) {
      caf::anon_send_exit(monitor, caf::exit_reason::user_shutdown);
      break;
    }
    pollfd p{STDIN_FILENO, POLLIN, 0};
    poll(&p, 1, 200);  // EINTR on SIGWINCH is fine: getch then answers KEY_RESIZE
    std::vector<int> keys;
    {
      std::lock_guard<std::mutex> lock(curses_mutex);
      for (int ch = getch(); ch != ERR; ch = getch())
        keys.push_back(ch);
    }
    for (int ch : keys) {
      if (ch == KEY_RESIZE)
        caf::anon_send(monitor, resize_atom::value);
      else
        caf::anon_send(monitor, key_atom::value, to_monitor_key(ch));
    }
  }
  {
    std::unique_lock<std::mutex> lock(done_mutex);
    done_cv.wait_for(lock, std::chrono::seconds(5), [&] { return done; });
  }
  {
    std::lock_guard<std::mutex> lock(curses_mutex);
    endwin();
  }
  return interrupted.load() ? 130 : 0;
}

bool utf8_terminal() {
  const char* codeset = nl_langinfo(CODESET);
  return codeset && std::strcmp(codeset, "UTF-8") == 0;
}

}  // namespace

int monitor_main(int argc, const char* const* argv) {
  auto options = parse_monitor_options(argc, argv);
  if (!options) {
    std::cerr << options.error().message << std::endl;
    return bad_input_exit_code;
  }
  if (options->help) {
    std::cout << options->help_text;
    return 0;
  }
  std::setlocale(LC_ALL, "");  // before initscr: block characters need a UTF-8 locale
  monitor_settings settings;
  settings.where = options->cluster.scheduler;
  settings.unicode = !options->ascii && utf8_terminal();
  auto endpoint = parse_endpoint(options->cluster.scheduler);
  if (!endpoint) {
    std::cerr << "trainyard monitor: " << endpoint.error().message << std::endl;
    return bad_input_exit_code;
  }
  const auto& c = options->cluster;
  auto credentials = load_credentials(c.secret_file, c.tls_certificate, c.tls_key, c.tls_ca);
  if (!credentials) {
    std::cerr << "trainyard monitor: " << credentials.error().message << std::endl;
    return bad_input_exit_code;
  }
  caf::actor_system_config cfg;
  configure_remote_system(cfg, *credentials);
  caf::actor_system system{cfg};
  auto connect = [&system, where = *endpoint,
                  creds = *credentials]() -> expected<scheduler_actor> {
    auto handles = connect_scheduler(system, where, creds);
    if (!handles)
      return handles.error();
    return handles->scheduler;
  };
  return run_terminal(system, connect, settings);
}

}  // namespace trainyard
