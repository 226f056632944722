// The trainyard program's command line: one struct per subcommand, parsed with
// Boost.Program_options (included only in config/*.cpp). nodes/ turns these into actions.
#pragma once

#include <cstdint>
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

struct make_datasets_options {
  std::string out;            ///< output folder (required)
  std::uint64_t seed = 1;     ///< seed of every random choice; default 1
  int images = 2000;          ///< scene images (locate, segment); default 2,000
  int anomaly_images = 2000;  ///< good training images per anomaly set; default 2,000
  std::string fashion_mnist = "/usr/share/datasets/fashion-mnist";  ///< source folder
};

struct augment_preview_options {
  std::string campaign;  ///< campaign file (required)
  std::string job;       ///< job whose augmentation settings are shown (required)
  std::string out;       ///< PNG file to write (required)
  int samples = 4;       ///< random draws per image, besides the two limits; default 4
  int images = 4;        ///< dataset images shown (rows); default 4
  std::uint64_t seed = 1;  ///< seed of the draws and of the images picked; default 1
};

/// The parsed command line. `command` is empty when only --help/--version was asked.
struct command_line {
  std::string command;    ///< run | evaluate | predict | queue | make-datasets | augment-preview
  bool help = false;      ///< print `help_text` and exit 0
  std::string help_text;
  run_options run;
  evaluate_options evaluate;
  predict_options predict;
  queue_options queue;
  make_datasets_options make_datasets;
  augment_preview_options augment_preview;
};

/// invalid_config with a message naming the bad option and showing the usage.
expected<command_line> parse_command_line(int argc, const char* const* argv);

}  // namespace trainyard
