// The trainyard program's command line: one struct per subcommand, parsed with
// Boost.Program_options (included only in config/*.cpp). nodes/ turns these into actions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/error.hpp"

namespace trainyard {

struct run_options {
  std::string campaign;      ///< campaign file (required)
  std::string workspace;     ///< overrides the campaign's workspace; default: the campaign's
  bool json = false;         ///< print the final results as JSON on stdout
  bool plain = false;        ///< progress as one line per event even on a terminal
  std::string devices = "cpu";  ///< the one device the jobs train on: cpu or cuda:N; default cpu
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
  std::vector<std::string> images;  ///< at least one: files, folders or glob patterns
  bool json = false;
  bool csv = false;                 ///< one CSV row per image, header first
  /// torch: LibTorch with the tool's weights; onnx: trainyard_runtime (OpenCV DNN) on an export
  /// of the tool: `export_folder`, else the tool folder's export/, (re)exported when missing
  /// or older than the weights.
  std::string runtime = "torch";
  std::string export_folder;
};

struct check_options {
  std::string campaign;  ///< campaign file (required)
  bool json = false;
};

struct compare_options {
  std::string workspace = "yard";  ///< default ./yard
  /// Jobs by id or name; NAME@ stands for every variant a sweep made of job NAME. At least one.
  std::vector<std::string> jobs;
  bool json = false;
  std::string png;                 ///< when set, the jobs' validation curves on one chart
};

struct export_options {
  std::string workspace = "yard";
  std::string tool;             ///< required
  std::string out;              ///< the export folder (required)
  std::string format = "onnx";  ///< onnx, the only format
  std::string batch = "dynamic";  ///< the networks' batch dimension: a number, or dynamic
  bool json = false;
};

/// How a command reaches a running scheduler (every cluster command has these).
struct cluster_options {
  std::string scheduler;     ///< HOST:PORT; default $TRAINYARD_SCHEDULER, else 127.0.0.1:7207
  std::string secret_file;   ///< file holding the cluster secret; default $TRAINYARD_SECRET
  std::string tls_certificate, tls_key, tls_ca;  ///< PEM files; TLS needs all three; default off
};

struct scheduler_command_options {
  cluster_options cluster;              ///< secret and TLS (the scheduler field is unused)
  std::string listen = "127.0.0.1:7207";  ///< where to listen; default loopback port 7207
  std::string workspace = "yard";       ///< default ./yard
  int max_connections = 256;            ///< peers' connections open at once (actors/door.hpp)
  int max_per_address = 32;             ///< of those, from one address
};

struct node_options {
  cluster_options cluster;
  std::string devices = "cpu";        ///< cpu | all | cuda:0,cuda:1; default cpu
  std::string name;                   ///< node name shown in monitors; default HOST:PID
  std::string address = "127.0.0.1";  ///< where this node's collectives (Gloo) listen
  int threads = 0;                    ///< threads of jobs that leave them at 0; 0 = all cores
  std::string cache;                  ///< where fetched datasets and tools go; ~/.cache/trainyard
  bool fetch_files = false;           ///< fetch files even when the workspace looks shared
};

struct submit_options {
  cluster_options cluster;
  std::string campaign;  ///< campaign file (required)
  bool json = false;
};

struct wait_options {
  cluster_options cluster;
  std::string job;         ///< job id or name (required)
  bool iteration = false;  ///< wait for the next iteration instead of the end
  double timeout_s = 0;    ///< seconds; 0 = no limit
  bool json = false;
};

struct queue_options {
  std::string workspace = "yard";  ///< offline: read this workspace's database
  bool online = false;             ///< --scheduler given (or TRAINYARD_SCHEDULER set)
  cluster_options cluster;
  std::string action = "list";     ///< list | move | top | cancel | stop
  std::string job;                 ///< id or name for move/top/cancel/stop
  int position = 0;                ///< move: 1-based target position
  std::string reason;              ///< stop: why
  bool json = false;
};

struct make_datasets_options {
  std::string out;            ///< output folder (required)
  std::uint64_t seed = 1;     ///< seed of every random choice; default 1
  int images = 20000;         ///< scene images (locate, segment); default 20,000
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
  /// run | check | evaluate | predict | compare | export | queue | scheduler | node | submit |
  /// wait | make-datasets | augment-preview (monitor parses its own options)
  std::string command;
  bool help = false;      ///< print `help_text` and exit 0
  std::string help_text;
  run_options run;
  evaluate_options evaluate;
  predict_options predict;
  compare_options compare;
  export_options export_tool;
  check_options check;
  queue_options queue;
  scheduler_command_options scheduler;
  node_options node;
  submit_options submit;
  wait_options wait;
  make_datasets_options make_datasets;
  augment_preview_options augment_preview;
};

/// invalid_config with a message naming the bad option and showing the usage.
expected<command_line> parse_command_line(int argc, const char* const* argv);

/// `trainyard monitor`: a live full-screen view of a scheduler.
struct monitor_options {
  cluster_options cluster;  ///< scheduler address, secret, TLS
  bool ascii = false;       ///< draw with ASCII only (default: block characters on UTF-8 terminals)
  bool help = false;        ///< print `help_text` and exit 0
  std::string help_text;
};

/// Parses `trainyard monitor ...` (argv[1] is "monitor"); invalid_config names the bad option.
expected<monitor_options> parse_monitor_options(int argc, const char* const* argv);

}  // namespace trainyard
