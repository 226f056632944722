// The trainyard program's subcommands. Each returns the process exit code (nodes/exit_codes.hpp).
#pragma once

#include <algorithm>
#include <string>

#include "config/command_line.hpp"
#include "nodes/exit_codes.hpp"
#include "nodes/control/scheduler_command.hpp"

namespace trainyard {

int run_command(const run_options& options);
int check_command(const check_options& options);
/// Decodes every image and mask of the datasets the campaign's jobs use (data_check.hpp),
/// with a progress count on stderr when it is a terminal; prints every file that cannot be used
/// (text naming `who`, or JSON) and returns 1 when there is one, else 0 (quiet unless `json` or
/// `report`).
struct campaign;
int check_campaign_files(const campaign& c, bool json, bool report, const std::string& who);
int evaluate_command(const evaluate_options& options);
int predict_command(const predict_options& options);
int compare_command(const compare_options& options);
int export_command(const export_options& options);
int queue_command(const queue_options& options);
int online_queue_command(const queue_options& options);
int node_command(const node_options& options);
int submit_command(const submit_options& options);
int wait_command(const wait_options& options);
/// `trainyard monitor ...`: parses its own options (argv[1] is "monitor") and runs full screen.
int monitor_main(int argc, const char* const* argv);
int make_datasets_command(const make_datasets_options& options);
int augment_preview_command(const augment_preview_options& options);

/// `predict --runtime onnx`: the predictions of trainyard_runtime on an export of the tool
/// (nodes/export_command.cpp), in predict's form (no images drawn).
struct prediction;
expected<std::vector<prediction>> predict_with_runtime(const predict_options& options,
                                                       const std::vector<std::string>& images);

/// The width of a table column: the longest `text(row)` of `rows`, at least `least` (the
/// column's usual width). The job tables of `queue` and `queue --scheduler` size their job and
/// tool columns so (sweep variants have long names).
template <class Rows, class Text>
int column_width(const Rows& rows, int least, Text text) {
  for (const auto& row : rows)
    least = std::max(least, static_cast<int>(text(row).size()));
  return least;
}

/// What a queued continue job took from its tool's previous job, as one line for `run` and
/// `submit`; "" when it took nothing.
struct job_info;
std::string inheritance_note(const job_info& job);

/// Prints an evaluation (text or JSON) for one tool; shared by `run` and `evaluate`.
struct evaluation;
void print_evaluation(const std::string& tool, const std::string& set, const evaluation& e,
                      bool json);

}  // namespace trainyard
