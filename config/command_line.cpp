#include "config/command_line.hpp"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include <boost/program_options.hpp>

#include "config/campaign_keys.hpp"
#include "runtime/core/version.hpp"

namespace po = boost::program_options;

namespace trainyard {

namespace {

const char* overview =
  "trainyard: queued, reorderable training of machine-vision tools\n"
  "\n"
  "usage: trainyard COMMAND [options]   (trainyard COMMAND --help for its options;\n"
  "                                      trainyard help keys: every campaign key)\n"
  "\n"
  "commands:\n"
  "  run CAMPAIGN.ini        run a campaign in this process, with live progress\n"
  "  check CAMPAIGN.ini      decode every image of the campaign's datasets; list what fails\n"
  "  evaluate TOOL           a tool's metrics: per class precision, recall, F1, confusion\n"
  "  predict TOOL IMAGE...   label and score of images (files, folders, globs)\n"
  "  compare JOB...          the jobs' differing settings and metrics side by side\n"
  "  export TOOL --out DIR   the tool as ONNX networks and tool.json, for trainyard_runtime\n"
  "  queue [ACTION]          the jobs: list, move, top, cancel, stop (offline, or --scheduler)\n"
  "\n"
  "cluster commands (members share a secret: TRAINYARD_SECRET or --secret-file):\n"
  "  scheduler               run a scheduler that nodes, clients and monitors connect to\n"
  "  node                    join a scheduler with one worker per device\n"
  "  submit CAMPAIGN.ini     queue a campaign's jobs on a running scheduler\n"
  "  wait JOB                wait for a job's end (or next iteration) on a running scheduler\n"
  "  monitor                 live full-screen view of a scheduler: queue, jobs, workers\n"
  "\n"
  "data:\n"
  "  make-datasets --out DIR synthetic locate / segment / anomaly datasets from Fashion-MNIST\n"
  "  augment-preview CAMPAIGN.ini --job NAME --out grid.png\n"
  "                          a grid of dataset images under a job's augmentation\n";

std::string usage(const std::string& synopsis, const po::options_description& desc) {
  std::ostringstream out;
  out << "usage: trainyard " << synopsis << "\n\n" << desc;
  return out.str();
}

void add_cluster_options(po::options_description& desc, cluster_options& c,
                         bool with_scheduler = true) {
  if (with_scheduler)
    desc.add_options()("scheduler", po::value(&c.scheduler),
                       "scheduler address HOST:PORT (default $TRAINYARD_SCHEDULER, else "
                       "127.0.0.1:7207)");
  desc.add_options()
    ("secret-file", po::value(&c.secret_file),
     "file holding the cluster secret (default: the environment variable TRAINYARD_SECRET)")
    ("tls-cert", po::value(&c.tls_certificate), "TLS: this member's certificate (PEM)")
    ("tls-key", po::value(&c.tls_key), "TLS: this member's private key (PEM)")
    ("tls-ca", po::value(&c.tls_ca), "TLS: the CA that signed every member's certificate");
}

void default_scheduler(cluster_options& c) {
  if (!c.scheduler.empty())
    return;
  const char* env = std::getenv("TRAINYARD_SCHEDULER");
  c.scheduler = env && *env ? env : "127.0.0.1:7207";
}

failure bad(const std::string& what, const std::string& usage_text) {
  return make_failure(error_code::invalid_config, what + "\n\n" + usage_text);
}

// --- one pair of functions per family of subcommands: `declare_*` adds a command's options and
// synopsis (false: not a command of this family), `check_*` says what is wrong after parsing
// ("" when nothing is).

using positional_options = po::positional_options_description;

bool declare_local(const std::string& command, command_line& cl, po::options_description& desc,
                   positional_options& positional, std::string& synopsis) {
  if (command == "run") {
    synopsis = "run CAMPAIGN.ini [options]";
    desc.add_options()
      ("campaign", po::value(&cl.run.campaign), "campaign file")
      ("workspace,w", po::value(&cl.run.workspace),
       "workspace folder (default: the campaign's [campaign] workspace, else ./yard)")
      ("json", po::bool_switch(&cl.run.json), "print the results as JSON")
      ("plain", po::bool_switch(&cl.run.plain), "one progress line per event, no redrawing")
      ("devices", po::value(&cl.run.devices)->default_value("cpu"),
       "the one device to train on: cpu, or cuda:N with a CUDA build");
    positional.add("campaign", 1);
  } else if (command == "check") {
    synopsis = "check CAMPAIGN.ini [--json]";
    desc.add_options()
      ("campaign", po::value(&cl.check.campaign), "campaign file")
      ("json", po::bool_switch(&cl.check.json), "print JSON");
    positional.add("campaign", 1);
  } else if (command == "evaluate") {
    synopsis = "evaluate TOOL [--split test|validation|train] [options]";
    desc.add_options()
      ("tool", po::value(&cl.evaluate.tool), "tool name")
      ("split,s", po::value(&cl.evaluate.set)->default_value("test"),
       "which set of the tool's split: test, validation or train")
      ("workspace,w", po::value(&cl.evaluate.workspace)->default_value("yard"), "workspace folder")
      ("json", po::bool_switch(&cl.evaluate.json), "print JSON");
    positional.add("tool", 1);
  } else if (command == "predict") {
    synopsis = "predict TOOL IMAGE_FOLDER_OR_GLOB... [options]";
    desc.add_options()
      ("tool", po::value(&cl.predict.tool), "tool name")
      ("image", po::value(&cl.predict.images), "image files")
      ("workspace,w", po::value(&cl.predict.workspace)->default_value("yard"), "workspace folder")
      ("json", po::bool_switch(&cl.predict.json), "print JSON")
      ("csv", po::bool_switch(&cl.predict.csv),
       "print CSV: image,label,label_name,score,boxes,files,error (a row for every image)")
      ("runtime", po::value(&cl.predict.runtime)->default_value("torch"),
       "torch (the tool's weights through LibTorch) or onnx (an export of the tool through "
       "trainyard_runtime and OpenCV DNN; no images are drawn)")
      ("export", po::value(&cl.predict.export_folder),
       "onnx: the export folder to run (default: the tool folder's export/, exported again "
       "when missing or older than the weights)");
    positional.add("tool", 1).add("image", -1);
  } else if (command == "compare") {
    synopsis = "compare JOB... [--json] [--png FILE] [options]\n\n"
               "JOB is a job's id or name; NAME@ names every variant a sweep made of job NAME.";
    desc.add_options()
      ("job", po::value(&cl.compare.jobs), "jobs to compare")
      ("workspace,w", po::value(&cl.compare.workspace)->default_value("yard"), "workspace folder")
      ("json", po::bool_switch(&cl.compare.json), "print JSON")
      ("png", po::value(&cl.compare.png),
       "also draw the jobs' curves of the monitored validation metric in this PNG file");
    positional.add("job", -1);
  } else if (command == "export") {
    synopsis = "export TOOL --out DIR [--format onnx] [--batch N|dynamic] [options]";
    desc.add_options()
      ("tool", po::value(&cl.export_tool.tool), "tool name")
      ("out,o", po::value(&cl.export_tool.out), "the export folder to write")
      ("format", po::value(&cl.export_tool.format)->default_value("onnx"), "onnx")
      ("batch", po::value(&cl.export_tool.batch)->default_value("dynamic"),
       "the networks' batch dimension: a number of images, or dynamic")
      ("workspace,w", po::value(&cl.export_tool.workspace)->default_value("yard"),
       "workspace folder")
      ("json", po::bool_switch(&cl.export_tool.json), "print JSON");
    positional.add("tool", 1);
  } else {
    return false;
  }
  return true;
}

std::string check_local(const std::string& command, command_line& cl) {
  if (command == "run" && cl.run.campaign.empty())
    return "trainyard run: name a campaign file, e.g. config/examples/quickstart.ini";
  if (command == "check" && cl.check.campaign.empty())
    return "trainyard check: name a campaign file, e.g. config/examples/quickstart.ini";
  if (command == "evaluate") {
    if (cl.evaluate.tool.empty())
      return "trainyard evaluate: name a tool";
    if (cl.evaluate.set != "test" && cl.evaluate.set != "validation" && cl.evaluate.set != "train")
      return "trainyard evaluate: --split must be test, validation or train, not '" +
             cl.evaluate.set + "'";
  }
  if (command == "compare" && cl.compare.jobs.empty())
    return "trainyard compare: name the jobs to compare (ids or names), e.g. trainyard compare "
           "first second";
  if (command == "predict" && (cl.predict.tool.empty() || cl.predict.images.empty()))
    return "trainyard predict: name a tool and at least one image";
  if (command == "predict" && cl.predict.json && cl.predict.csv)
    return "trainyard predict: choose --json or --csv, not both";
  if (command == "predict" && cl.predict.runtime != "torch" && cl.predict.runtime != "onnx")
    return "trainyard predict: --runtime must be torch or onnx, not '" + cl.predict.runtime + "'";
  if (command == "predict" && !cl.predict.export_folder.empty() && cl.predict.runtime != "onnx")
    return "trainyard predict: --export names an export folder for --runtime onnx; add "
           "--runtime onnx";
  if (command == "export") {
    const export_options& e = cl.export_tool;
    if (e.tool.empty() || e.out.empty())
      return "trainyard export: name a tool and the folder to write, e.g. trainyard export "
             "shirts --out exports/shirts";
    if (e.format != "onnx")
      return "trainyard export: --format must be onnx, not '" + e.format + "'";
    if (e.batch != "dynamic" &&
        (e.batch.empty() || e.batch.find_first_not_of("0123456789") != std::string::npos ||
         e.batch.size() > 5 || std::stoi(e.batch) < 1 || std::stoi(e.batch) > 65536))
      return "trainyard export: --batch must be dynamic or a number of images from 1 to 65536, "
             "not '" + e.batch + "'";
  }
  return "";
}

bool declare_queue(const std::string& command, command_line& cl, po::options_description& desc,
                   positional_options& positional, std::string& synopsis) {
  if (command != "queue")
    return false;
  synopsis = "queue [list | move JOB POSITION | top JOB | cancel JOB | stop JOB] [options]";
  desc.add_options()
    ("action", po::value(&cl.queue.action)->default_value("list"), "list, move, top, cancel, stop")
    ("job", po::value(&cl.queue.job), "job id or name")
    ("position", po::value(&cl.queue.position), "move: 1-based queue position")
    ("workspace,w", po::value(&cl.queue.workspace)->default_value("yard"),
     "offline: the workspace folder to read (list only)")
    ("reason", po::value(&cl.queue.reason), "stop: why (shown to everyone)")
    ("json", po::bool_switch(&cl.queue.json), "print JSON");
  add_cluster_options(desc, cl.queue.cluster);
  positional.add("action", 1).add("job", 1).add("position", 1);
  return true;
}

std::string check_queue(const std::string& command, command_line& cl) {
  if (command != "queue")
    return "";
  auto& q = cl.queue;
  q.online = !q.cluster.scheduler.empty() || std::getenv("TRAINYARD_SCHEDULER");
  default_scheduler(q.cluster);
  static const std::vector<std::string> actions = {"list", "move", "top", "cancel", "stop"};
  if (std::find(actions.begin(), actions.end(), q.action) == actions.end())
    return "trainyard queue: unknown action '" + q.action +
           "'; use list, move, top, cancel or stop";
  if (q.action != "list" && q.job.empty())
    return "trainyard queue " + q.action + ": name the job (id or name)";
  if (q.action == "move" && q.position < 1)
    return "trainyard queue move: give the 1-based position to move the job to";
  if (q.action != "list" && !q.online)
    return "trainyard queue " + q.action + ": needs a running scheduler; pass "
           "--scheduler HOST:PORT (or set TRAINYARD_SCHEDULER)";
  return "";
}

bool declare_cluster(const std::string& command, command_line& cl, po::options_description& desc,
                     positional_options& positional, std::string& synopsis) {
  if (command == "scheduler") {
    synopsis = "scheduler [--listen HOST:PORT] [--workspace DIR] [options]";
    desc.add_options()
      ("listen", po::value(&cl.scheduler.listen)->default_value("127.0.0.1:7207"),
       "address to listen on (0.0.0.0 for every interface)")
      ("workspace,w", po::value(&cl.scheduler.workspace)->default_value("yard"),
       "workspace folder (state database and tools)")
      ("max-connections", po::value(&cl.scheduler.max_connections)->default_value(256),
       "connections of members and clients open at once; more are closed when accepted")
      ("max-per-address", po::value(&cl.scheduler.max_per_address)->default_value(32),
       "of those, how many from one address (raise it when many nodes share one address)");
    add_cluster_options(desc, cl.scheduler.cluster, false);
  } else if (command == "node") {
    synopsis = "node --scheduler HOST:PORT [--devices cpu|all|cuda:0,...] [options]";
    desc.add_options()
      ("devices", po::value(&cl.node.devices)->default_value("cpu"),
       "devices to train on: cpu, all, or a list such as cuda:0,cuda:1")
      ("name", po::value(&cl.node.name), "node name shown to monitors (default HOST:PID)")
      ("address", po::value(&cl.node.address)->default_value("127.0.0.1"),
       "this machine's address for multi-device collectives (Gloo)")
      ("threads", po::value(&cl.node.threads)->default_value(0),
       "CPU threads for jobs that leave threads = 0 (0 = all cores)")
      ("cache", po::value(&cl.node.cache),
       "where datasets and tools fetched from the scheduler are kept (default "
       "~/.cache/trainyard); used when this machine does not share the scheduler's workspace")
      ("fetch-files", po::bool_switch(&cl.node.fetch_files),
       "fetch datasets and tools over the connection even when the workspace path is visible");
    add_cluster_options(desc, cl.node.cluster);
  } else if (command == "submit") {
    synopsis = "submit CAMPAIGN.ini [--scheduler HOST:PORT] [options]";
    desc.add_options()
      ("campaign", po::value(&cl.submit.campaign), "campaign file")
      ("json", po::bool_switch(&cl.submit.json), "print the job ids as JSON");
    add_cluster_options(desc, cl.submit.cluster);
    positional.add("campaign", 1);
  } else if (command == "wait") {
    synopsis = "wait JOB [--iteration] [--timeout SECONDS] [options]\n\n"
               "exit status: 0 completed (or, with --iteration, an iteration arrived), 1 failed,\n"
               "3 stopped, 4 cancelled, 5 timed out, 6 scheduler unreachable, 2 bad input";
    desc.add_options()
      ("job", po::value(&cl.wait.job), "job id or name")
      ("iteration", po::bool_switch(&cl.wait.iteration), "wait for the job's next iteration")
      ("timeout", po::value(&cl.wait.timeout_s)->default_value(0), "seconds (0 = no limit)")
      ("json", po::bool_switch(&cl.wait.json), "print JSON");
    add_cluster_options(desc, cl.wait.cluster);
    positional.add("job", 1);
  } else {
    return false;
  }
  return true;
}

std::string check_cluster(const std::string& command, command_line& cl) {
  if (command == "node")
    default_scheduler(cl.node.cluster);
  if (command == "submit") {
    default_scheduler(cl.submit.cluster);
    if (cl.submit.campaign.empty())
      return "trainyard submit: name a campaign file";
  }
  if (command == "wait") {
    default_scheduler(cl.wait.cluster);
    if (cl.wait.job.empty())
      return "trainyard wait: name the job (id or name)";
    if (cl.wait.timeout_s < 0)
      return "trainyard wait: --timeout must be >= 0 seconds";
  }
  return "";
}

bool declare_data(const std::string& command, command_line& cl, po::options_description& desc,
                  positional_options& positional, std::string& synopsis) {
  if (command == "make-datasets") {
    synopsis = "make-datasets --out DIR [--seed N] [--images N] [options]";
    auto& m = cl.make_datasets;
    desc.add_options()
      ("out,o", po::value(&m.out), "folder to write the datasets into (scenes/, anomaly-0/ ... "
       "anomaly-9/ are replaced)")
      ("seed", po::value(&m.seed)->default_value(1), "seed of every random choice")
      ("images", po::value(&m.images)->default_value(20000), "scene images (locate, segment)")
      ("anomaly-images", po::value(&m.anomaly_images)->default_value(2000),
       "good training images of each anomaly set (plus its class's 1,000 test images)")
      ("fashion-mnist", po::value(&m.fashion_mnist)->default_value(m.fashion_mnist),
       "folder of the Fashion-MNIST .gz files");
  } else if (command == "augment-preview") {
    synopsis = "augment-preview CAMPAIGN.ini --job NAME --out grid.png [--samples N]";
    auto& a = cl.augment_preview;
    desc.add_options()
      ("campaign", po::value(&a.campaign), "campaign file")
      ("job,j", po::value(&a.job), "job whose augmentation settings are previewed")
      ("out,o", po::value(&a.out), "PNG file to write")
      ("samples,n", po::value(&a.samples)->default_value(4),
       "random draws per image, shown after the lower and the upper limit")
      ("images", po::value(&a.images)->default_value(4), "dataset images shown, one per row")
      ("seed", po::value(&a.seed)->default_value(1), "seed of the images picked and the draws");
    positional.add("campaign", 1);
  } else {
    return false;
  }
  return true;
}

std::string check_data(const std::string& command, command_line& cl) {
  if (command == "make-datasets") {
    if (cl.make_datasets.out.empty())
      return "trainyard make-datasets: --out DIR is required";
    if (cl.make_datasets.images < 0 || cl.make_datasets.anomaly_images < 0)
      return "trainyard make-datasets: --images and --anomaly-images must be >= 0";
  }
  if (command == "augment-preview") {
    const auto& a = cl.augment_preview;
    if (a.campaign.empty() || a.job.empty() || a.out.empty())
      return "trainyard augment-preview: name a campaign file, --job and --out";
    if (a.samples < 0 || a.samples > 32 || a.images < 1 || a.images > 32)
      return "trainyard augment-preview: --samples must be 0-32 and --images 1-32";
  }
  return "";
}

}  // namespace

expected<command_line> parse_command_line(int argc, const char* const* argv) {
  command_line cl;
  std::string command = argc < 2 ? "help" : argv[1];
  if (command == "help" && argc >= 3 && std::string(argv[2]) == "keys") {
    // `trainyard help keys [--markdown]`: every campaign key with its default.
    cl.help = true;
    cl.help_text = argc >= 4 && std::string(argv[3]) == "--markdown" ? campaign_keys_markdown()
                                                                       : campaign_keys_help();
    return cl;
  }
  if (command == "--help" || command == "-h" || command == "help" || command == "--version") {
    cl.help = true;
    cl.help_text =
      command == "--version" ? std::string("trainyard ") + trainyard_version + "\n" : overview;
    return cl;
  }
  po::options_description desc("options");
  positional_options positional;
  std::string synopsis;
  bool help = false;
  desc.add_options()("help,h", po::bool_switch(&help), "show this help");
  if (!declare_local(command, cl, desc, positional, synopsis) &&
      !declare_queue(command, cl, desc, positional, synopsis) &&
      !declare_cluster(command, cl, desc, positional, synopsis) &&
      !declare_data(command, cl, desc, positional, synopsis))
    return make_failure(error_code::invalid_config,
                        "unknown command '" + command + "'\n\n" + overview);
  auto text = usage(synopsis, desc);
  try {
    po::variables_map vm;
    po::store(po::command_line_parser(argc - 1, argv + 1)
                .options(desc)
                .positional(positional)
                .run(),
              vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return bad(std::string("trainyard ") + command + ": " + e.what(), text);
  }
  cl.command = command;
  if (help) {
    cl.help = true;
    // The commands that read a campaign file list its keys.
    cl.help_text = command == "run" || command == "submit" ? text + "\n" + campaign_keys_help()
                                                           : text;
    return cl;
  }
  for (auto check : {check_local, check_queue, check_cluster, check_data})
    if (auto problem = check(command, cl); !problem.empty())
      return bad(problem, text);
  return cl;
}

expected<monitor_options> parse_monitor_options(int argc, const char* const* argv) {
  monitor_options options;
  po::options_description desc("options");
  desc.add_options()
    ("help,h", po::bool_switch(&options.help), "show this help")
    ("ascii", po::bool_switch(&options.ascii), "draw with ASCII characters only");
  add_cluster_options(desc, options.cluster);
  auto text = usage("monitor [--scheduler HOST:PORT] [options]", desc) +
              "\nkeys: arrows or j/k select a job, u/+ and d/- move it up or down the queue,\n"
              "t moves it to the top, c cancels a queued job, s stops a running one, q quits.\n";
  try {
    po::variables_map vm;
    po::store(po::command_line_parser(std::max(argc - 1, 0), argv + 1).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return bad(std::string("trainyard monitor: ") + e.what(), text);
  }
  if (options.help) {
    options.help_text = text;
    return options;
  }
  default_scheduler(options.cluster);
  return options;
}

}  // namespace trainyard
