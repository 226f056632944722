// The trainyard program's command line: one struct per subcommand, parsed with
// Boost.Program_options (included only in config/*.cpp). nodes/ turns these into actions.
#pragma once

#include <string>
#include <vector>

#include "runtime/error.hpp"

namespace trainyard {

struct run_options {
  std::string campaign;      ///< campaign file (required)
  std::string workspace;     ///< overrides the campaign's workspace; default: the campaign's
  bool json = false;         ///< print the final results as JSON on stdout
  bool plain = false;        ///< progress as one line per event even on a terminal
};

struct evaluate_options {
  std::string workspace = "yard";  ///< default ./yard
  std::string tool;                ///< required
  std::string set = "test";        ///< test | validation | train; default test
  bool json = false;
};

struct predict_options {
  std::string workspace = "yard";
  std::string tool;                 ///< required
  std::vector<std::string> images;  ///< at least one
  bool json = false;
};

struct queue_options {
  std::string workspace = "yard";
  bool json = false;
};

/// The parsed command line. `command` is empty when only --help/--version was asked.
struct command_line {
  std::string command;    ///< run | evaluate | predict | queue
  bool help = false;      ///< print `help_text` and exit 0
  std::string help_text;
  run_options run;
  evaluate_options evaluate;
  predict_options predict;
  queue_options queue;
};

/// invalid_config with a message naming the bad option and showing the usage.
expected<command_line> parse_command_line(int argc, const char* const* argv);

/// `trainyard monitor`: a live full-screen view of a scheduler.
struct monitor_options {
  std::string scheduler;    ///< HOST:PORT of the scheduler (required)
  std::string secret_file;  ///< file holding the cluster secret; default: env TRAINYARD_SECRET
  bool ascii = false;       ///< draw with ASCII only (default: block characters on UTF-8 terminals)
  bool help = false;        ///< print `help_text` and exit 0
  std::string help_text;
};

/// Parses `trainyard monitor ...` (argv[1] is "monitor"); invalid_config names the bad option.
expected<monitor_options> parse_monitor_options(int argc, const char* const* argv);

}  // namespace trainyard
