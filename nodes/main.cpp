// Entry point of the trainyard program: parses the command line and runs the subcommand.
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <string>

#include "config/command_line.hpp"
#include "nodes/commands.hpp"

namespace {

// `trainyard scheduler` runs trainyard-control from the same folder when it is there: the same
// scheduler without LibTorch and OpenCV mapped into its memory. Returns only when it is not.
void run_control_program(char** argv) {
  char self[4096];
  auto n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0)
    return;
  self[n] = '\0';
  auto control = (std::filesystem::path(self).parent_path() / "trainyard-control").string();
  if (access(control.c_str(), X_OK) != 0)
    return;
  argv[0] = const_cast<char*>(control.c_str());
  execv(control.c_str(), argv);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace trainyard;
  if (argc > 1 && std::string(argv[1]) == "scheduler")
    run_control_program(argv);
  if (argc > 1 && std::string(argv[1]) == "monitor")
    return monitor_main(argc, argv);
  auto cl = parse_command_line(argc, argv);
  if (!cl) {
    std::cerr << cl.error().message << std::endl;
    return bad_input_exit_code;
  }
  if (cl->help) {
    std::cout << cl->help_text;
    return 0;
  }
  if (cl->command == "run")
    return run_command(cl->run);
  if (cl->command == "check")
    return check_command(cl->check);
  if (cl->command == "evaluate")
    return evaluate_command(cl->evaluate);
  if (cl->command == "predict")
    return predict_command(cl->predict);
  if (cl->command == "compare")
    return compare_command(cl->compare);
  if (cl->command == "export")
    return export_command(cl->export_tool);
  if (cl->command == "queue")
    return cl->queue.online ? online_queue_command(cl->queue) : queue_command(cl->queue);
  if (cl->command == "scheduler")
    return scheduler_command(cl->scheduler);
  if (cl->command == "node")
    return node_command(cl->node);
  if (cl->command == "submit")
    return submit_command(cl->submit);
  if (cl->command == "wait")
    return wait_command(cl->wait);
  if (cl->command == "make-datasets")
    return make_datasets_command(cl->make_datasets);
  if (cl->command == "augment-preview")
    return augment_preview_command(cl->augment_preview);
  std::cerr << "trainyard: unknown command " << cl->command << std::endl;
  return bad_input_exit_code;
}
