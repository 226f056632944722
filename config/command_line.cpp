#include "config/command_line.hpp"

#include <algorithm>
#include <sstream>

#include <boost/program_options.hpp>

namespace po = boost::program_options;

namespace trainyard {

namespace {

const char* overview =
  "trainyard: queued, reorderable training of machine-vision tools\n"
  "\n"
  "usage: trainyard COMMAND [options]   (trainyard COMMAND --help for its options)\n"
  "\n"
  "commands:\n"
  "  run CAMPAIGN.ini        run a campaign in this process, with live progress\n"
  "  evaluate TOOL           accuracy, per-class accuracy and confusion matrix of a tool\n"
  "  predict TOOL IMAGE...   label and score of images\n"
  "  queue                   the jobs of a workspace: state, queue order, run order, results\n"
  "  monitor --scheduler H:P live full-screen view of a scheduler: queue, jobs, workers\n";

std::string usage(const std::string& synopsis, const po::options_description& desc) {
  std::ostringstream out;
  out << "usage: trainyard " << synopsis << "\n\n" << desc;
  return out.str();
}

failure bad(const std::string& what, const std::string& usage_text) {
  return make_failure(error_code::invalid_config, what + "\n\n" + usage_text);
}

}  // namespace

expected<command_line> parse_command_line(int argc, const char* const* argv) {
  command_line cl;
  if (argc < 2) {
    cl.help = true;
    cl.help_text = overview;
    return cl;
  }
  std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    cl.help = true;
    cl.help_text = overview;
    return cl;
  }
  if (command == "--version") {
    cl.help = true;
    cl.help_text = "trainyard 0.1.0\n";
    return cl;
  }
  po::options_description desc("options");
  po::positional_options_description positional;
  std::string synopsis;
  bool help = false;
  desc.add_options()("help,h", po::bool_switch(&help), "show this help");
  if (command == "run") {
    synopsis = "run CAMPAIGN.ini [options]";
    desc.add_options()
      ("campaign", po::value(&cl.run.campaign), "campaign file")
      ("workspace,w", po::value(&cl.run.workspace),
       "workspace folder (default: the campaign's [campaign] workspace, else ./yard)")
      ("json", po::bool_switch(&cl.run.json), "print the results as JSON")
      ("plain", po::bool_switch(&cl.run.plain), "one progress line per event, no redrawing");
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
    synopsis = "predict TOOL IMAGE... [options]";
    desc.add_options()
      ("tool", po::value(&cl.predict.tool), "tool name")
      ("image", po::value(&cl.predict.images), "image files")
      ("workspace,w", po::value(&cl.predict.workspace)->default_value("yard"), "workspace folder")
      ("json", po::bool_switch(&cl.predict.json), "print JSON");
    positional.add("tool", 1).add("image", -1);
  } else if (command == "queue") {
    synopsis = "queue [options]";
    desc.add_options()
      ("workspace,w", po::value(&cl.queue.workspace)->default_value("yard"), "workspace folder")
      ("json", po::bool_switch(&cl.queue.json), "print JSON");
  } else {
    return make_failure(error_code::invalid_config,
                        "unknown command '" + command + "'\n\n" + overview);
  }
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
    cl.help_text = text;
    return cl;
  }
  if (command == "run" && cl.run.campaign.empty())
    return bad("trainyard run: name a campaign file, e.g. config/examples/quickstart.ini", text);
  if (command == "evaluate") {
    if (cl.evaluate.tool.empty())
      return bad("trainyard evaluate: name a tool", text);
    if (cl.evaluate.set != "test" && cl.evaluate.set != "validation" && cl.evaluate.set != "train")
      return bad("trainyard evaluate: --split must be test, validation or train, not '" +
                   cl.evaluate.set + "'",
                 text);
  }
  if (command == "predict" && (cl.predict.tool.empty() || cl.predict.images.empty()))
    return bad("trainyard predict: name a tool and at least one image", text);
  return cl;
}

expected<monitor_options> parse_monitor_options(int argc, const char* const* argv) {
  monitor_options options;
  po::options_description desc("options");
  desc.add_options()
    ("help,h", po::bool_switch(&options.help), "show this help")
    ("scheduler", po::value(&options.scheduler), "HOST:PORT of the scheduler to watch")
    ("secret-file", po::value(&options.secret_file),
     "file holding the cluster secret (default: the environment variable TRAINYARD_SECRET)")
    ("ascii", po::bool_switch(&options.ascii), "draw with ASCII characters only");
  auto text = usage("monitor --scheduler HOST:PORT [options]", desc) +
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
  if (options.scheduler.empty())
    return bad("trainyard monitor: name the scheduler with --scheduler HOST:PORT, e.g. "
               "--scheduler 127.0.0.1:7000",
               text);
  return options;
}

}  // namespace trainyard
