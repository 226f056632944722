// trainyard-control: the control-plane commands without LibTorch or OpenCV linked in, so that a
// scheduler's memory is its own. `trainyard scheduler ...` runs this program when it sits next
// to trainyard (else the scheduler runs inside trainyard itself); it can also be run directly
// with the same arguments.
#include <iostream>

#include "config/command_line.hpp"
#include "nodes/control/scheduler_command.hpp"
#include "nodes/exit_codes.hpp"

int main(int argc, char** argv) {
  using namespace trainyard;
  auto cl = parse_command_line(argc, argv);
  if (!cl) {
    std::cerr << cl.error().message << std::endl;
    return bad_input_exit_code;
  }
  if (cl->help) {
    std::cout << cl->help_text;
    return 0;
  }
  if (cl->command == "scheduler")
    return scheduler_command(cl->scheduler);
  std::cerr << "trainyard-control runs the scheduler only; use trainyard " << cl->command
            << std::endl;
  return bad_input_exit_code;
}
