#include "config/command_line.hpp"

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
  "  make-datasets --out DIR synthetic locate / segment / anomaly datasets from Fashion-MNIST\n"
  "  augment-preview CAMPAIGN.ini --job NAME --out grid.png\n"
  "                          a grid of dataset images under a job's augmentation\n";

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
  } else if (command == "make-datasets") {
    synopsis = "make-datasets --out DIR [--seed N] [--images N] [options]";
    auto& m = cl.make_datasets;
    desc.add_options()
      ("out,o", po::value(&m.out), "folder to write the datasets into (scenes/, anomaly-0/ ... "
       "anomaly-9/ are replaced)")
      ("seed", po::value(&m.seed)->default_value(1), "seed of every random choice")
      ("images", po::value(&m.images)->default_value(2000), "scene images (locate, segment)")
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
  if (command == "make-datasets") {
    if (cl.make_datasets.out.empty())
      return bad("trainyard make-datasets: --out DIR is required", text);
    if (cl.make_datasets.images < 0 || cl.make_datasets.anomaly_images < 0)
      return bad("trainyard make-datasets: --images and --anomaly-images must be >= 0", text);
  }
  if (command == "augment-preview") {
    const auto& a = cl.augment_preview;
    if (a.campaign.empty() || a.job.empty() || a.out.empty())
      return bad("trainyard augment-preview: name a campaign file, --job and --out", text);
    if (a.samples < 0 || a.samples > 32 || a.images < 1 || a.images > 32)
      return bad("trainyard augment-preview: --samples must be 0-32 and --images 1-32", text);
  }
  if (command == "predict" && (cl.predict.tool.empty() || cl.predict.images.empty()))
    return bad("trainyard predict: name a tool and at least one image", text);
  return cl;
}

}  // namespace trainyard
