// The trainyard program's subcommands. Each returns the process exit code:
// 0 success, 1 a job failed or a request was refused, 2 bad input, 130 interrupted.
#pragma once

#include "config/command_line.hpp"

namespace trainyard {

int run_command(const run_options& options);
int evaluate_command(const evaluate_options& options);
int predict_command(const predict_options& options);
int queue_command(const queue_options& options);
int make_datasets_command(const make_datasets_options& options);
int augment_preview_command(const augment_preview_options& options);

/// Prints an evaluation (text or JSON) for one tool; shared by `run` and `evaluate`.
struct evaluation;
void print_evaluation(const std::string& tool, const std::string& set, const evaluation& e,
                      bool json);

}  // namespace trainyard
