// `trainyard scheduler` (nodes/control/scheduler_command.cpp), shared by the trainyard program and
// the torch-free trainyard-control program.
#pragma once

#include "config/command_line.hpp"

namespace trainyard {

int scheduler_command(const scheduler_command_options& options);

}  // namespace trainyard
